"""Session settings for the few big set statements of a drop (the draw, the batch screening)."""

from __future__ import annotations

from typing import Any

from invitations.constants import BATCH_WORK_MEM


def roomy_sorts(cursor: Any) -> None:
    """More sort and hash memory until the end of the current transaction (SET LOCAL)."""
    cursor.execute("SELECT set_config('work_mem', %s, true)", [BATCH_WORK_MEM])
