"""``tocsin_stream_lag_seconds``: how old the entries a stage reads are, from their stream
ids (the time they were added), with the stage's injected clock."""

from datetime import timedelta

from redis.asyncio import Redis

from ingest.keys import ALERT_STREAM
from tests.integration.test_router_concurrency import T0, Connect, alert, connect, make_router

__all__ = ["connect"]  # the fixture of the concurrency tests

LAG = "tocsin_stream_lag_seconds"
ROUTER = {"stage": "router"}


async def test_the_router_reports_how_far_behind_it_reads(redis: Redis, connect: Connect) -> None:
    added = T0 - timedelta(seconds=45)
    await redis.xadd(
        ALERT_STREAM,
        {"m": alert("disk").model_dump_json()},
        id=f"{int(added.timestamp() * 1000)}-0",
    )
    router, registry = await make_router(connect, "r1")
    assert registry.get_sample_value(LAG, ROUTER) == 0  # exported from the start

    assert await router.step() == 1
    assert registry.get_sample_value(LAG, ROUTER) == 45

    assert await router.step() == 0  # caught up: nothing waiting
    assert registry.get_sample_value(LAG, ROUTER) == 0
