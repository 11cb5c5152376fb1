from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.models import IdempotencyRecord, OutboxDelivery, OutboxEvent, OutgoingEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that record facts (events, ledgers, audits): staff look, they do not edit history."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["topic", "created_at", "processed_at", "attempts"]
    list_filter = ["topic"]
    search_fields = ["id", "topic", "last_error"]
    date_hierarchy = "created_at"


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "handler", "delivered_at"]
    search_fields = ["handler", "event__id"]
    raw_id_fields = ["event"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin):
    list_display = ["subject", "to", "status", "template", "created_at", "sent_at"]
    list_filter = ["status", "template", "language"]
    search_fields = ["to", "subject"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["user", "key", "method", "path", "state", "response_status", "created_at"]
    list_filter = ["state"]
    search_fields = ["key", "user__email"]
    raw_id_fields = ["user"]
