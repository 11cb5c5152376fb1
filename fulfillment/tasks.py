"""Thin Celery entry points of fulfillment: ids and primitives in, one service call."""

from typing import Any

from celery import shared_task

from fulfillment import services


@shared_task(ignore_result=True)
def incidents_detect_task() -> int:
    """Every few minutes (beat): detection first, then the cheap pruning of old history."""
    opened = len(services.incidents_detect())
    services.history_prune()
    return opened


@shared_task(ignore_result=True)
def coverage_check_seller_task(seller_id: int, trigger: str) -> int:
    return len(services.coverage_check_for_seller(seller_id, trigger=trigger))


@shared_task(ignore_result=True)
def coverage_check_templates_task(
    seller_id: int, replaced_ids: list[int], before: list[dict[str, Any]], trigger: str
) -> int:
    return len(
        services.coverage_check_for_templates(
            seller_id, replaced_ids=replaced_ids, before=before, trigger=trigger
        )
    )


@shared_task(ignore_result=True)
def coverage_check_warehouse_task(
    warehouse_id: int, before: dict[str, Any] | None, trigger: str
) -> int:
    return len(services.coverage_check_for_warehouse(warehouse_id, before=before, trigger=trigger))
