"""A role process's place: its host and port name it as a stream consumer, so the process
started in place of one that died takes up at once what that one had read but not finished."""

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream
from router import keys as router_keys
from router.consumer import Router
from tests.e2e.conftest import eventually, free_port, write_config
from tocsin.config import load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, running
from tocsin.settings import Settings, SettingsError


def runtime_on(tmp_path: Path, redis: Redis, valkey_url: str, port: int) -> Runtime:
    config = tmp_path / "tocsin.yaml"
    if not config.exists():
        write_config(tmp_path, smtp_port=1, sink_url="http://127.0.0.1:1", ack_timeout="5m")
    settings = Settings(config_path=config, port=port, redis_url=valkey_url)
    return Runtime(settings, load_config(config), redis, b"k" * 32)


async def a_read_but_unfinished_alert(runtime: Runtime, name: str) -> None:
    """As a router process named ``name`` leaves an alert when it dies mid-batch."""
    router = Router(
        runtime.redis, runtime.config.current.routing, name, CollectorRegistry(), runtime.clock
    )
    reader = router.consumer  # its first lane
    await reader.stream.ensure_group(reader.group)
    alert = Alert(
        dedup_key="disk-full",
        status=AlertStatus.FIRING,
        summary="disk full",
        labels={"service": "payments"},
        integration="prod-am",
        source="alertmanager",
        received_at=datetime.now(UTC),
    )
    await reader.stream.append([alert])
    assert await reader.stream.read(reader.group, reader.consumer, block=None)


async def test_processes_on_other_ports_are_other_consumers(
    tmp_path: Path, redis: Redis, valkey_url: str
) -> None:
    names = [runtime_on(tmp_path, redis, valkey_url, port).consumer for port in (9101, 9102)]
    assert names == [f"{socket.gethostname()}-9101", f"{socket.gethostname()}-9102"]


async def test_a_router_in_place_of_a_dead_one_resumes_its_entries_at_once(
    tmp_path: Path, redis: Redis, valkey_url: str
) -> None:
    port = free_port()
    runtime = runtime_on(tmp_path, redis, valkey_url, port)
    # Read by the process that served on this port before, which then died.
    await a_read_but_unfinished_alert(runtime, f"{socket.gethostname()}-{port}")

    async with running(runtime, [Role.ROUTER]):

        async def applied() -> bool:
            return await redis.zcard(router_keys.INCIDENT_INDEX) == 1

        # Well before another copy could claim it as abandoned (after a minute idle).
        await eventually(applied, within=10, what="the dead router's alert to be applied")


async def test_a_process_on_a_taken_port_reads_no_stream(
    tmp_path: Path, redis: Redis, valkey_url: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        runtime = runtime_on(tmp_path, redis, valkey_url, taken.getsockname()[1])
        with pytest.raises(SettingsError, match="cannot listen"):
            async with running(runtime, [Role.ROUTER]):
                pass

    assert not [task for task in asyncio.all_tasks() if task.get_name() == "router"]
    assert not await redis.exists(alert_stream(redis).key)
