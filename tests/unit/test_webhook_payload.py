"""The webhook's body is written by pydantic in one pass: it must read exactly as the
notification's fields as JSON, with the ``text`` line last, whatever the alert text holds."""

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from notifier.channels import AlertSummary, Notification
from notifier.channels.render import headline
from notifier.channels.webhook import payload
from router.config import Severity
from router.models import IncidentStatus


@given(
    title=st.text(),
    summary=st.text(),
    labels=st.dictionaries(st.text(), st.text(), max_size=3),
    ack_url=st.none() | st.just("https://tocsin.example.com/ack/v2.a.b"),
)
def test_the_body_is_the_notification_and_its_text_line(
    title: str, summary: str, labels: dict[str, str], ack_url: str | None
) -> None:
    note = Notification(
        kind="page",
        incident_id="12",
        title=title,
        severity=Severity.SEV1,
        status=IncidentStatus.TRIGGERED,
        level=1,
        person="alice",
        person_name="Alice Ünal",
        ack_url=ack_url,
        alerts=(AlertSummary(summary=summary, labels=labels),),
        until=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    )

    body = json.loads(payload(note))

    text = f"{headline(note)}\n{ack_url}" if ack_url else headline(note)
    assert body == {**note.model_dump(mode="json"), "text": text}
    assert list(body)[-1] == "text"
