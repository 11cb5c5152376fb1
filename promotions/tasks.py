from celery import shared_task

from promotions import services


@shared_task(ignore_result=True, acks_late=True)
def issue_run_execute_task(run_id: int) -> None:
    services.issue_run_execute(run_id)
