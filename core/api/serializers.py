from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers


class StrictInput(serializers.Serializer):
    """An input serializer that refuses fields it does not know.

    A client that sends ``price`` or ``seller`` to an endpoint that does not take them gets a
    validation error instead of having them silently ignored: mass assignment is visible.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This field is not accepted here.")] for name in unknown}
                )
        return super().to_internal_value(data)


class MoneyOutput(serializers.Serializer):
    """Money as the API shows it: a decimal string and an ISO currency."""

    amount = serializers.CharField()
    currency = serializers.CharField()
