"""A storm of 1,000 alerts over 10 hosts, from the alert stream to the pages: the router reads
and applies them in batches, the notifier acts on the incident events, a recording channel
counts what is delivered. One incident per host and one page per incident; with a storm
limit, the hosts past it share one storm incident and its one page."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from ingest.stream import alert_stream
from notifier.channels import Notification
from notifier.worker import EventConsumer
from router import keys as router_keys
from router.config import Route, RoutingConfig
from router.consumer import BATCH as ROUTER_BATCH
from router.consumer import Router
from router.models import Incident, Storm
from router.store import MAX_ALERTS_PAGE, IncidentStore
from tests.conftest import ManualClock
from tests.integration.test_paging import RecordingChannel, RecordingScheduler, pager_with

HOSTS = 10
CHECKS = 100
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BLOCK = timedelta(milliseconds=10)
NOW = timedelta(0)


def host(n: int) -> str:
    return f"web-{n}"


def storm_alerts() -> list[Alert]:
    """Every check failing on every host within a second, hosts interleaved as they arrive."""
    return [
        Alert(
            dedup_key=f"check-{n // HOSTS}-{host(n % HOSTS)}",
            status=AlertStatus.FIRING,
            summary=f"check {n // HOSTS} failing on {host(n % HOSTS)}",
            labels={"host": host(n % HOSTS), "check": str(n // HOSTS), "service": "payments"},
            integration="prom",
            source="alertmanager",
            received_at=T0 + timedelta(milliseconds=n),
        )
        for n in range(HOSTS * CHECKS)
    ]


@dataclass
class Storming:
    incidents: list[Incident]
    hook: RecordingChannel
    store: IncidentStore

    def pages(self) -> dict[str, list[Notification]]:
        """Pages delivered through the webhook channel, by incident."""
        pages: dict[str, list[Notification]] = {}
        for note in self.hook.delivered:
            if note.kind == "page":
                pages.setdefault(note.incident_id, []).append(note)
        return pages

    async def hosts_of(self, incident: Incident) -> dict[str, int]:
        records, _ = await self.store.alerts(incident.id, limit=MAX_ALERTS_PAGE)
        found: dict[str, int] = {}
        for record in records:
            found[record.labels["host"]] = found.get(record.labels["host"], 0) + 1
        return found


async def until_done(step: Router | EventConsumer) -> None:
    for _ in range(100):
        if not await step.step():
            return
    raise AssertionError("the stream did not drain")


def routing(storm_limit: int | None) -> RoutingConfig:
    route = Route(name="hosts", policy="payments", group_by=["host"], storm_limit=storm_limit)
    return RoutingConfig(routes=[route])


async def storm(redis: Redis, clock: ManualClock, storm_limit: int | None) -> Storming:
    await alert_stream(redis).append(storm_alerts())
    router = Router(redis, routing(storm_limit), "router", CollectorRegistry(), clock, block=BLOCK)
    store = IncidentStore(redis)
    registry = CollectorRegistry()
    pager, _, hook = pager_with(store, RecordingScheduler(), clock, registry)
    notifier = EventConsumer(store, pager, "worker", registry, block=BLOCK)

    await until_done(router)
    clock.advance(timedelta(seconds=1))
    await until_done(notifier)

    return Storming(await store.list(limit=100), hook, store)


async def test_a_thousand_alerts_over_ten_hosts_are_ten_incidents_paged_once(
    redis: Redis, clock: ManualClock
) -> None:
    storming = await storm(redis, clock, storm_limit=None)

    assert len(storming.incidents) == HOSTS
    assert sorted(i.group_labels["host"] for i in storming.incidents) == sorted(
        host(n) for n in range(HOSTS)
    )
    for incident in storming.incidents:
        assert (incident.alerts_total, incident.alerts_firing) == (CHECKS, CHECKS)
        assert await storming.hosts_of(incident) == {incident.group_labels["host"]: CHECKS}
    pages = storming.pages()
    assert sorted(pages) == sorted(i.id for i in storming.incidents)
    assert all(len(delivered) == 1 for delivered in pages.values())


async def test_past_a_storm_limit_of_three_the_other_hosts_page_once_together(
    redis: Redis, clock: ManualClock
) -> None:
    storming = await storm(redis, clock, storm_limit=3)

    assert len(storming.incidents) == 4
    [storm_incident] = [i for i in storming.incidents if i.storm is not None]
    own = [i for i in storming.incidents if i.storm is None]
    assert sorted(i.group_labels["host"] for i in own) == [host(n) for n in range(3)]
    for incident in own:
        assert await storming.hosts_of(incident) == {incident.group_labels["host"]: CHECKS}
    absorbed = [host(n) for n in range(3, HOSTS)]
    assert storm_incident.storm == Storm(
        limit=3, groups=7, listed=[f"host={name}" for name in absorbed]
    )
    assert storm_incident.alerts_total == 7 * CHECKS
    assert await storming.hosts_of(storm_incident) == dict.fromkeys(absorbed, CHECKS)

    pages = storming.pages()
    assert sorted(pages) == sorted(i.id for i in storming.incidents)
    assert all(len(delivered) == 1 for delivered in pages.values())
    [storm_page] = pages[storm_incident.id]
    assert storm_page.title == (
        "alert storm on hosts: 7 groups, e.g. " + ", ".join(f"host={n}" for n in absorbed)
    )


async def test_a_router_dead_halfway_through_a_storm_batch_counts_nothing_twice(
    redis: Redis, clock: ManualClock
) -> None:
    capped = routing(storm_limit=3)
    await alert_stream(redis).append(storm_alerts())
    crashed = Router(redis, capped, "router", CollectorRegistry(), clock, block=BLOCK)
    await crashed.alerts.ensure_group(router_keys.CONSUMER_GROUP)
    # Its first life read a batch and stored the effect of half of it, then died.
    entries = await crashed.alerts.read(
        router_keys.CONSUMER_GROUP, crashed.consumer.consumer, count=ROUTER_BATCH, block=None
    )
    half = [(e.model, e.id) for e in entries[: ROUTER_BATCH // 2] if e.model is not None]
    await crashed.store.apply_alerts(half, capped)

    registry = CollectorRegistry()
    # Started again under its name, it takes its unfinished batch up at once.
    restarted = Router(redis, capped, "router", registry, clock, block=BLOCK, retry_after=NOW)
    await until_done(restarted)

    duplicates = registry.get_sample_value("tocsin_router_alerts_total", {"outcome": "duplicate"})
    assert duplicates == ROUTER_BATCH // 2
    store = IncidentStore(redis)
    incidents = await store.list(limit=100)
    assert len(incidents) == 4
    [storm_incident] = [i for i in incidents if i.storm is not None]
    assert storm_incident.storm is not None
    assert storm_incident.storm.groups == HOSTS - 3
    for incident in incidents:
        records, _ = await store.alerts(incident.id, limit=MAX_ALERTS_PAGE)
        assert {r.count for r in records} == {1}
    assert sum(i.alerts_total for i in incidents) == HOSTS * CHECKS
