from celery import shared_task

from fulfillment import services


@shared_task(ignore_result=True)
def incidents_detect_task() -> int:
    return len(services.incidents_detect())


@shared_task(ignore_result=True)
def coverage_check_seller_task(seller_id: int, trigger: str) -> int:
    return len(services.coverage_check_for_seller(seller_id, trigger=trigger))


@shared_task(ignore_result=True)
def coverage_check_warehouse_task(warehouse_id: int, trigger: str) -> int:
    return len(services.coverage_check_for_warehouse(warehouse_id, trigger=trigger))
