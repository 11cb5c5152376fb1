"""`make bench`: every benchmark in its own process (each configures Django for its own database)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = sorted(
    path
    for path in HERE.glob("*.py")
    if path.name not in {"__init__.py", "harness.py", "run_all.py", "urls.py"}
)


def main() -> int:
    failed = []
    for path in BENCHMARKS:
        print(f"\n### {path.name}", flush=True)
        if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode != 0:
            failed.append(path.name)
    print(
        f"\n{len(BENCHMARKS) - len(failed)} benchmarks passed their gates, {len(failed)} failed: {failed}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
