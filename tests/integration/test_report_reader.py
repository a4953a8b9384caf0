"""Reading a report's incidents from a real Valkey: the range by creation time, pages, the
timeline's facts, a cut-off that says so."""

from datetime import timedelta

import pytest
from redis.asyncio import Redis

from router import keys
from router.models import TimelineEvent, TimelineKind
from router.report_reader import reviewed_between
from router.store import IncidentStore
from tests.integration.test_incident_store import ROUTING, T0, alert


@pytest.fixture
async def store(redis: Redis) -> IncidentStore:
    """Incidents of services s0..s4 opened an hour apart from an hour before ``T0``."""
    store = IncidentStore(redis)
    for n in range(5):
        await store.apply_alert(
            alert(f"a{n}", at=T0 + timedelta(hours=n - 1), service=f"s{n}"), ROUTING
        )
    return store


async def test_only_incidents_opened_in_the_range_oldest_first(
    store: IncidentStore, redis: Redis
) -> None:
    gathered = await reviewed_between(redis, T0, T0 + timedelta(hours=3))
    services = [r.incident.group_labels["service"] for r in gathered.reviewed]
    assert services == ["s1", "s2", "s3"]  # the end is excluded
    assert not gathered.truncated


async def test_pages_read_the_same_incidents(store: IncidentStore, redis: Redis) -> None:
    whole = await reviewed_between(redis, T0, T0 + timedelta(days=1))
    paged = await reviewed_between(redis, T0, T0 + timedelta(days=1), page=2)
    assert [r.incident.id for r in paged.reviewed] == [r.incident.id for r in whole.reviewed]
    assert len(whole.reviewed) == 4


async def test_more_than_the_most_is_cut_short_and_says_so(
    store: IncidentStore, redis: Redis
) -> None:
    gathered = await reviewed_between(redis, T0, T0 + timedelta(days=1), page=2, most=3)
    assert len(gathered.reviewed) == 3
    assert gathered.truncated
    exact = await reviewed_between(redis, T0, T0 + timedelta(days=1), most=4)
    assert not exact.truncated


async def test_the_timeline_says_acknowledged_and_escalated(
    store: IncidentStore, redis: Redis
) -> None:
    (first, *_) = (await reviewed_between(redis, T0, T0 + timedelta(hours=1))).reviewed
    incident_id = first.incident.id
    escalation = TimelineEvent(at=T0 + timedelta(minutes=5), kind=TimelineKind.ESCALATED, level=2)
    await store.add_timeline(incident_id, [escalation])
    await store.acknowledge(incident_id, "alice", T0 + timedelta(minutes=7))

    (seen,) = (await reviewed_between(redis, T0, T0 + timedelta(hours=1))).reviewed

    assert seen.escalated
    assert seen.first_acknowledged_at == T0 + timedelta(minutes=7)


async def test_an_expired_incident_is_skipped(store: IncidentStore, redis: Redis) -> None:
    (first, *_) = (await reviewed_between(redis, T0, T0 + timedelta(hours=1))).reviewed
    await redis.delete(keys.incident(first.incident.id))
    assert (await reviewed_between(redis, T0, T0 + timedelta(hours=1))).reviewed == []


async def test_incidents_of_the_same_millisecond_across_pages(redis: Redis) -> None:
    store = IncidentStore(redis)
    at = T0 + timedelta(days=3)
    for n in range(5):
        await store.apply_alert(alert(f"b{n}", at=at, service=f"same{n}"), ROUTING)
    await store.apply_alert(alert("c", at=at + timedelta(milliseconds=1), service="next"), ROUTING)

    for page in (1, 2, 3, 5):
        gathered = await reviewed_between(redis, at, at + timedelta(seconds=1), page=page)
        services = [r.incident.group_labels["service"] for r in gathered.reviewed]
        assert services == ["same0", "same1", "same2", "same3", "same4", "next"], page
    cut = await reviewed_between(redis, at, at + timedelta(seconds=1), page=2, most=5)
    assert (len(cut.reviewed), cut.truncated) == (5, True)
