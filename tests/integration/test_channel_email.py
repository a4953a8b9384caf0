import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from notifier.channels import AlertLink, AlertSummary, Notification
from notifier.channels.email import EmailChannel
from notifier.config import Person, SmtpConfig
from router.config import Severity
from router.models import IncidentStatus
from tests.conftest import ManualClock

ACK = "https://tocsin.example.com/ack/v1.WyIxMiIsImFsaWNlIiwxNzcyNDU2NDAwXQ.qodPL0JgTvnubYN2HYx6EQ"
ALICE = Person(name="Alice <Ops>", email="alice@example.com")
PAGE = Notification(
    kind="page",
    incident_id="12",
    title="Disk <full> & slow",
    severity=Severity.SEV1,
    status=IncidentStatus.TRIGGERED,
    level=1,
    person="alice",
    person_name="Alice <Ops>",
    ack_url=ACK,
    alerts=(AlertSummary(summary="Disk 98% <full>", labels={"host": "db-1"}),),
)


class Mailbox:
    """aiosmtpd handler: keeps every message, refuses recipients whose local part is a reply
    code (``450@example.com`` gets ``450``)."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.authenticated: list[bool] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        local = address.partition("@")[0]
        if local.isdigit():
            return f"{local} refused for the test"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.authenticated.append(session.authenticated)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(**options: Any) -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with serving() as served:
        yield served


def check_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    good = (auth_data.login, auth_data.password) == (b"tocsin", b"s3cret")
    # handled=False: aiosmtpd then sends the 535 reply itself.
    return AuthResult(success=good, handled=False)


@pytest.fixture
def guarded_mailbox() -> Iterator[tuple[Mailbox, int]]:
    with serving(authenticator=check_login, auth_require_tls=False) as served:
        yield served


@pytest.mark.parametrize("title", ["Disk full", "Disque plein à 98 % — «db-1»"])
async def test_link_is_unbroken_in_the_raw_message(
    mailbox: tuple[Mailbox, int], clock: ManualClock, title: str
) -> None:
    """Soft line breaks would cut the link for anything showing the raw mail."""
    box, port = mailbox

    note = PAGE.model_copy(update={"title": title})

    assert (await channel_for(port, clock).send(ALICE, note)).ok

    [envelope] = box.envelopes
    assert ACK.encode() in envelope.content


def channel_for(port: int, clock: ManualClock) -> EmailChannel:
    config = SmtpConfig(host="127.0.0.1", port=port, sender="tocsin@example.com")
    return EmailChannel(config, clock)


async def test_page_mail(mailbox: tuple[Mailbox, int], clock: ManualClock) -> None:
    box, port = mailbox

    result = await channel_for(port, clock).send(ALICE, PAGE)

    assert result.ok, result.detail
    [envelope] = box.envelopes
    assert envelope.mail_from == "tocsin@example.com"
    assert envelope.rcpt_tos == ["alice@example.com"]
    [message] = box.messages()
    assert message["Subject"] == "[SEV1] Tocsin #12: Disk <full> & slow"
    assert message["To"] == "alice@example.com"
    assert message["Date"] == "Mon, 02 Mar 2026 12:00:00 +0000"
    assert message["Message-ID"].endswith("@example.com>")

    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    plain, markup = text.get_content(), html.get_content()
    assert f"Acknowledge: {ACK}" in plain
    assert "Disk 98% <full> [host=db-1]" in plain
    assert f'<a href="{ACK}"' in markup
    assert "Disk &lt;full&gt; &amp; slow" in markup
    assert "Alice &lt;Ops&gt;" in markup
    assert "<full>" not in markup
    # The link comes before the details in both parts.
    assert plain.index(ACK) < plain.index("Severity")
    assert markup.index(ACK) < markup.index("Severity")


async def test_resolved_mail(mailbox: tuple[Mailbox, int], clock: ManualClock) -> None:
    box, port = mailbox
    note = PAGE.model_copy(
        update={"kind": "resolved", "status": IncidentStatus.RESOLVED, "ack_url": None}
    )

    assert (await channel_for(port, clock).send(ALICE, note)).ok

    [message] = box.messages()
    assert message["Subject"] == "[RESOLVED] Tocsin #12: Disk <full> & slow"
    assert "Acknowledge" not in message.as_string()


async def test_severity_raised_mail(mailbox: tuple[Mailbox, int], clock: ManualClock) -> None:
    box, port = mailbox
    note = PAGE.model_copy(
        update={"kind": "severity_raised", "status": IncidentStatus.ACKNOWLEDGED, "ack_url": None}
    )

    assert (await channel_for(port, clock).send(ALICE, note)).ok

    [message] = box.messages()
    assert message["Subject"] == f"[NOW {PAGE.severity.value}] Tocsin #12: Disk <full> & slow"
    raw = message.as_string()
    assert "which you acknowledged, is now" in raw
    assert "Acknowledge" not in raw


@pytest.mark.parametrize(("code", "retryable"), [("450", True), ("550", False)])
async def test_refused_recipient(
    mailbox: tuple[Mailbox, int], clock: ManualClock, code: str, retryable: bool
) -> None:
    _, port = mailbox
    person = Person(name="X", email=f"{code}@example.com")

    result = await channel_for(port, clock).send(person, PAGE)

    assert (result.ok, result.retryable) == (False, retryable)
    assert code in result.detail


async def test_closed_port_is_retryable(clock: ManualClock) -> None:
    result = await channel_for(free_port(), clock).send(ALICE, PAGE)
    assert (result.ok, result.retryable) == (False, True)


async def test_starttls_unsupported_is_not_retryable(
    mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    _, port = mailbox
    config = SmtpConfig(host="127.0.0.1", port=port, sender="t@example.com", starttls=True)

    result = await EmailChannel(config, clock).send(ALICE, PAGE)

    assert (result.ok, result.retryable) == (False, False)


@pytest.mark.parametrize(("password", "ok"), [("s3cret", True), ("wrong", False)])
async def test_logs_in_when_a_username_is_given(
    guarded_mailbox: tuple[Mailbox, int], clock: ManualClock, password: str, ok: bool
) -> None:
    box, port = guarded_mailbox
    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        sender="tocsin@example.com",
        username="tocsin",
        password=password,
    )

    result = await EmailChannel(config, clock).send(ALICE, PAGE)

    assert (result.ok, result.retryable) == (ok, False)
    assert box.authenticated == ([True] if ok else [])


def test_reaches_only_people_with_an_address(clock: ManualClock) -> None:
    channel = channel_for(25, clock)
    assert channel.reaches(ALICE)
    assert not channel.reaches(Person(name="Bob", console=True))


async def test_alert_text_is_escaped_and_its_links_are_links(
    mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    """Labels and annotations come from senders: they are shown, never run."""
    box, port = mailbox
    hostile = AlertSummary(
        summary="<script>alert(1)</script>",
        labels={"team": '"><img src=x onerror=alert(2)>'},
        links=(
            AlertLink(title="Runbook", url="https://wiki.example/run?a=1&b=<2>"),
            AlertLink(title="Dashboard", url="https://grafana.example/d/x"),
        ),
    )
    note = PAGE.model_copy(update={"alerts": (hostile,)})

    assert (await channel_for(port, clock).send(ALICE, note)).ok

    [message] = box.messages()
    html = message.get_body(("html",))
    plain = message.get_body(("plain",))
    assert html is not None
    assert plain is not None
    markup = html.get_content()
    assert "<script>" not in markup
    assert "<img" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert '<a href="https://wiki.example/run?a=1&amp;b=&lt;2&gt;">Runbook</a>' in markup
    assert '<a href="https://grafana.example/d/x">Dashboard</a>' in markup
    assert "Runbook: https://wiki.example/run?a=1&b=<2>" in plain.get_content()
