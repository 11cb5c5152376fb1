#!/usr/bin/env python
"""`make run`: a working site with demo data, and Ctrl-C stops every process it started.

Starts (or attaches to) the embedded PostgreSQL and Valkey unless DATABASE_URL / REDIS_URL are set,
migrates, seeds the demo data once, collects static files, then runs gunicorn, one Celery worker and
Celery beat, each in its own process group so a stop reaches their children too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
STOP_GRACE_SECONDS = 15  # gunicorn and celery finish in-flight work within this


def _prepare_environment() -> tuple[dict[str, str], bool]:
    """Resolve the data stores once, so web, worker and beat share them; report whether we started
    the embedded servers (then we stop them again on exit)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONUNBUFFERED": "1"}
    started_embedded = False
    if "DATABASE_URL" not in env or "REDIS_URL" not in env:
        from config import embedded

        started_embedded = not embedded.is_running()
        if "DATABASE_URL" not in env:
            env["DATABASE_URL"] = embedded.database_url()
        if "REDIS_URL" not in env:
            socket = embedded.redis_socket()
            env["REDIS_URL"] = f"unix://{socket}?db=0"
            env["CELERY_BROKER_URL"] = f"redis+socket://{socket}"
    return env, started_embedded


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603


def _start(env: dict[str, str], name: str, argv: list[str]) -> tuple[str, subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    return name, process


def _stop_all(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop in time; killing it", flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of its group


def main() -> int:
    env, started_embedded = _prepare_environment()
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--orders", os.environ.get("SEED_DEMO_ORDERS", "2000"))
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")

    bin_dir = Path(sys.executable).parent
    processes = [
        _start(
            env,
            "web",
            [
                str(bin_dir / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"{HOST}:{PORT}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "10",
            ],
        ),
        _start(
            env,
            "worker",
            [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--queues",
                "default,scores,lottery,outbox",
                "--concurrency",
                "2",
            ],
        ),
        _start(
            env,
            "beat",
            [
                str(bin_dir / "celery"),
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        ),
    ]
    base = f"http://{HOST}:{PORT}"
    print(
        "\n".join(
            [
                "",
                "Marketplace is running:",
                f"  API docs          {base}/api/docs/",
                f"  Admin             {base}/admin/",
                f"  Seller dashboard  {base}/dashboard/",
                f"  Health            {base}/health/",
                "Demo logins (password demo-pass-123):",
                "  staff    admin@demo.test",
                "  seller   seller1@demo.test",
                "  shopper  shopper1@demo.test",
                "Press Ctrl-C to stop.",
                "",
            ]
        ),
        flush=True,
    )

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        while not stopping:
            for name, process in processes:
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping the rest", flush=True)
                    exit_code = 1
                    stopping = True
                    break
            time.sleep(0.5)
    finally:
        print("stopping…", flush=True)
        _stop_all(processes)
        if started_embedded:
            from config import embedded

            embedded.stop()
    print("stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
