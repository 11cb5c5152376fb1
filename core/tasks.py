from celery import shared_task

from core import idempotency, outbox


@shared_task(ignore_result=True)
def outbox_relay() -> int:
    outbox.relay_woken()
    return outbox.relay()


@shared_task(ignore_result=True)
def idempotency_purge() -> int:
    return idempotency.idempotency_purge()


@shared_task(ignore_result=True)
def outbox_purge() -> int:
    return outbox.outbox_purge()
