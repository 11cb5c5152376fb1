from __future__ import annotations

from rest_framework import serializers

from core.api.serializers import StrictInput


class DropRequestInput(StrictInput):
    address_id = serializers.IntegerField(
        required=False,
        help_text="One of my addresses; the default address when left out. Its country must be "
        "eligible for the drop.",
    )


class DropAppealInput(StrictInput):
    text = serializers.CharField(max_length=2000, allow_blank=True)


class DropOutput(serializers.Serializer):
    id = serializers.IntegerField()
    offer_id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    product_title = serializers.CharField()
    status = serializers.CharField()
    units = serializers.IntegerField()
    request_opens_at = serializers.DateTimeField()
    request_closes_at = serializers.DateTimeField()
    eligible_countries = serializers.ListField(child=serializers.CharField())
    purchase_window_hours = serializers.IntegerField()
    limit_per_customer = serializers.IntegerField()
    is_open = serializers.BooleanField()
    seed_hash = serializers.CharField(
        help_text="sha256 of the lottery seed, published before the draw (commit-reveal)."
    )
    seed = serializers.CharField(
        allow_null=True, help_text="Revealed after the first draw: recompute the winners with it."
    )


class DrawOutput(serializers.Serializer):
    round = serializers.IntegerField()
    algorithm = serializers.CharField()
    units = serializers.IntegerField()
    eligible_count = serializers.IntegerField()
    eligible_digest = serializers.CharField(
        help_text="sha256 of the eligible request ids, ascending and comma-separated."
    )
    winner_request_ids = serializers.ListField(child=serializers.IntegerField())
    drawn_at = serializers.DateTimeField()


class DropDetailOutput(DropOutput):
    draws = DrawOutput(many=True)


class RequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    drop_id = serializers.IntegerField()
    offer_id = serializers.IntegerField()
    product_title = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["received", "screened_out", "not_drawn", "invited", "purchased", "expired"]
    )
    state_label = serializers.CharField()
    requested_at = serializers.DateTimeField()
    invitation_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When invited: buy before this time."
    )
    invitation_quantity = serializers.IntegerField(allow_null=True)
    reason_category = serializers.CharField(
        allow_null=True,
        help_text="When screened out: account, history, network, device or address.",
    )
    screened_out_reason = serializers.CharField(allow_null=True)
    appeal = serializers.CharField(allow_null=True, help_text="How to appeal, when screened out.")
    appeal_url = serializers.CharField(
        allow_null=True, help_text="POST a short text here to appeal (until an appeal is made)."
    )
    appeal_status = serializers.CharField(
        allow_null=True, help_text="pending, admitted or rejected once appealed."
    )
