"""Read by gunicorn from the working directory (the project root, /app in the image) whatever the
command line says; the command line sets binding and workers."""

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    # The application is loaded by now (in the master with --preload, else in this worker) and
    # lives as long as the worker: frozen, a full garbage collection no longer walks it. One took
    # 60 ms on an idle machine and several hundred on a busy one, a stall that every worker hit
    # at about the same moment because they had served about the same number of requests.
    gc.freeze()
