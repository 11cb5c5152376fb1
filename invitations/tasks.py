"""Thin Celery entry points of the lottery queue; each is idempotent and safe to run again."""

from celery import shared_task

from invitations import services


@shared_task(ignore_result=True, acks_late=True)
def draws_due_task() -> int:
    """Beat, every minute: statuses follow the clock, drops whose window closed are drawn."""
    return len(services.draws_due())


@shared_task(ignore_result=True, acks_late=True)
def invitations_expire_task() -> int:
    """Beat: expired invitations release their units to a further round."""
    return services.invitations_expire()


@shared_task(ignore_result=True, acks_late=True)
def notify_not_drawn_task(drop_id: int) -> int:
    return services.notify_not_drawn(drop_id)
