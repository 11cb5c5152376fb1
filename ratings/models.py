from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.models import Order, Seller


class OrderScore(models.Model):
    """The Order Quality Score of one order, with the trace of how it was reached."""

    order = models.OneToOneField(
        Order, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    placed_at = models.DateTimeField()
    # Null: the order is not scored (cancelled by the buyer or the platform).
    score = models.IntegerField(null=True)
    counted_problem = models.CharField(max_length=40, blank=True)
    is_perfect = models.BooleanField(default=False)
    is_mature = models.BooleanField(default=False)
    # The trace as two bit masks (a million orders' traces as JSON would cost more to write than to
    # score): the problems that fired, by FIRED_ORDER, and the bonus conditions met, by
    # BONUS_CONDITIONS. ``trace`` renders them.
    fired = models.PositiveSmallIntegerField(default=0)
    bonus = models.PositiveSmallIntegerField(default=0)
    # When the row last changed (its score, trace or a moment it is due): the recompute leaves
    # unchanged rows alone.
    computed_at = models.DateTimeField()
    # The order's weight in the rating up to a factor that every order of the window shares:
    # 2 ** (days from WEIGHT_EPOCH to placed_at / HALF_LIFE_DAYS). With exponential decay the ratio
    # of two orders' weights never changes, so the average is sum(score * weight) / sum(weight),
    # and reading it costs no power() per order.
    weight = models.FloatField(default=0)
    # Where the order counts, by COUNTED_IN (mature; each rate metric's numerator and
    # denominator), as of the moment it was scored. Time alone changes it only at recount_at, when
    # the refresh rescores the order, so the stored masks are where every order counts now, and
    # the rating and the metrics of every seller are a sum over them.
    counted_in = models.PositiveSmallIntegerField(default=0)
    # The next moment at which time alone changes the score or its maturity (the 30 days after
    # delivery end, a buyer message's 24 hours run out, the ship-by day passes unshipped): the
    # refresh rescoring the orders that are due keeps a rating current without any event.
    rescore_at = models.DateTimeField(null=True)
    # The next moment at which time alone moves the order into or out of the rating's window or a
    # rate metric's (it leaves the 365 days, the 60 or 30 days of a metric pass it, its ship-by day
    # passes): the same refresh keeps the counts current, and the nightly recompute finds nothing
    # left to change. Null for orders that are not scored.
    recount_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [
            # Covers the rating and the metrics, seller by seller and, within a seller, by where
            # the order counts: the pass over every seller reads this index alone, in parallel,
            # and sums each (seller, counted_in) group once before it counts the groups into the
            # metrics (in the benchmark four or five groups a seller, against ninety orders).
            # Score before weight leaves no padding: 32 bytes an entry.
            models.Index(
                fields=["seller", "counted_in"],
                include=["score", "weight"],
                condition=models.Q(score__isnull=False),
                name="ratings_score_seller_counts",
            ),
            # The unscored orders that left the window, for the nightly clean-up (a scored one is
            # due by recount_at when it leaves, and the refresh drops it). An index of every score
            # by placed_at would draw the planner away from the seller-sorted pass.
            models.Index(
                fields=["placed_at"],
                condition=models.Q(score__isnull=True),
                name="ratings_unscored_placed",
            ),
            models.Index(
                fields=["rescore_at"],
                condition=models.Q(rescore_at__isnull=False),
                name="ratings_score_rescore_due",
            ),
            models.Index(
                fields=["recount_at"],
                condition=models.Q(recount_at__isnull=False),
                name="ratings_score_recount_due",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.score}"

    @property
    def trace(self) -> dict[str, Any]:
        """Which problems fired, which one counted, the bonus and its conditions (reads the order
        for the dates it quotes: select_related("order") when listing)."""
        from ratings.scoring import fired_from_mask, met_from_mask, not_scored_trace, trace_of

        order = self.order
        if self.score is None:
            return not_scored_trace(order.cancelled_by)
        return trace_of(
            fired_from_mask(self.fired),
            met_from_mask(self.bonus),
            placed_at=self.placed_at,
            promised_latest=order.promised_delivery_latest,
        )


class SellerRating(models.Model):
    """A seller's current rating and rate metrics."""

    seller = models.OneToOneField(
        Seller, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    score = models.FloatField(null=True)
    band = models.CharField(max_length=12, blank=True)
    scored_orders = models.PositiveIntegerField(default=0)
    mature_orders = models.PositiveIntegerField(default=0)
    weighting_version = models.CharField(max_length=60)
    metrics = models.JSONField(default=dict)
    # The eight counts the metrics are made of, in the order of ratings.sql.SELLER_AGGREGATES: what
    # a recompute compares (reading them out of the JSON cost a tenth of the nightly recompute).
    metric_counts = ArrayField(models.BigIntegerField(), default=list)
    # When the rating, its counts or its metrics last changed (a recompute that finds them equal
    # leaves the row alone).
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.seller_id}: {self.score} {self.band}"


class RatingHistory(models.Model):
    """A seller's rating at the end of a day on which it moved, for charts: a day without a row
    has the rating of the last day before it that has one (ratings.selectors.seller_history fills
    every day). Ten thousand sellers make no ten thousand rows a day."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    score = models.FloatField(null=True)
    band = models.CharField(max_length=12, blank=True)

    class Meta:
        verbose_name_plural = _("rating history")
        constraints = [
            models.UniqueConstraint(fields=["seller", "day"], name="rating_history_daily")
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.day}: {self.score}"


class DirtyOrder(models.Model):
    """An order whose score must be recomputed: events coalesce here, one row per order."""

    order_id = models.BigIntegerField(primary_key=True)
    seller_id = models.BigIntegerField(db_index=True)
    marked_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.order_id)


class BusinessDay(models.Model):
    """The business-day calendar of core.clock as a table, for the SQL scorer: ``ordinal`` counts
    the business days up to and including ``day``, so the business days in (a, b] are
    ordinal(b) - ordinal(a)."""

    pk = models.CompositePrimaryKey("country", "day")
    country = models.CharField(max_length=2)
    day = models.DateField()
    ordinal = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.country} {self.day}: {self.ordinal}"
