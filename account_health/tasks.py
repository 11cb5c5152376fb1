from celery import shared_task

from account_health import services


@shared_task(ignore_result=True)
def deactivations_apply_due_task() -> int:
    return services.deactivations_apply_due()
