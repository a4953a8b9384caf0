"""When an incident may page, by its severity and its route's support hours."""

from datetime import UTC, datetime

import pytest

from notifier.urgency import page_time
from router.config import Severity
from schedules.weekly import WeeklyWindow

OFFICE = [
    WeeklyWindow(
        timezone="Europe/Berlin",
        days=["mon", "tue", "wed", "thu", "fri"],
        start="09:00",
        end="17:00",
    )
]
MONDAY_NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
MONDAY_NIGHT = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)
TUESDAY_MORNING = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 in Berlin


@pytest.mark.parametrize(
    ("severity", "hours", "now", "pages_at"),
    [
        (Severity.SEV1, OFFICE, MONDAY_NIGHT, MONDAY_NIGHT),
        (Severity.SEV2, OFFICE, MONDAY_NIGHT, MONDAY_NIGHT),
        (Severity.SEV3, OFFICE, MONDAY_NOON, MONDAY_NOON),
        (Severity.SEV3, OFFICE, MONDAY_NIGHT, TUESDAY_MORNING),
        (Severity.SEV3, [], MONDAY_NIGHT, MONDAY_NIGHT),  # no support hours: any hour
        (Severity.SEV4, OFFICE, MONDAY_NOON, None),
        (Severity.SEV4, [], MONDAY_NIGHT, None),
    ],
)
def test_when_an_incident_may_page(
    severity: Severity, hours: list[WeeklyWindow], now: datetime, pages_at: datetime | None
) -> None:
    assert page_time(severity, hours, now) == pages_at
