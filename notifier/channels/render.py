"""The wording of a notification, shared by the channels so a page reads the same in a mail, a
terminal and a chat message. Rich formats (Slack's mrkdwn, Markdown, HTML) differ only in how
they escape text and write a link: a ``Markup`` says that, the wording stays here."""

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest.models import AlertStatus
from notifier.channels import AlertSummary, Notification


@dataclass(frozen=True)
class Markup:
    escape: Callable[[str], str]
    """Makes text from an alert (labels, summaries: anything a sender wrote) show as text."""
    link: Callable[[str, str], str]
    """``link(text, url)``; the text is ours, the URL an http(s) one."""


PLAIN = Markup(escape=lambda text: text, link=lambda text, url: f"{text}: {url}")


def _slack_escape(text: str) -> str:
    # Slack's rule: only these three are control characters in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(text: str, url: str) -> str:
    # Inside <url|text> a | or > would end the URL early.
    url = url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{url}|{_slack_escape(text)}>"


SLACK = Markup(escape=_slack_escape, link=_slack_link)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|<>~])")
"""Characters that start emphasis, code, links, tables or HTML anywhere in a line; with the
brackets escaped, parentheses and ``!`` cannot form a link or an image."""


def _markdown_link(text: str, url: str) -> str:
    return f"[{text}]({url.replace(')', '%29').replace(' ', '%20')})"


MARKDOWN = Markup(escape=lambda text: _MARKDOWN_SPECIAL.sub(r"\\\1", text), link=_markdown_link)
"""CommonMark as Mattermost, Rocket.Chat and Teams' Adaptive Cards read it."""


def _html_link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'


HTML = Markup(escape=html.escape, link=_html_link)


def headline(note: Notification) -> str:
    """``[SEV1] Tocsin #12: <title>``, ``[RESOLVED] Tocsin #12: <title>``, or
    ``[NOW SEV1] Tocsin #12: <title>`` when its severity rose."""
    if note.kind == "page":
        tag = note.severity.value
    elif note.kind == "severity_raised":
        tag = f"NOW {note.severity.value}"
    else:
        tag = note.kind.upper()
    return f"[{tag}] Tocsin #{note.incident_id}: {note.title}"


def text_body(note: Notification) -> str:
    lines = [headline(note), "", lead(note)]
    if note.kind == "page" and note.ack_url:
        lines += ["", f"Acknowledge: {note.ack_url}"]
    lines += ["", f"Severity: {note.severity.value}", f"Status: {note.status.value}"]
    items = alert_items(note, PLAIN)
    if note.alerts:
        lines += ["", "Alerts:"]
    lines += [f"  - {item}" for item in items[: len(note.alerts)]]
    lines += [f"  {item}" for item in items[len(note.alerts) :]]
    if note.incident_url:
        lines += ["", f"Incident: {note.incident_url}"]
    return "\n".join(lines) + "\n"


def lead(note: Notification) -> str:
    """The first sentence: who is paged, or what happened."""
    if note.kind == "page":
        return f"{note.person_name}, you are paged (escalation level {note.level})."
    return notice(note)


def buttons(note: Notification) -> list[tuple[str, str]]:
    """What a message offers to click, as ``(title, url)``: link buttons need no endpoint
    of ours that the chat tool calls back, and the signed page asks before it acts."""
    found = []
    if note.ack_url:
        found.append(("Acknowledge", note.ack_url))
    if note.incident_url:
        found.append((f"Incident #{note.incident_id}", note.incident_url))
    return found


def alert_items(note: Notification, markup: Markup) -> list[str]:
    """One item per listed alert with its links, then what was left out."""
    items = [alert_item(alert, markup) for alert in note.alerts]
    if note.alerts and note.alerts_omitted:
        items.append(f"... and {note.alerts_omitted} more")
    if note.alerts_not_shown:
        items.append(f"({markup.escape(not_shown(note))})")
    return items


ITEM_LIMIT = 500
"""Characters of one alert's line in a message: a sender may write summaries of 64 KB, and a
chat message over its tool's size limit is refused whole."""


def alert_item(alert: AlertSummary, markup: Markup) -> str:
    text = markup.escape(cut(alert_line(alert), ITEM_LIMIT))
    if not alert.links:
        return text
    return f"{text} ({', '.join(markup.link(link.title, link.url) for link in alert.links)})"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def notice(note: Notification) -> str:
    """What a notice that is not a page says happened."""
    if note.kind == "acknowledged":
        who = note.acknowledged_by or "someone"
        return f"Incident #{note.incident_id} was acknowledged by {who}; no action needed."
    if note.kind == "update":
        joined = alerts_count(note.alerts_added)
        return f"{joined} joined incident #{note.incident_id} since the last update."
    if note.kind == "severity_raised":
        return (
            f"Incident #{note.incident_id}, which you acknowledged, is now "
            f"{note.severity.value}: a more severe alert joined it. It is still yours."
        )
    return f"Incident #{note.incident_id} is resolved; no action needed."


def alerts_count(n: int) -> str:
    return "1 alert" if n == 1 else f"{n} alerts"


def not_shown(note: Notification) -> str:
    return f"{note.alerts_not_shown} alerts not shown by the sender"


def alert_line(alert: AlertSummary) -> str:
    parts = [alert.summary]
    if alert.status is not AlertStatus.FIRING:
        parts.append(f"({alert.status.value})")
    if alert.count > 1:
        parts.append(f"x{alert.count}")
    if alert.labels:
        parts.append(f"[{format_labels(alert.labels)}]")
    return " ".join(parts)


def format_labels(labels: dict[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(labels.items()))


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def markdown_body(note: Notification) -> str:
    """The message for chat tools that read Markdown (Mattermost, Rocket.Chat)."""
    lines = [f"**{MARKDOWN.escape(headline(note))}**", MARKDOWN.escape(lead(note))]
    links = [MARKDOWN.link(title, url) for title, url in buttons(note)]
    if links:
        lines.append(" · ".join(f"**{link}**" for link in links))
    lines.append(f"Severity: {note.severity.value} · Status: {note.status.value}")
    items = alert_items(note, MARKDOWN)
    if items:
        lines += ["", *(f"- {item}" for item in items)]
    return "\n".join(lines)
