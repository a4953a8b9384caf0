"""A notification as a Slack Block Kit message: the headline, who is paged or what happened,
severity and status, the alerts with their runbook and dashboard links, and link buttons.
Pure, so the shape is tested without Slack; Slack's size limits are kept here, since a message
over one is refused whole."""

from typing import Any

from notifier.channels import Notification
from notifier.channels.render import SLACK, alert_items, buttons, cut, headline, lead

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
BUTTON_TEXT_LIMIT = 75


def message(note: Notification) -> dict[str, Any]:
    """The body of an incoming webhook call; ``chat.postMessage`` adds its ``channel``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(cut(headline(note), HEADER_LIMIT))},
        {
            "type": "section",
            "text": _mrkdwn(cut(SLACK.escape(lead(note)), SECTION_LIMIT)),
            "fields": [
                _mrkdwn(f"*Severity*\n{note.severity.value}"),
                _mrkdwn(f"*Status*\n{note.status.value}"),
            ],
        },
    ]
    items = alert_items(note, SLACK)
    if items:
        blocks.append({"type": "section", "text": _mrkdwn(bulleted(items, SECTION_LIMIT))})
    actions = [
        {
            "type": "button",
            "text": _plain(cut(title, BUTTON_TEXT_LIMIT)),
            "url": url,
            "action_id": f"tocsin-link-{i}",
            **({"style": "danger"} if i == 0 and note.ack_url else {}),
        }
        for i, (title, url) in enumerate(buttons(note))
    ]
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    # ``text`` is what notifications and screen readers show instead of the blocks.
    return {"text": headline(note), "blocks": blocks}


def bulleted(items: list[str], limit: int) -> str:
    """Whole items only (a cut one could end inside a link), as many as fit in ``limit``."""
    lines: list[str] = []
    size = 0
    for n, item in enumerate(items):
        line = f"• {item}"
        rest = f"• ... and {len(items) - n} more items"
        if size + len(line) + len(rest) + 2 > limit and n < len(items) - 1:
            return "\n".join([*lines, rest])
        lines.append(cut(line, limit - size))
        size += len(line) + 1
    return "\n".join(lines)


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
