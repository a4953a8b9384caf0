"""With several routers, an alert's resolution can be applied before its firing. The late
firing of an episode already over must not open an incident that nothing will resolve."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router.config import Route, RoutingConfig
from router.incidents import Outcome
from router.store import IncidentStore

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROUTING = RoutingConfig(routes=[Route(policy="p", group_by=["service"])])


def alert(status: AlertStatus, started: datetime | None, at: datetime = T0) -> Alert:
    return Alert(
        dedup_key="fp-1",
        status=status,
        summary="disk full",
        labels={"service": "db"},
        integration="am",
        source="alertmanager",
        starts_at=started,
        received_at=at,
    )


async def test_a_firing_that_arrives_after_its_resolution_is_stale(redis: Redis) -> None:
    store = IncidentStore(redis)
    episode = T0 - timedelta(minutes=5)

    resolved = await store.apply_alert(alert(AlertStatus.RESOLVED, episode), ROUTING)
    late = await store.apply_alert(alert(AlertStatus.FIRING, episode), ROUTING)

    assert resolved.outcome is Outcome.IGNORED
    assert late.outcome is Outcome.STALE
    assert await store.list() == []


async def test_a_repeat_of_a_resolved_episode_does_not_reopen(redis: Redis) -> None:
    store = IncidentStore(redis)
    episode = T0 - timedelta(minutes=5)
    assert (await store.apply_alert(alert(AlertStatus.FIRING, episode), ROUTING)).outcome is (
        Outcome.OPENED
    )
    closing = await store.apply_alert(alert(AlertStatus.RESOLVED, episode), ROUTING)
    assert closing.outcome is Outcome.INCIDENT_RESOLVED

    resent = await store.apply_alert(
        alert(AlertStatus.FIRING, episode, T0 + timedelta(minutes=1)), ROUTING
    )

    assert resent.outcome is Outcome.STALE
    assert len(await store.list()) == 1


@pytest.mark.parametrize(
    ("later", "outcome", "incidents"),
    [
        # Within the reopen window the resolved incident takes it again: one incident.
        (ROUTING.reopen_window, Outcome.REOPENED, 1),
        (ROUTING.reopen_window + timedelta(seconds=1), Outcome.OPENED, 2),
    ],
)
async def test_a_new_episode_after_a_resolution_is_paged_again(
    redis: Redis, later: timedelta, outcome: Outcome, incidents: int
) -> None:
    store = IncidentStore(redis)
    first = T0 - timedelta(minutes=5)
    await store.apply_alert(alert(AlertStatus.FIRING, first), ROUTING)
    await store.apply_alert(alert(AlertStatus.RESOLVED, first), ROUTING)
    starts = T0 + later

    again = await store.apply_alert(alert(AlertStatus.FIRING, starts, starts), ROUTING)

    assert again.outcome is outcome
    assert len(await store.list()) == incidents


async def test_without_a_start_time_a_firing_after_a_resolution_opens(redis: Redis) -> None:
    # Sources that do not say when an episode started cannot tell a late firing from a new
    # one; a new problem must never be hidden, so it pages.
    store = IncidentStore(redis)
    await store.apply_alert(alert(AlertStatus.RESOLVED, None), ROUTING)

    change = await store.apply_alert(alert(AlertStatus.FIRING, None), ROUTING)

    assert change.outcome is Outcome.OPENED


async def test_racing_firing_and_resolution_never_leave_an_open_incident(
    redis: Redis, valkey_url: str
) -> None:
    # Each pair runs on two connections at once, in either order of arrival; whichever wins,
    # no incident of that episode may stay open.
    for n in range(20):
        episode = T0 + timedelta(minutes=n)
        clients = [Redis.from_url(valkey_url) for _ in range(2)]
        try:
            firing, resolving = (IncidentStore(c) for c in clients)
            await asyncio.gather(
                firing.apply_alert(alert(AlertStatus.FIRING, episode), ROUTING),
                resolving.apply_alert(alert(AlertStatus.RESOLVED, episode), ROUTING),
            )
            incidents = await firing.list(limit=100)
            assert all(i.status == "resolved" for i in incidents), n
        finally:
            for client in clients:
                await client.aclose()
