"""Incident reports over a time range: how fast people respond and what makes the noise.

Pure: the store gathers the incidents opened in the range (``IncidentStore.reviewed``), each
reduced with its timeline to a ``Reviewed``; ``report`` only counts.

How incidents count, written down because every number depends on it:

- An incident belongs to the range in which it was *opened* (``created_at`` in
  ``[start, end)``); what happened to it later, up to ``now``, counts too. A report of last
  week therefore includes acknowledgements made this morning of last week's incidents.
- Volume (``incidents``, the counts by severity, service, route and day) counts every
  incident in the range, open or not.
- MTTA is the mean of created → *first* acknowledgement over the incidents acknowledged at
  least once (a reopening clears the head's acknowledgement; the timeline keeps the first).
  MTTR is the mean of created → resolved over resolved incidents: open ones have no time to
  resolve yet and are left out, not counted as zero or as ``now``. A reopened incident
  counts once, to its last resolution.
- Escalation rate: the share of incidents whose timeline escalated past level 1.
- Response targets (SEV1 5 min, SEV2 15 min, SEV3 1 h, SEV4 8 h unless ``response_targets``
  says otherwise): for each severity, the share of *decided* incidents first acknowledged
  within the target. An incident is decided once acknowledged or once its target has passed
  (``now`` later than created + target); one unacknowledged and still inside its target is
  pending and counted apart. Resolved without anyone acknowledging it counts as missed:
  nobody responded.
- Noisiest: alerts by the title of the incidents they opened (incidents, then distinct
  alerts), routes the same way; the first ``NOISIEST`` of each.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from router.config import Severity
from router.models import Incident, TimelineEvent, TimelineKind

DEFAULT_RESPONSE_TARGETS: Mapping[Severity, timedelta] = {
    Severity.SEV1: timedelta(minutes=5),
    Severity.SEV2: timedelta(minutes=15),
    Severity.SEV3: timedelta(hours=1),
    Severity.SEV4: timedelta(hours=8),
}
NOISIEST = 10
NO_SERVICE = "(none)"
"""The service of incidents whose route names none."""


@dataclass(frozen=True)
class Reviewed:
    """An incident head with the two facts a report needs from its timeline."""

    incident: Incident
    first_acknowledged_at: datetime | None
    escalated: bool


def review(incident: Incident, timeline: Iterable[TimelineEvent]) -> Reviewed:
    """Level 1 of a later round is a repeat of the policy, not an escalation past level 1."""
    first_ack: datetime | None = None
    escalated = False
    for event in timeline:
        if event.kind is TimelineKind.ACKNOWLEDGED and first_ack is None:
            first_ack = event.at
        elif event.kind is TimelineKind.ESCALATED and (event.level or 0) > 1:
            escalated = True
    return Reviewed(incident, first_ack or incident.acknowledged_at, escalated)


class TargetShare(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target_seconds: float
    decided: int
    met: int
    pending: int
    share: float | None
    """``met / decided``; ``None`` when nothing is decided."""


class Noisy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    incidents: int
    alerts: int


class DayCount(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    day: date
    """UTC day."""
    by_severity: dict[Severity, int]


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime
    end: datetime
    incidents: int
    open: int
    acknowledged: int
    resolved: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    escalation_rate: float | None
    by_severity: dict[Severity, int]
    by_service: dict[str, int]
    by_route: dict[str, int]
    response_targets: dict[Severity, TargetShare]
    noisiest_alerts: list[Noisy]
    noisiest_routes: list[Noisy]
    per_day: list[DayCount]
    """Every UTC day the range touches, oldest first, empty days included."""


def report(
    reviewed: Sequence[Reviewed],
    start: datetime,
    end: datetime,
    now: datetime,
    targets: Mapping[Severity, timedelta] = DEFAULT_RESPONSE_TARGETS,
) -> Report:
    """Incidents opened outside ``[start, end)`` are ignored, so a caller may over-read."""
    mine = [r for r in reviewed if start <= r.incident.created_at < end]
    heads = [r.incident for r in mine]
    acked = [r for r in mine if r.first_acknowledged_at is not None]
    resolved = [i for i in heads if i.resolved_at is not None]
    return Report(
        start=start,
        end=end,
        incidents=len(mine),
        open=len(heads) - len(resolved),
        acknowledged=len(acked),
        resolved=len(resolved),
        mtta_seconds=_mean(
            r.first_acknowledged_at - r.incident.created_at
            for r in acked
            if r.first_acknowledged_at is not None
        ),
        mttr_seconds=_mean(i.resolved_at - i.created_at for i in resolved if i.resolved_at),
        escalation_rate=_share(sum(r.escalated for r in mine), len(mine)),
        by_severity={s: sum(i.severity is s for i in heads) for s in Severity},
        by_service=_ranked(Counter(i.service or NO_SERVICE for i in heads)),
        by_route=_ranked(Counter(i.route for i in heads)),
        response_targets={s: _target_share(mine, s, targets[s], now) for s in Severity},
        noisiest_alerts=_noisiest(heads, lambda i: i.title),
        noisiest_routes=_noisiest(heads, lambda i: i.route),
        per_day=_per_day(heads, start, end),
    )


def _target_share(
    reviewed: Sequence[Reviewed], severity: Severity, target: timedelta, now: datetime
) -> TargetShare:
    decided = met = pending = 0
    for r in reviewed:
        if r.incident.severity is not severity:
            continue
        deadline = r.incident.created_at + target
        if r.first_acknowledged_at is not None:
            decided += 1
            met += r.first_acknowledged_at <= deadline
        elif now > deadline:
            decided += 1
        else:
            pending += 1
    return TargetShare(
        target_seconds=target.total_seconds(),
        decided=decided,
        met=met,
        pending=pending,
        share=_share(met, decided),
    )


def _noisiest(heads: Sequence[Incident], name: Callable[[Incident], str]) -> list[Noisy]:
    incidents: Counter[str] = Counter()
    alerts: Counter[str] = Counter()
    for incident in heads:
        incidents[name(incident)] += 1
        alerts[name(incident)] += incident.alerts_total
    ranked = sorted(incidents, key=lambda n: (-incidents[n], -alerts[n], n))
    return [Noisy(name=n, incidents=incidents[n], alerts=alerts[n]) for n in ranked[:NOISIEST]]


def _per_day(heads: Sequence[Incident], start: datetime, end: datetime) -> list[DayCount]:
    counts: Counter[tuple[date, Severity]] = Counter(
        (_utc_day(i.created_at), i.severity) for i in heads
    )
    first, last = _utc_day(start), _utc_day(end - timedelta(microseconds=1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayCount(day=day, by_severity={s: counts[day, s] for s in Severity}) for day in days]


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Most first, then by name, so the JSON reads as a ranking and never reorders."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _mean(durations: Iterable[timedelta]) -> float | None:
    seconds = [d.total_seconds() for d in durations]
    return sum(seconds) / len(seconds) if seconds else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
