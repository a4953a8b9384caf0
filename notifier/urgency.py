"""How urgent an incident is by its severity: whether it may page now, later or never.

- SEV1, SEV2: at once, at any hour.
- SEV3: at once inside its route's support hours (or when the route has none), else when
  they next start.
- SEV4: never; the incident is recorded for working hours, nobody is woken.
"""

from collections.abc import Sequence
from datetime import datetime

from router.config import Severity
from schedules.weekly import WeeklyWindow, inside, next_start


def pages_nobody(severity: Severity) -> bool:
    return severity is Severity.SEV4


def page_time(
    severity: Severity, support_hours: Sequence[WeeklyWindow], now: datetime
) -> datetime | None:
    """When an incident of ``severity`` may page: ``now`` (at once), a later instant (the
    next start of support hours), or ``None`` (never)."""
    if pages_nobody(severity):
        return None
    if severity is Severity.SEV3 and support_hours and not inside(support_hours, now):
        return next_start(support_hours, now)
    return now
