import io
from datetime import UTC, datetime

import pytest

from notifier.channels import AlertSummary, Notification
from notifier.channels.console import ConsoleChannel
from notifier.config import Person
from router.config import Severity
from router.models import IncidentStatus

ALICE = Person(name="Alice Smith", console=True)
PAGE = Notification(
    kind="page",
    incident_id="12",
    title="Disk full on db-1",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=2,
    person="alice",
    person_name="Alice Smith",
    ack_url="http://tocsin.test/ack/v1.abc.def",
    alerts=(AlertSummary(summary="Disk 98% full", labels={"host": "db-1"}, count=3),),
    alerts_omitted=4,
)


async def test_prints_a_readable_block_with_the_link() -> None:
    out = io.StringIO()
    channel = ConsoleChannel(out)

    result = await channel.send(ALICE, PAGE)

    assert result.ok
    text = out.getvalue()
    assert "[SEV1] Tocsin #12: Disk full on db-1" in text
    assert "To: Alice Smith (alice)" in text
    assert "escalation level 2" in text
    assert "Acknowledge: http://tocsin.test/ack/v1.abc.def" in text
    assert "Disk 98% full x3 [host=db-1]" in text
    assert "... and 4 more" in text
    assert text.endswith("=" * 72 + "\n")


async def test_resolved_notice() -> None:
    out = io.StringIO()
    note = PAGE.model_copy(
        update={"kind": "resolved", "status": IncidentStatus.RESOLVED, "ack_url": None}
    )

    assert (await ConsoleChannel(out).send(ALICE, note)).ok

    text = out.getvalue()
    assert "[RESOLVED] Tocsin #12: Disk full on db-1" in text
    assert "no action needed" in text
    assert "Acknowledge" not in text


async def test_severity_raised_notice() -> None:
    out = io.StringIO()
    note = PAGE.model_copy(
        update={"kind": "severity_raised", "status": IncidentStatus.ACKNOWLEDGED, "ack_url": None}
    )

    assert (await ConsoleChannel(out).send(ALICE, note)).ok

    text = out.getvalue()
    assert "[NOW SEV1] Tocsin #12: Disk full on db-1" in text
    assert "Incident #12, which you acknowledged, is now SEV1" in text
    assert "Acknowledge" not in text


async def test_reaches_only_people_with_console_on() -> None:
    channel = ConsoleChannel(io.StringIO())
    assert channel.reaches(ALICE)
    assert not channel.reaches(Person(name="Bob"))
    result = await channel.send(Person(name="Bob"), PAGE)
    assert (result.ok, result.retryable) == (False, False)


async def test_closed_stream_is_a_permanent_failure() -> None:
    out = io.StringIO()
    out.close()
    result = await ConsoleChannel(out).send(ALICE, PAGE)
    assert (result.ok, result.retryable) == (False, False)


@pytest.mark.parametrize(
    ("update", "headline", "says"),
    [
        (
            {"kind": "assigned", "level": None, "by": "Bob"},
            "[SEV1] Tocsin #12",
            "Alice Smith, Bob handed this incident to you.",
        ),
        (
            {"kind": "escalated", "by": "Bob", "ack_url": None},
            "[ESCALATED] Tocsin #12",
            "Incident #12 was escalated by Bob: level 2 is paged.",
        ),
        (
            {
                "kind": "snoozed",
                "by": "Bob",
                "until": datetime(2026, 3, 2, 12, 15, tzinfo=UTC),
                "status": IncidentStatus.ACKNOWLEDGED,
                "ack_url": None,
            },
            "[SNOOZED] Tocsin #12",
            "snoozed by Bob; it pages again at 2026-03-02 12:15:00 UTC unless resolved by then.",
        ),
        (
            {"kind": "reassigned", "by": "Bob", "assigned_to": "Carol", "ack_url": None},
            "[REASSIGNED] Tocsin #12",
            "Incident #12 was handed to Carol by Bob.",
        ),
    ],
    ids=["assigned", "escalated", "snoozed", "reassigned"],
)
async def test_what_someone_did_from_the_incident_page(
    update: dict[str, object], headline: str, says: str
) -> None:
    out = io.StringIO()

    assert (await ConsoleChannel(out).send(ALICE, PAGE.model_copy(update=update))).ok

    text = out.getvalue()
    assert headline in text
    assert says in text
    assert ("Acknowledge: http" in text) == (update["kind"] == "assigned")
