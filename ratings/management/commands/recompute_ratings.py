from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ratings import services


class Command(BaseCommand):
    help = (
        "Recompute every seller's rating of the last 365 days from the order scores (the nightly"
        " job); with --rederive, every order's score from the orders first (the weekly audit)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rederive",
            action="store_true",
            help="rederive every order's score from the orders, not only the due ones",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with Progress(
            TextColumn("recompute"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("recompute", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            if options["rederive"]:
                orders = services.full_recompute(progress=report)
                message = f"Rederived {orders} order scores and every seller's rating."
            else:
                sellers = services.nightly_recompute(progress=report)
                message = f"Recomputed the ratings of {sellers} sellers."
        self.stdout.write(message)
