"""Microsoft Teams through a Workflows webhook ("Post to a channel when a webhook request is
received"), which takes a message whose attachment is an Adaptive Card. The old Office 365
connectors and their MessageCard are retired; workflows answer 202 once they accept."""

from datetime import timedelta
from typing import Any

from notifier.channels import DeliveryResult, Notification
from notifier.channels.posting import DEFAULT_TIMEOUT, Poster, encode
from notifier.channels.render import MARKDOWN, alert_items, buttons, headline, lead
from notifier.config import Person

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
"""The newest version every Teams client renders."""

_ATTENTION = {"page": "attention", "severity_raised": "warning", "resolved": "good"}


class TeamsChannel:
    name = "teams"

    def __init__(self, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        self.poster = Poster(timeout)

    def reaches(self, person: Person) -> bool:
        return person.teams_webhook is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if person.teams_webhook is None:
            return DeliveryResult.failed("no Teams webhook", retryable=False)
        reply = await self.poster.post(person.teams_webhook, encode(teams_message(note)))
        return reply if isinstance(reply, DeliveryResult) else reply.result()

    async def aclose(self) -> None:
        await self.poster.aclose()


def teams_message(note: Notification) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": MARKDOWN.escape(headline(note)),
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "color": _ATTENTION.get(note.kind, "default"),
        },
        {"type": "TextBlock", "text": MARKDOWN.escape(lead(note)), "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": "Severity", "value": note.severity.value},
                {"title": "Status", "value": note.status.value},
            ],
        },
    ]
    body += [
        {"type": "TextBlock", "text": f"- {item}", "wrap": True, "spacing": "None"}
        for item in alert_items(note, MARKDOWN)
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": title, "url": url} for title, url in buttons(note)
        ],
    }
    return {"type": "message", "attachments": [{"contentType": CARD_TYPE, "content": card}]}
