from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictInput


class FixFirstOutput(serializers.Serializer):
    id = serializers.IntegerField()
    policy = serializers.CharField(source="policy.code")
    policy_name = serializers.CharField(source="policy.name")
    severity = serializers.CharField()
    affected_orders = serializers.IntegerField()
    is_repeat = serializers.BooleanField()
    points_back = serializers.IntegerField(source="points")
    status = serializers.CharField()
    how_to_fix = serializers.CharField(source="policy.how_to_fix")
    facts = serializers.CharField()
    opened_at = serializers.DateTimeField()


class HistoryPointOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    score = serializers.IntegerField()


class HealthOutput(serializers.Serializer):
    score = serializers.IntegerField()
    band = serializers.CharField()
    colour = serializers.CharField()
    fix_first = FixFirstOutput(many=True)
    history = HistoryPointOutput(many=True)


class LedgerOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    cause = serializers.CharField()
    rule = serializers.CharField()
    delta = serializers.IntegerField()
    score_after = serializers.IntegerField()
    violation_id = serializers.IntegerField(allow_null=True)


class FixedInput(StrictInput):
    statement = serializers.CharField(max_length=4000)


class AppealInput(StrictInput):
    root_cause = serializers.CharField(max_length=4000)
    corrective_actions = serializers.CharField(max_length=4000)
    preventive_measures = serializers.CharField(max_length=4000)


class AppealOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    decision_reason = serializers.CharField()


class DeactivationOutput(serializers.Serializer):
    status = serializers.CharField()
    statement = serializers.CharField()
    facts = serializers.CharField()
    is_automated = serializers.BooleanField()
    policies = serializers.ListField(child=serializers.CharField())
    requested_at = serializers.DateTimeField()
    effective_at = serializers.DateTimeField()
    appeals = AppealOutput(many=True)
