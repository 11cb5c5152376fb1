from celery import shared_task

from invitations import services


@shared_task(ignore_result=True, acks_late=True)
def draws_due_task() -> int:
    return len(services.draws_due())


@shared_task(ignore_result=True, acks_late=True)
def invitations_expire_task() -> int:
    return services.invitations_expire()


@shared_task(ignore_result=True, acks_late=True)
def notify_not_drawn_task(drop_id: int) -> int:
    return services.notify_not_drawn(drop_id)
