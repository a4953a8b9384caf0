"""The messages chat channels send, built without any chat tool: what they hold, how alert
text is escaped, and that Slack's size limits are never crossed."""

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingest.models import AlertStatus
from notifier.channels import AlertLink, AlertSummary, Notification, alert_links
from notifier.channels.blockkit import HEADER_LIMIT, SECTION_LIMIT, bulleted, message
from notifier.channels.render import MARKDOWN, SLACK, markdown_body
from notifier.channels.teams import CARD_TYPE, teams_message
from router.config import Severity
from router.models import AlertRecord, IncidentStatus

ACK = "https://tocsin.example.com/ack/v1.abc.def"
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

PAGE = Notification(
    kind="page",
    incident_id="12",
    title="Checkout <errors> & *timeouts*",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="alice",
    person_name="Alice",
    ack_url=ACK,
    alerts=(
        AlertSummary(
            summary="Error rate 7% <script>",
            labels={"service": "payments"},
            links=(AlertLink(title="Runbook", url="https://wiki.example/checkout|errors"),),
        ),
    ),
    alerts_omitted=3,
)
RESOLVED = PAGE.model_copy(
    update={"kind": "resolved", "status": IncidentStatus.RESOLVED, "ack_url": None}
)


def record(annotations: dict[str, str], generator_url: str | None = None) -> AlertRecord:
    return AlertRecord(
        dedup_key="k",
        status=AlertStatus.FIRING,
        summary="s",
        labels={},
        annotations=annotations,
        generator_url=generator_url,
        severity=Severity.SEV2,
        first_seen=AT,
        last_seen=AT,
    )


def test_an_alert_links_its_runbook_dashboard_and_source() -> None:
    links = alert_links(
        record(
            {"runbook_url": "https://wiki/r", "dashboard_url": "http://grafana/d", "x": "y"},
            generator_url="https://prometheus/graph",
        )
    )
    assert [(link.title, link.url) for link in links] == [
        ("Runbook", "https://wiki/r"),
        ("Dashboard", "http://grafana/d"),
        ("Source", "https://prometheus/graph"),
    ]


def test_only_http_links_are_kept() -> None:
    """A sender's ``javascript:`` runbook must not become a button."""
    links = alert_links(record({"runbook_url": "javascript:alert(1)"}, "file:///etc/passwd"))
    assert links == ()


def buttons_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (element["text"]["text"], element["url"])
        for block in body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_a_slack_page_has_its_headline_alerts_and_an_acknowledge_button() -> None:
    body = message(PAGE)

    assert body["text"] == "[SEV1] Tocsin #12: Checkout <errors> & *timeouts*"
    header, lead, alerts, _ = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": body["text"], "emoji": False},
    }
    assert lead["text"]["text"] == "Alice, you are paged (escalation level 1)."
    assert [f["text"] for f in lead["fields"]] == ["*Severity*\nSEV1", "*Status*\ntriggered"]
    assert alerts["text"]["text"] == (
        "• Error rate 7% &lt;script&gt; [service=payments]"
        " (<https://wiki.example/checkout%7Cerrors|Runbook>)\n"
        "• ... and 3 more"
    )
    assert buttons_of(body) == [("Acknowledge", ACK)]


def test_a_resolved_notice_offers_nothing_to_click() -> None:
    body = message(RESOLVED)
    assert buttons_of(body) == []
    assert body["text"].startswith("[RESOLVED] Tocsin #12")


def test_a_long_title_is_cut_to_slacks_header_limit() -> None:
    body = message(PAGE.model_copy(update={"title": "x" * 500}))
    assert len(body["blocks"][0]["text"]["text"]) == HEADER_LIMIT


@given(st.lists(st.text(max_size=4000), max_size=30), st.integers(min_value=200, max_value=3000))
def test_a_bulleted_list_never_exceeds_its_limit(items: list[str], limit: int) -> None:
    text = bulleted(items, limit)
    assert len(text) <= limit
    if items and len(text) < limit and not text.endswith("more items"):
        assert text.count("• ") >= len(items)


def test_a_list_too_long_for_a_section_ends_saying_how_many_were_left_out() -> None:
    text = bulleted([f"alert {n} " + "x" * 400 for n in range(20)], SECTION_LIMIT)
    assert len(text) <= SECTION_LIMIT
    assert text.endswith("more items")
    assert "alert 0 " in text


def test_slack_escapes_only_its_three_control_characters() -> None:
    assert SLACK.escape("a<b>&c *d*") == "a&lt;b&gt;&amp;c *d*"


def test_markdown_shows_alert_text_as_written() -> None:
    assert MARKDOWN.escape("*x* [y](z) <b>") == r"\*x\* \[y\](z) \<b\>"


def test_the_markdown_message() -> None:
    assert markdown_body(PAGE) == (
        r"**\[SEV1\] Tocsin #12: Checkout \<errors\> & \*timeouts\***"
        "\nAlice, you are paged (escalation level 1)."
        f"\n**[Acknowledge]({ACK})**"
        "\nSeverity: SEV1 · Status: triggered\n\n"
        r"- Error rate 7% \<script\> \[service=payments\]"
        " ([Runbook](https://wiki.example/checkout|errors))"
        "\n- ... and 3 more"
    )


def test_the_teams_card() -> None:
    body = teams_message(PAGE)

    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == CARD_TYPE
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": ACK}]
    texts = [block.get("text") for block in card["body"]]
    assert texts[0] == r"\[SEV1\] Tocsin #12: Checkout \<errors\> & \*timeouts\*"
    facts = next(block["facts"] for block in card["body"] if block["type"] == "FactSet")
    assert facts == [
        {"title": "Severity", "value": "SEV1"},
        {"title": "Status", "value": "triggered"},
    ]
    assert teams_message(RESOLVED)["attachments"][0]["content"]["actions"] == []
