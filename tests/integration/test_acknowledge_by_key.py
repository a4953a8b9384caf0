"""Acknowledging an alert (PagerDuty's ``acknowledge``), through the alert stream and the
router on a real Valkey: the open incidents where the alert fires are acknowledged, in order
with the alerts around it, and nothing else changes. Ingest gives the acknowledgement its
trigger's labels (``ingest.triggers``), so the router places it like the alert."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router import keys
from router.config import RoutingConfig
from router.consumer import Router
from router.models import IncidentEventKind, IncidentStatus, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WHO = "pagerduty:pd-prod"

ROUTING = RoutingConfig.model_validate(
    {
        "routes": [
            {
                "name": "audit",
                "matchers": ["__integration__=pd-prod"],
                "policy": "audit",
                "continue": True,
            },
            {"name": "db", "match": {"component": "mysql"}, "policy": "db", "group_by": ["group"]},
            {"name": "rest", "policy": "rest"},
        ]
    }
)


def alert(
    dedup_key: str,
    status: AlertStatus = AlertStatus.FIRING,
    at: datetime = T0,
    component: str | None = "mysql",
) -> Alert:
    labels = {"group": "prod-datapipe", "severity": "critical"}
    return Alert(
        dedup_key=dedup_key,
        status=status,
        summary=f"{dedup_key} is down",
        labels=labels if component is None else {"component": component, **labels},
        integration="pd-prod",
        source="pagerduty",
        received_at=at,
    )


def ack(dedup_key: str, component: str | None = "mysql") -> Alert:
    return alert(dedup_key, AlertStatus.ACKNOWLEDGED, T0 + timedelta(minutes=1), component)


@pytest.fixture
async def router(redis: Redis, registry: CollectorRegistry) -> Router:
    router = Router(redis, ROUTING, "r1", registry, ManualClock())
    await router.alerts.ensure_group(keys.CONSUMER_GROUP)
    return router


async def send(router: Router, *alerts: Alert) -> None:
    await router.alerts.append(alerts)
    assert await router.step() == len(alerts)


async def statuses(store: IncidentStore) -> list[tuple[str, str, IncidentStatus]]:
    """Route, first alert and status of every incident, oldest first."""
    found = []
    for incident in reversed(await store.list()):
        alerts, _ = await store.alerts(incident.id)
        found.append((incident.route, alerts[-1].dedup_key, incident.status))
    return found


TRIGGERED, ACKNOWLEDGED = IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED


async def test_an_acknowledgement_acknowledges_every_incident_the_alert_fires_in(
    router: Router,
) -> None:
    await send(router, alert("srv01/mysql"))
    await send(router, ack("srv01/mysql"))
    store = router.store
    assert await statuses(store) == [
        ("audit", "srv01/mysql", ACKNOWLEDGED),
        ("db", "srv01/mysql", ACKNOWLEDGED),
    ]
    for incident in await store.list():
        acknowledged = (incident.acknowledged_by, incident.acknowledged_at)
        assert acknowledged == (WHO, T0 + timedelta(minutes=1))
        timeline = await store.timeline(incident.id)
        assert (timeline[-1].kind, timeline[-1].person) == (TimelineKind.ACKNOWLEDGED, WHO)
    await store.events.ensure_group("probe")
    events = await store.events.read("probe", "probe", count=100, block=None)
    kinds = [entry.model.kind for entry in events if entry.model is not None]
    assert kinds.count(IncidentEventKind.ACKNOWLEDGED) == 2


async def test_an_acknowledgement_after_its_trigger_in_one_batch_finds_the_incident(
    router: Router,
) -> None:
    await send(router, alert("srv01/mysql"), ack("srv01/mysql"), alert("srv02/mysql"))
    assert await statuses(router.store) == [
        ("audit", "srv01/mysql", ACKNOWLEDGED),
        ("db", "srv01/mysql", ACKNOWLEDGED),
        # After the acknowledgement: its own incident on the audit route is not acknowledged.
        ("audit", "srv02/mysql", TRIGGERED),
    ]
    db = next(i for i in await router.store.list() if i.route == "db")
    assert db.alerts_total == 2


async def test_an_acknowledgement_before_its_trigger_changes_nothing(router: Router) -> None:
    await send(router, ack("srv01/mysql"), alert("srv01/mysql"))
    assert {status for *_, status in await statuses(router.store)} == {TRIGGERED}


async def test_an_unknown_alert_is_handled_and_changes_nothing(
    router: Router, registry: CollectorRegistry
) -> None:
    await send(router, alert("srv01/mysql"))
    # Another alert of the same group, and an acknowledgement whose trigger nobody knows.
    await send(router, ack("srv02/mysql"), ack("srv03/mysql", component=None))
    assert {status for *_, status in await statuses(router.store)} == {TRIGGERED}
    counted = registry.get_sample_value("tocsin_router_alerts_total", {"outcome": "ignored"})
    assert counted == 2


async def test_an_alert_that_resolved_acknowledges_nothing(router: Router) -> None:
    # Two alerts in the db group: one resolves, the incident stays open on the other.
    await send(router, alert("srv01/mysql"), alert("srv02/mysql"))
    await send(router, alert("srv01/mysql", AlertStatus.RESOLVED, T0 + timedelta(seconds=30)))
    await send(router, ack("srv01/mysql"))
    assert await statuses(router.store) == [
        ("audit", "srv01/mysql", IncidentStatus.RESOLVED),
        ("db", "srv01/mysql", TRIGGERED),
        ("audit", "srv02/mysql", TRIGGERED),
    ]


async def test_an_earlier_acknowledgement_is_kept(router: Router) -> None:
    await send(router, alert("srv01/mysql"))
    (audit,) = [i for i in await router.store.list() if i.route == "audit"]
    await router.store.acknowledge(audit.id, "alice", T0 + timedelta(seconds=10))
    await send(router, ack("srv01/mysql"))
    incident = await router.store.get(audit.id)
    assert incident is not None
    assert (incident.acknowledged_by, incident.status) == ("alice", ACKNOWLEDGED)


async def test_an_acknowledgement_never_reaches_the_alert_script(router: Router) -> None:
    (result,) = await router.store.apply_alerts([(ack("srv01/mysql"), None)], ROUTING)
    assert isinstance(result, ValueError)
    assert await router.store.list() == []
