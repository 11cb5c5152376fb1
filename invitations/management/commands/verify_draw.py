from __future__ import annotations

from typing import Any

from django.core.management import BaseCommand, CommandError

from invitations import services


class Command(BaseCommand):
    help = "Recompute a draw's winners from its stored inputs and seed and say whether they match."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("drop", type=int)
        parser.add_argument("round", type=int)

    def handle(self, *args: Any, drop: int, round: int, **options: Any) -> None:
        matches, recomputed, stored = services.draw_verify(drop, round)
        self.stdout.write(f"stored winners:     {stored}")
        self.stdout.write(f"recomputed winners: {recomputed}")
        if not matches:
            raise CommandError("MISMATCH: the draw cannot be reproduced from its seed")
        self.stdout.write("OK: the winners match the published seed hash and the stored requests")
