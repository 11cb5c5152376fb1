"""`make run` end to end: a fresh embedded data folder, a working site, Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from tests.utils import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180  # fresh initdb, migrations and a small seed on a 2-core machine


def _processes_mentioning(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmdline = " ".join(process.info["cmdline"] or [])
            environ = process.info["environ"] or {}
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if marker in cmdline or environ.get("EMBEDDED_DATA_DIR", "").endswith(marker):
            found.append(process)
    return found


@pytest.mark.slow
def test_make_run_serves_the_site_and_ctrl_c_stops_everything_it_started(tmp_path):
    marker = f"run-check-{uuid.uuid4().hex[:8]}"
    data_dir = ROOT / "var" / marker
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TESTING"}
    }
    env.update(EMBEDDED_DATA_DIR=str(data_dir), PORT=str(port), SEED_DEMO_ORDERS="20", TESTING="0")
    # A file, not a pipe: a pipe nobody reads fills up and blocks the servers' logging.
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/health/", timeout=5)
                if health.status_code == 200 and health.json()["checks"]["celery"] == "ok":
                    break
            # A busy machine may accept the connection before a worker is up to answer it.
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(1)
        assert health is not None and health.json()["status"] == "ok"
        docs = requests.get(f"http://127.0.0.1:{port}/api/docs/", timeout=60)
        products = requests.get(f"http://127.0.0.1:{port}/api/products/", timeout=60)
        assert docs.status_code == 200
        assert products.json()["count"] == 500
        assert _processes_mentioning(marker)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        log.close()
    output = (tmp_path / "run.log").read_text()
    try:
        assert process.returncode == 0, output[-3000:]
        assert "Demo logins" in output
        time.sleep(1)
        assert _processes_mentioning(marker) == []
        leftovers = [
            proc.info["cmdline"]
            for proc in psutil.process_iter(["cmdline"])
            if f"127.0.0.1:{port}" in " ".join(proc.info["cmdline"] or [])
        ]
        assert leftovers == []
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
