from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ratings import services


class Command(BaseCommand):
    help = "Recompute every order score and seller rating of the last 365 days (the nightly job)."

    def handle(self, *args: Any, **options: Any) -> None:
        with Progress(
            TextColumn("recompute"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("recompute", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            orders = services.full_recompute(progress=report)
        self.stdout.write(f"Recomputed {orders} orders.")
