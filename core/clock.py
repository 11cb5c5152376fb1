"""The clock and the business-day calendar: the one place that knows weekends and holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    """Timezone-aware UTC now. Services call this once and pass the value on."""
    return timezone.now()


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def holidays(year: int, country: str | None = None) -> frozenset[date]:
    """Public holidays on which carriers and warehouses do not work, per country."""
    country = country or settings.BUSINESS_CALENDAR_COUNTRY
    easter = _easter(year)
    common = {date(year, 1, 1), date(year, 12, 25)}
    if country in {"DE", "AT", "CH"}:
        common |= {
            easter - timedelta(days=2),
            easter + timedelta(days=1),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            date(year, 5, 1),
            date(year, 12, 26),
        }
        if country == "DE":
            common.add(date(year, 10, 3))
    elif country == "GB":
        common |= {easter - timedelta(days=2), easter + timedelta(days=1), date(year, 12, 26)}
    elif country == "US":
        common |= {date(year, 7, 4), date(year, 11, 11)}
    return frozenset(common)


def is_business_day(day: date, country: str | None = None) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year, country)


def add_business_days(start: date, days: int, country: str | None = None) -> date:
    """The date ``days`` business days after ``start``; 0 gives the first business day from it."""
    current = start
    while not is_business_day(current, country):
        current += timedelta(days=1)
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_business_day(current, country):
            remaining -= 1
    return current


def business_days_between(start: date, end: date, country: str | None = None) -> int:
    """Business days in (start, end]; negative when end is before start."""
    if end < start:
        return -business_days_between(end, start, country)
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_business_day(current, country):
            count += 1
    return count
