"""The gunicorn settings in the project root: found by gunicorn on its own, and what they do."""

from __future__ import annotations

import gc
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_reads_the_settings_file_from_the_project_root():
    gunicorn = Path(sys.executable).parent / "gunicorn"
    printed = subprocess.run(  # noqa: S603 - our own gunicorn, fixed arguments
        [str(gunicorn), "--print-config", "config.wsgi"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    settings = {
        name.strip(): value.strip()
        for name, _equals, value in (line.partition("=") for line in printed.splitlines())
    }
    assert settings["config"] == "./gunicorn.conf.py"
    assert settings["post_worker_init"] == "<post_worker_init()>"  # ours, not gunicorn's no-op


def test_a_started_worker_freezes_the_loaded_application_out_of_garbage_collection():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # Django and every app module
    finally:
        gc.unfreeze()
