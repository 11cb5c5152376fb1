"""Session settings for the few big set statements of a drop (the draw, the batch screening)."""

from __future__ import annotations

from typing import Any

from invitations.constants import BATCH_WORK_MEM


def roomy_sorts(cursor: Any) -> None:
    """More sort and hash memory until the end of the current transaction (SET LOCAL), and no JIT:
    compiling these plans took longer (about 0.3 s) than the expressions it would speed up."""
    cursor.execute(
        "SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)",
        [BATCH_WORK_MEM],
    )


def grouping_by_sort(cursor: Any) -> None:
    """Group by sorting until the end of the current transaction: for a million mostly distinct
    keys a hash table is several times slower than sorting 64-bit integers (see the screening)."""
    cursor.execute("SELECT set_config('enable_hashagg', 'off', true)")
