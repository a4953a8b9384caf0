"""Email through an SMTP relay: a plain-text part and an HTML alternative, ack link first."""

from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape

import aiosmtplib

from ingest.clock import Clock
from notifier.channels import ACTION_KINDS, DeliveryResult, Notification
from notifier.channels.render import HTML, alert_items, call, headline, notice, text_body
from notifier.config import Person, SmtpConfig

_POLICY = policy.SMTP.clone(max_line_length=998)
"""SMTP's hard line limit instead of its 78-character advice: the body is then sent as is or
quoted-printable with lines that long, so an ack link is never cut by a soft line break and
stays clickable wherever the raw message is shown (text-to-SMS gateways, plain mail tools)."""

_BUTTON_STYLE = (
    "display:inline-block;padding:12px 24px;background:#b71c1c;color:#ffffff;"
    "font-weight:bold;text-decoration:none;border-radius:4px"
)


class EmailChannel:
    name = "email"

    def __init__(self, config: SmtpConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        # make_msgid() would otherwise resolve this host's FQDN, a DNS lookup per message.
        self._msgid_domain = config.sender.rpartition("@")[2] or "tocsin"

    def reaches(self, person: Person) -> bool:
        return person.email is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if person.email is None:
            return DeliveryResult.failed("no email address", retryable=False)
        return await self.deliver(self.compose(person.email, note))

    def compose(self, recipient: str, note: Notification) -> EmailMessage:
        message = self.addressed(recipient, headline(note))
        message.set_content(text_body(note))
        message.add_alternative(html_body(note), subtype="html")
        return message

    def addressed(self, recipient: str, subject: str) -> EmailMessage:
        """A message with its headers and no body yet: a page's, or another of Tocsin's
        (a console sign-in link)."""
        message = EmailMessage(policy=_POLICY)
        message["From"] = self.config.sender
        message["To"] = recipient
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock())
        message["Message-ID"] = make_msgid("tocsin", domain=self._msgid_domain)
        return message

    async def deliver(self, message: EmailMessage) -> DeliveryResult:
        config = self.config
        try:
            # One connection per message: pages are rare, and a held connection would only
            # go stale between them.
            _, response = await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                start_tls=config.starttls,
                timeout=config.timeout.total_seconds(),
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            return _failure(exc)
        return DeliveryResult.delivered(f"accepted for {message['To']}: {response}")

    async def aclose(self) -> None:
        """Nothing held between messages."""


def _failure(exc: aiosmtplib.SMTPException | OSError) -> DeliveryResult:
    # SMTP's own rule: 4xx replies are transient, 5xx permanent. Errors without a reply
    # (refused connection, timeout, dropped link) are transient; a missing server feature
    # (STARTTLS, AUTH) is a configuration problem that retrying will not fix.
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        retryable = any(400 <= r.code < 500 for r in exc.recipients)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        retryable = 400 <= exc.code < 500
    else:
        retryable = isinstance(exc, OSError)
    return DeliveryResult.failed(f"{type(exc).__name__}: {exc}", retryable=retryable)


def html_body(note: Notification) -> str:
    if note.kind in ACTION_KINDS:
        lead = f"<p>{escape(call(note))}</p>"
        if note.ack_url:
            url = escape(note.ack_url)
            lead += (
                f'<p><a href="{url}" style="{_BUTTON_STYLE}">Acknowledge</a></p>'
                f'<p style="font-size:small;color:#555555">or open <a href="{url}">{url}</a></p>'
            )
    else:
        lead = f"<p>{escape(notice(note))}</p>"
    alerts = "".join(f"<li>{item}</li>" for item in alert_items(note, HTML))
    link = (
        f'<p><a href="{escape(note.incident_url)}">Incident #{escape(note.incident_id)}</a></p>'
        if note.incident_url
        else ""
    )
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f"<h2>{escape(headline(note))}</h2>{lead}"
        f"<p>Severity: <b>{escape(note.severity.value)}</b><br>"
        f"Status: <b>{escape(note.status.value)}</b></p>"
        f"{f'<ul>{alerts}</ul>' if alerts else ''}{link}"
        "</body></html>"
    )
