"""Tunables of the dashboard shell, each with the reason for its value."""

# One month of orders: long enough to see a weekly rhythm, short enough to read day by day.
CHART_DAYS = 30
# A seller works through orders top down; 25 rows fit a laptop screen with the filters above them.
ORDERS_PAGE_SIZE = 25
# Offers are edited in place; 50 rows keep the page light while most sellers see all of theirs.
OFFERS_PAGE_SIZE = 50
