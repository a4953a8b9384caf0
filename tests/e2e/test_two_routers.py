"""Two ``tocsin router`` processes on one stream never open two incidents for one group."""

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream
from router import keys as router_keys
from router.store import IncidentStore
from tests.e2e.conftest import eventually, free_port, write_config
from tests.e2e.processes import kill_group, start_tocsin

GROUPS = 5
ALERTS_PER_GROUP = 60


@pytest.fixture
def routers(
    tmp_path: Path, valkey_url: str, redis: Redis
) -> Iterator[list[subprocess.Popen[bytes]]]:
    config = write_config(tmp_path, smtp_port=1, sink_url="http://127.0.0.1:1", ack_timeout="5m")
    env = {"TOCSIN_REDIS_URL": valkey_url}
    started = [
        start_tocsin(
            ["router", "--config", str(config), "--port", str(free_port())], cwd=tmp_path, env=env
        )
        for _ in range(2)
    ]
    try:
        yield started
    finally:
        for process in started:
            kill_group(process)


def processes(consumers: list[dict[str, object]]) -> set[str]:
    """Router processes among the group's consumers: each reads in lanes named NAME:LANE."""
    names = [c["name"] for c in consumers]
    return {(n.decode() if isinstance(n, bytes) else str(n)).rpartition(":")[0] for n in names}


def alert(group: int, n: int) -> Alert:
    return Alert(
        dedup_key=f"g{group}-a{n}",
        status=AlertStatus.FIRING,
        summary=f"disk full on node {n}",
        labels={"service": "payments", "alertname": "DiskFull", "cluster": f"c{group}"},
        integration="prod-am",
        source="alertmanager",
        received_at=datetime.now(UTC),
    )


async def test_two_routers_open_one_incident_per_group(
    routers: list[subprocess.Popen[bytes]], redis: Redis
) -> None:
    stream = alert_stream(redis)

    async def both_reading() -> bool:
        try:
            consumers = await redis.xinfo_consumers(stream.key, router_keys.CONSUMER_GROUP)
        except ResponseError:  # no group yet
            return False
        return len(processes(consumers)) == 2

    # Both started and reading, or the first could take everything before the second is up.
    await eventually(both_reading, what="both routers to read the stream")
    # Interleaved, in small batches, so both routers hold alerts of every group at once.
    batch: list[Alert] = []
    for n in range(ALERTS_PER_GROUP):
        batch.extend(alert(group, n) for group in range(GROUPS))
        if len(batch) >= 20:
            await stream.append(batch)
            batch = []
    await stream.append(batch)

    async def consumed() -> bool:
        groups = await redis.xinfo_groups(stream.key)
        return bool(groups) and groups[0]["lag"] == 0 and groups[0]["pending"] == 0

    await eventually(consumed, what="both routers to drain the stream")
    consumers = await redis.xinfo_consumers(stream.key, router_keys.CONSUMER_GROUP)
    assert len(processes(consumers)) == 2

    incidents = await IncidentStore(redis).list(limit=100)
    assert len(incidents) == GROUPS
    assert sorted(i.alerts_total for i in incidents) == [ALERTS_PER_GROUP] * GROUPS
    for incident in incidents:
        records, _ = await IncidentStore(redis).alerts(incident.id, limit=ALERTS_PER_GROUP)
        assert len(records) == ALERTS_PER_GROUP
    opened = await redis.xlen(router_keys.EVENT_STREAM)
    assert opened == GROUPS
