from celery import shared_task

from ratings import services


@shared_task(ignore_result=True)
def refresh_dirty_task() -> int:
    return services.refresh_dirty()


@shared_task(ignore_result=True, soft_time_limit=600, time_limit=660)
def nightly_recompute_task() -> int:
    return services.nightly_recompute()


@shared_task(ignore_result=True, soft_time_limit=3000, time_limit=3300)
def full_recompute_task() -> int:
    return services.full_recompute()
