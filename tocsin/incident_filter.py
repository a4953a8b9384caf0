"""Which incidents ``GET /api/v1/incidents`` lists when asked for a status, severity, route,
service or creation time, and where a page continues (``cursor``): parsed from the query
once, so a bad value is refused before the store is read."""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from router.config import Severity
from router.index_reader import Position, Window
from router.models import Incident, IncidentStatus
from tocsin.explaining import parse_at

OPEN = "open"
"""Not resolved: triggered or acknowledged."""
STATUSES = (OPEN, *(s.value for s in IncidentStatus))
_MEMBER_DIGITS = 20
"""Index members are ids zero-padded to this many digits (``router.keys.INCIDENT_INDEX``)."""
_MAX_MS = 10**15
"""Past year 30,000: no incident was created later, and a float holds it exactly."""


class BadFilter(ValueError):
    """A query value no incident could have (the message names the parameter)."""


@dataclass(frozen=True)
class IncidentFilter:
    statuses: frozenset[IncidentStatus] | None = None
    severity: Severity | None = None
    route: str | None = None
    service: str | None = None
    """The incident's ``service``, as its route names it."""
    window: Window = field(default_factory=Window)
    """Read from the index by score, not matched incident by incident."""

    @property
    def everything(self) -> bool:
        """Every incident of the window is chosen: no head needs looking at."""
        return (
            self.statuses is None
            and self.severity is None
            and self.route is None
            and self.service is None
        )

    def matches(self, incident: Incident) -> bool:
        return (
            (self.statuses is None or incident.status in self.statuses)
            and (self.severity is None or incident.severity is self.severity)
            and (self.route is None or incident.route == self.route)
            and (self.service is None or incident.service == self.service)
        )


def parse_filter(query: Mapping[str, str]) -> IncidentFilter:
    status = query.get("status")
    severity = query.get("severity")
    if status is not None and status not in STATUSES:
        raise BadFilter(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    if severity is not None and severity not in {s.value for s in Severity}:
        choices = ", ".join(s.value for s in Severity)
        raise BadFilter(f"severity must be one of {choices}, not {severity!r}")
    if status is None:
        statuses = None
    elif status == OPEN:
        statuses = frozenset({IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED})
    else:
        statuses = frozenset({IncidentStatus(status)})
    window = Window(_instant(query, "since"), _instant(query, "until"))
    if window.since is not None and window.until is not None and window.since >= window.until:
        raise BadFilter("since must be before until")
    return IncidentFilter(
        statuses,
        Severity(severity) if severity is not None else None,
        query.get("route"),
        query.get("service"),
        window,
    )


def _instant(query: Mapping[str, str], name: str) -> datetime | None:
    """ISO 8601, as the reports read it: without an offset, UTC."""
    text = query.get(name)
    if text is None:
        return None
    try:
        at, _ = parse_at(text, datetime.min)
    except ValueError as error:
        raise BadFilter(f"{name}: {error}") from None
    return at


def cursor_text(position: Position) -> str:
    """Opaque to clients: what it holds may change; that it continues a listing won't."""
    raw = f"{position.created_ms}:{position.member}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(text: str) -> Position:
    refused = BadFilter("cursor: not a cursor this API gave; start again without one")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise refused from None
    created, _, member = raw.partition(":")
    if not (
        created.isascii()
        and created.isdigit()
        and len(created) <= len(str(_MAX_MS))
        and int(created) < _MAX_MS
        and member.isascii()
        and member.isdigit()
        and len(member) == _MEMBER_DIGITS
    ):
        raise refused
    return Position(int(created), member)
