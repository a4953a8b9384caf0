"""Per-integration rate limits on the real Valkey: the token bucket's arithmetic with a
driven clock, one bucket shared by every web process, floods answered with 429 while
everything else is still served."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest import keys
from ingest.changes import ChangeLog
from ingest.config import Integration, RateLimit
from ingest.events_v2 import EventsV2
from ingest.events_v2 import add_routes as add_v2_routes
from ingest.ratelimit import Limited, RateLimiter
from ingest.stream import alert_stream
from ingest.triggers import Triggers
from ingest.web import Webhooks, add_routes
from tests.conftest import ManualClock
from tests.integration.test_webhooks import on_stream, rejected

LIMIT = RateLimit(per_second=2, burst=5)
LIMITED = Integration(name="noisy", type="generic", token="noisy-s3cret", rate_limit=LIMIT)
CALM = Integration(name="calm", type="generic", token="calm-s3cret")
PD = Integration(
    name="pd", type="pagerduty", token="p" * 32, rate_limit=RateLimit(per_second=1, burst=1)
)
ALERT = {"summary": "Queue backlog", "severity": "warning"}
PD_TRIGGER = json.loads(
    (Path(__file__).parents[1] / "fixtures/payloads/pagerduty/trigger_minimal.json").read_text()
) | {"routing_key": PD.token}

Client = TestClient[web.Request, web.Application]


async def test_the_bucket_allows_a_burst_then_its_rate(redis: Redis, clock: ManualClock) -> None:
    limiter = RateLimiter(redis)
    taken = [await limiter.take("noisy", LIMIT, clock()) for _ in range(6)]
    assert taken[:5] == [None] * 5
    assert taken[5] == Limited(LIMIT, retry_after=1)
    clock.advance(timedelta(milliseconds=499))  # 2 a second: a token every 500 ms
    assert await limiter.take("noisy", LIMIT, clock()) is not None
    clock.advance(timedelta(milliseconds=1))
    assert await limiter.take("noisy", LIMIT, clock()) is None
    assert await limiter.take("noisy", LIMIT, clock()) is not None
    # Idle for long, the bucket fills up to its burst, no further.
    clock.advance(timedelta(hours=1))
    taken = [await limiter.take("noisy", LIMIT, clock()) for _ in range(6)]
    assert [t is None for t in taken] == [True] * 5 + [False]


async def test_a_slow_refill_says_how_long_to_wait(redis: Redis, clock: ManualClock) -> None:
    slow = RateLimit(per_second=0.1, burst=1)
    limiter = RateLimiter(redis)
    assert await limiter.take("slow", slow, clock()) is None
    assert await limiter.take("slow", slow, clock()) == Limited(slow, retry_after=10)
    clock.advance(timedelta(seconds=7.5))
    assert await limiter.take("slow", slow, clock()) == Limited(slow, retry_after=3)


async def test_a_clock_behind_the_others_neither_refills_nor_breaks_the_bucket(
    redis: Redis, clock: ManualClock
) -> None:
    limiter = RateLimiter(redis)
    for _ in range(5):
        assert await limiter.take("noisy", LIMIT, clock()) is None
    behind = clock() - timedelta(seconds=30)
    assert await limiter.take("noisy", LIMIT, behind) == Limited(LIMIT, retry_after=1)
    clock.advance(timedelta(milliseconds=500))
    assert await limiter.take("noisy", LIMIT, clock()) is None


async def test_an_idle_bucket_leaves_the_store(redis: Redis, clock: ManualClock) -> None:
    await RateLimiter(redis).take("noisy", LIMIT, clock())
    # Full again after 0.5 s; kept a second longer, then gone.
    assert 0 < await redis.pttl(keys.rate_bucket("noisy")) <= 1500


@pytest.fixture
def registries() -> list[CollectorRegistry]:
    return [CollectorRegistry(), CollectorRegistry()]


@pytest.fixture
async def clients(
    redis: Redis, registries: list[CollectorRegistry], clock: ManualClock
) -> AsyncIterator[list[Client]]:
    """Two web processes' apps on one store, as behind a load balancer."""
    async with AsyncExitStack() as stack:
        clients = []
        for registry in registries:
            webhooks = Webhooks(
                integrations=[LIMITED, CALM, PD],
                stream=alert_stream(redis),
                registry=registry,
                clock=clock,
                limiter=RateLimiter(redis),
            )
            app = web.Application()
            add_routes(app, webhooks)
            add_v2_routes(app, EventsV2(webhooks, Triggers(redis), ChangeLog(redis)))
            clients.append(await stack.enter_async_context(TestClient(TestServer(app))))
        yield clients


def url(integration: Integration) -> str:
    return f"/v1/webhooks/generic/{integration.token}"


async def test_a_flood_on_two_processes_shares_one_bucket(
    clients: list[Client], redis: Redis, registries: list[CollectorRegistry]
) -> None:
    flood = [clients[n % 2].post(url(LIMITED), json=ALERT) for n in range(40)]
    responses = await asyncio.gather(*flood)
    statuses = [response.status for response in responses]
    assert statuses.count(202) == LIMIT.burst
    assert statuses.count(429) == 40 - LIMIT.burst
    refused = next(response for response in responses if response.status == 429)
    assert refused.headers["Retry-After"] == "1"
    assert await refused.json() == {
        "error": "integration noisy is over its rate limit; retry later",
        "limit": {"per_second": 2.0, "burst": 5},
        "retry_after_seconds": 1,
    }
    assert len(await on_stream(redis)) == LIMIT.burst
    counted = [rejected(registry, "rate_limited") for registry in registries]
    assert sum(c or 0 for c in counted) == 40 - LIMIT.burst
    # Meanwhile everything else is served: another integration, on both processes.
    for client in clients:
        response = await client.post(url(CALM), json=ALERT)
        assert response.status == 202


async def test_time_lets_a_limited_integration_in_again(
    clients: list[Client], clock: ManualClock
) -> None:
    for _ in range(LIMIT.burst):
        assert (await clients[0].post(url(LIMITED), json=ALERT)).status == 202
    assert (await clients[1].post(url(LIMITED), json=ALERT)).status == 429
    clock.advance(timedelta(seconds=1))
    assert [(await c.post(url(LIMITED), json=ALERT)).status for c in clients] == [202, 202]
    assert (await clients[0].post(url(LIMITED), json=ALERT)).status == 429


async def test_a_limited_pagerduty_event_gets_pagerdutys_shape(
    clients: list[Client], registries: list[CollectorRegistry]
) -> None:
    assert (await clients[0].post("/v2/enqueue", json=PD_TRIGGER)).status == 202
    response = await clients[1].post("/v2/enqueue", json=PD_TRIGGER)
    assert (response.status, response.headers["Retry-After"]) == (429, "1")
    assert await response.json() == {
        "status": "throttle event",
        "message": "Requests for this integration are arriving too quickly; retry later",
        "errors": ["integration pd is limited to 1 events a second (bursts of 1); retry after 1 s"],
    }
    assert rejected(registries[1], "rate_limited") == 1
