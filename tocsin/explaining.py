"""What ``tocsin explain``, ``POST /api/v1/explain`` and ``tocsin test routes`` share around
the pure core (``notifier.explain``): the instant asked about, and (not offline) the store's
live facts."""

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ingest.models import Alert
from router.config import RoutingConfig
from router.explain import Facts, group_keys
from router.silence_store import SilenceStore
from router.store import IncidentStore
from schedules.oncall import Cover
from schedules.override_store import OverrideStore

NO_OFFSET_NOTE = "the time has no UTC offset: read as UTC"


def parse_at(text: str | None, now: datetime) -> tuple[datetime, list[str]]:
    """The instant ISO 8601 ``text`` names (``now`` when ``None``), and a note when it had
    no offset and was read as UTC. ``ValueError`` says how to write one."""
    if text is None:
        return now, []
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: write ISO 8601, e.g. 2026-03-02T03:00:00Z or "
            "2026-03-02T04:00+01:00"
        ) from None
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC), [NO_OFFSET_NOTE]
    return at, []


async def live_facts(
    redis: Redis, routing: RoutingConfig, alerts: Sequence[Alert], now: datetime
) -> Facts:
    """The silences, the inhibition groups with a firing source that would hold one of
    ``alerts``, and the open incidents they would join; a store that does not answer is
    said, not raised."""
    store = IncidentStore(redis)
    try:
        silences = await SilenceStore(redis).all(now)
        firing = set()
        for alert in alerts:
            group = await store.inhibiting(routing.inhibit_rules, alert.labels)
            if group is not None:
                firing.add(group)
        wanted = list(dict.fromkeys(k for alert in alerts for k in group_keys(alert, routing)))
        open_incidents = await store.open_incidents(wanted)
    except (RedisError, OSError) as error:
        return Facts(unchecked=f"store unreachable ({error})")
    return Facts(silences=silences, firing_groups=frozenset(firing), open_incidents=open_incidents)


async def live_covers(
    redis: Redis, schedules: Collection[str], now: datetime
) -> dict[str, list[Cover]]:
    """The schedules' stored overrides, so an explanation names who a page would reach;
    none when the store does not answer (``live_facts`` says so)."""
    try:
        return await OverrideStore(redis).covers_of(schedules, now)
    except (RedisError, OSError):
        return {}
