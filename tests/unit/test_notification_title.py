"""A notification's title: the incident's, and for a storm, what it took in."""

from datetime import UTC, datetime

import pytest

from notifier.channels import title
from router.config import Severity
from router.models import Incident, Storm


def incident(storm: Storm | None) -> Incident:
    return Incident(
        id="7",
        title="alert storm on infra" if storm else "disk full on web-1",
        severity=Severity.SEV2,
        route="infra",
        policy="ops",
        group_key="storm:infra" if storm else "0" * 32,
        created_at=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        storm=storm,
    )


@pytest.mark.parametrize(
    ("storm", "expected"),
    [
        (None, "disk full on web-1"),
        (Storm(limit=3, groups=1, listed=["host=a"]), "alert storm on infra: 1 group, e.g. host=a"),
        (
            Storm(limit=3, groups=2, listed=["host=a", "host=b"]),
            "alert storm on infra: 2 groups, e.g. host=a, host=b",
        ),
        (
            Storm(limit=50, groups=312, listed=["host=a", "host=b"]),
            "alert storm on infra: 312 groups, e.g. host=a, host=b, ...",
        ),
    ],
)
def test_a_storm_title_counts_its_groups_and_names_the_first(
    storm: Storm | None, expected: str
) -> None:
    assert title(incident(storm)) == expected
