"""A blameless review of one incident in Markdown: what Tocsin knows filled in (summary,
impact window, detection, response times, who was paged, the whole timeline), what only
people know left as sections to write.

Every text that came from an alert or a person is escaped: a label like ``a|b <script>`` must
neither break a table nor become HTML in a renderer that passes HTML through. Times are UTC.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from router.models import AlertRecord, Incident, TimelineEvent, TimelineKind
from router.reports import review

_ESCAPED = re.compile(r"([\\`*_\[\]|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def postmortem(
    incident: Incident, timeline: Sequence[TimelineEvent], alerts: Sequence[AlertRecord]
) -> str:
    """``alerts``: those the store gives first (it reads a bounded page); the earliest seen
    of them is taken for the one that detected the incident."""
    first = min(alerts, key=lambda a: a.first_seen, default=None)
    began = first.first_seen if first else incident.created_at
    acked_at = review(incident, timeline).first_acknowledged_at
    lines = [
        f"# Postmortem: incident #{md(incident.id)}: {md(incident.title)}",
        "",
        "Blameless: this review asks what happened and what let it happen, not who erred.",
        "",
        "## Summary",
        "",
        "| | |",
        "|---|---|",
        f"| Severity | {incident.severity.value} |",
        f"| Service | {md(incident.service or '(none)')} |",
        f"| Route | {md(incident.route)} |",
        f"| Escalation policy | {md(incident.policy)} |",
        f"| Status | {incident.status.value} |",
        f"| Alerts | {incident.alerts_total} |",
        f"| Opened | {utc(incident.created_at)} |",
        "",
        "What happened, in two or three sentences:",
        "",
        "## Impact",
        "",
        f"- Impact window: {utc(began)} (first alert) to "
        + (
            f"{utc(incident.resolved_at)} (resolved), {span(incident.resolved_at - began)}"
            if incident.resolved_at
            else "not resolved yet"
        ),
        "- Who and what was affected:",
        "",
        "## Detection",
        "",
        *_detection(first),
        "",
        "## Response",
        "",
        f"- Time to acknowledge: {_since(incident.created_at, acked_at)}",
        f"- Time to resolve: {_since(incident.created_at, incident.resolved_at)}",
        f"- Paged: {_paged(timeline)}",
        f"- Acknowledged by: {_people(timeline, TimelineKind.ACKNOWLEDGED) or 'nobody'}",
        f"- Resolved by: {_resolver(incident)}",
        "",
        "## Timeline (UTC)",
        "",
        "| Time (UTC) | Event | Who | Detail |",
        "|---|---|---|---|",
        *(_row(event) for event in timeline),
        "",
        "## Root cause",
        "",
        "## What went well",
        "",
        "## What to improve",
        "",
        "## Action items",
        "",
        "| Action | Owner | Due | Tracking |",
        "|---|---|---|---|",
        "| | | | |",
    ]
    return "\n".join(lines) + "\n"


def md(text: str) -> str:
    """Text for a Markdown line or table cell: what would format, link or split a cell is
    escaped, HTML becomes entities, and a line break a space."""
    text = "".join(_ENTITIES.get(c, c) for c in text)
    return _ESCAPED.sub(r"\\\1", " ".join(text.splitlines()))


def utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def span(duration: timedelta) -> str:
    """``1h 2m 3s``, leaving out zero parts."""
    seconds = round(duration.total_seconds())
    parts = [
        (seconds // 86400, "d"),
        (seconds // 3600 % 24, "h"),
        (seconds // 60 % 60, "m"),
        (seconds % 60, "s"),
    ]
    shown = [f"{n}{unit}" for n, unit in parts if n]
    return " ".join(shown) or "0s"


def link(url: str) -> str:
    """An autolink for a web address, which takes neither escapes nor entities: what it
    cannot hold is percent-encoded. Any other scheme (``javascript:``) is shown as text."""
    if not url.lower().startswith(("https://", "http://")):
        return md(url)
    return f"<{quote(url, safe=_URL_SAFE)}>"


def _detection(first: AlertRecord | None) -> list[str]:
    if first is None:
        return ["- First alert: none kept"]
    origin = md(first.integration) if first.integration else "an unrecorded integration"
    lines = [
        f"- First alert: {md(first.summary)}, seen {utc(first.first_seen)}",
        f"- Detected by: integration {origin}" + (f" ({md(first.source)})" if first.source else ""),
        "- Labels: " + ", ".join(f"{md(k)}={md(v)}" for k, v in sorted(first.labels.items())),
    ]
    if first.generator_url:
        lines.append(f"- Source link: {link(first.generator_url)}")
    return lines


def _since(start: datetime, end: datetime | None) -> str:
    return "not yet" if end is None else f"{span(end - start)} (at {utc(end)})"


def _paged(timeline: Sequence[TimelineEvent]) -> str:
    seen: dict[str, None] = {}
    for event in timeline:
        if event.kind is TimelineKind.PAGED and event.person:
            how = f" by {event.channel}" if event.channel else ""
            level = f", level {event.level}" if event.level else ""
            seen[f"{md(event.person)}{md(how)}{level}"] = None
    return "; ".join(seen) or "nobody"


def _people(timeline: Sequence[TimelineEvent], kind: TimelineKind) -> str:
    named = dict.fromkeys(e.person for e in timeline if e.kind is kind and e.person)
    return ", ".join(md(person) for person in named if person)


def _resolver(incident: Incident) -> str:
    if incident.resolved_at is None:
        return "not resolved yet"
    return md(incident.resolved_by) if incident.resolved_by else "its alerts (they resolved)"


def _row(event: TimelineEvent) -> str:
    who = md(event.person) if event.person else ""
    detail = ", ".join(
        part
        for part in (
            f"level {event.level}" if event.level else "",
            f"via {md(event.channel)}" if event.channel else "",
            md(event.detail) if event.detail else "",
        )
        if part
    )
    return f"| {utc(event.at)} | {event.kind.value.replace('_', ' ')} | {who} | {detail} |"
