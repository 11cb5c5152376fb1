from __future__ import annotations

from rest_framework import serializers


class MetricOutput(serializers.Serializer):
    value = serializers.CharField(allow_null=True)
    numerator = serializers.IntegerField()
    denominator = serializers.IntegerField()
    window_days = serializers.IntegerField()
    target = serializers.CharField()
    meets_target = serializers.BooleanField(allow_null=True)


class MetricsOutput(serializers.Serializer):
    order_defect_rate = MetricOutput()
    cancellation_rate = MetricOutput()
    late_shipment_rate = MetricOutput()
    valid_tracking_rate = MetricOutput()


class ProgressOutput(serializers.Serializer):
    mature_orders = serializers.IntegerField()
    needed = serializers.IntegerField()


class RatingOutput(serializers.Serializer):
    is_rated = serializers.BooleanField()
    score = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)
    progress = ProgressOutput()
    scored_orders = serializers.IntegerField()
    weighting = serializers.DictField()
    bands = serializers.ListField(child=serializers.DictField())
    metrics = MetricsOutput()
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the rating or its metrics last changed."
    )


class HistoryOutput(serializers.Serializer):
    day = serializers.DateField()
    score = serializers.FloatField(allow_null=True)
    band = serializers.CharField()


class OrderScoreOutput(serializers.Serializer):
    order_id = serializers.IntegerField()
    placed_at = serializers.DateTimeField()
    score = serializers.IntegerField()
    is_mature = serializers.BooleanField()
    is_perfect = serializers.BooleanField()
    counted_problem = serializers.CharField()
    trace = serializers.DictField()


class PublicRatingOutput(serializers.Serializer):
    seller_id = serializers.IntegerField()
    is_rated = serializers.BooleanField()
    band = serializers.CharField(allow_null=True)
