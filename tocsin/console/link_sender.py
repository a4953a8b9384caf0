"""Sending a console sign-in link to a person by a contact method that is theirs alone: their
email, else a Slack direct message from the bot (``slack_user``), else their webhook.

Never to a chat channel (``slack_webhook``, ``slack_channel``, Teams, Mattermost, Rocket.Chat)
or Apprise, whose messages others read too: whoever holds the link signs in as the person.
Nor by phone: a sign-in link is not worth a text message's cost. The channels are the ones
that page; only the message is the link's own.
"""

from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, Literal

from pydantic import SecretStr

from ingest.clock import Clock
from notifier.channels import DeliveryResult
from notifier.channels.email import EmailChannel
from notifier.channels.render import SLACK, format_time
from notifier.channels.slack import SlackChannel
from notifier.channels.webhook import WebhookChannel
from notifier.config import Person, SlackConfig, SmtpConfig

Way = Literal["email", "slack", "webhook"]
SUBJECT = "Sign in to Tocsin"


def way_to(person: Person, smtp: SmtpConfig | None, slack: SlackConfig | None) -> Way | None:
    """How a sign-in link reaches ``person``, if it can."""
    if person.email is not None and smtp is not None:
        return "email"
    if person.slack_user is not None and slack is not None:
        return "slack"
    if person.webhook is not None:
        return "webhook"
    return None


@dataclass(frozen=True)
class SignInLink:
    person_id: str
    person: Person
    url: str
    expires_at: datetime

    @property
    def text(self) -> str:
        return f"{SUBJECT}: {self.url}\n\n{self.caveat}"

    @property
    def caveat(self) -> str:
        return (
            f"The link works once, until {format_time(self.expires_at)}. If you did not ask "
            "for it, someone typed your name on the sign-in page: nothing happens unless the "
            "link is used, so do not forward it."
        )


class LinkSender:
    def __init__(
        self,
        smtp: SmtpConfig | None,
        slack: SlackConfig | None,
        webhook_secret: SecretStr | None,
        clock: Clock,
    ) -> None:
        self.smtp, self.slack = smtp, slack
        self.email = None if smtp is None else EmailChannel(smtp, clock)
        self.slack_bot = None if slack is None else SlackChannel(slack)
        self.webhook = WebhookChannel(clock, default_secret=webhook_secret)

    def reaches(self, person: Person) -> bool:
        return way_to(person, self.smtp, self.slack) is not None

    async def send(self, link: SignInLink) -> DeliveryResult:
        person = link.person
        way = way_to(person, self.smtp, self.slack)
        if way == "email" and self.email is not None and person.email is not None:
            message = self.email.addressed(person.email, SUBJECT)
            message.set_content(f"Hello {person.name},\n\n{link.text}\n")
            message.add_alternative(_html(link), subtype="html")
            return await self.email.deliver(message)
        if way == "slack" and self.slack_bot is not None and person.slack_user is not None:
            return await self.slack_bot.post_as_bot(person.slack_user, _slack(link))
        if way == "webhook":
            body = {
                "kind": "sign_in_link",
                "person": link.person_id,
                "person_name": person.name,
                "url": link.url,
                "expires_at": link.expires_at.isoformat(),
                "text": link.text,
            }
            return await self.webhook.post(person, body)
        return DeliveryResult.failed("no contact method of their own", retryable=False)

    async def aclose(self) -> None:
        for channel in (self.email, self.slack_bot, self.webhook):
            if channel is not None:
                await channel.aclose()


def _slack(link: SignInLink) -> dict[str, Any]:
    button = {"type": "plain_text", "text": SUBJECT}
    return {
        "text": link.text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": SLACK.escape(link.caveat)}},
            {
                "type": "actions",
                "elements": [{"type": "button", "text": button, "url": link.url}],
            },
        ],
    }


def _html(link: SignInLink) -> str:
    url = escape(link.url)
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f"<p>Hello {escape(link.person.name)},</p>"
        f'<p><a href="{url}" style="display:inline-block;padding:12px 24px;background:#1a4d8f;'
        'color:#ffffff;font-weight:bold;text-decoration:none;border-radius:4px">'
        f"{SUBJECT}</a></p>"
        f'<p style="font-size:small;color:#555555">or open <a href="{url}">{url}</a></p>'
        f"<p>{escape(link.caveat)}</p>"
        "</body></html>"
    )
