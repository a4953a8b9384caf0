"""The HTML of the acknowledge pages: one self-contained shell (``templates/ack_page.html``)
around small fragments. Every value from an incident or a link is escaped here."""

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template

from notifier.channels.render import format_time
from router.models import AlertRecord, Incident, IncidentStatus

NameOf = Callable[[str], str]
"""A person's display name from their id."""


@cache
def _shell() -> Template:
    text = resources.files("notifier").joinpath("templates/ack_page.html").read_text("utf-8")
    return Template(text)


def page(title: str, body: str) -> str:
    """``body`` is HTML already; ``title`` is text."""
    return _shell().substitute(title=escape(title), body=body)


def incident_page(
    incident: Incident, records: Sequence[AlertRecord], viewer: str, name_of: NameOf
) -> str:
    """The incident as the person holding the link sees it, with the button while there is
    something to acknowledge; ``records`` are its first alerts, firing first."""
    title = f"Incident #{incident.id}: {incident.title}"
    body = (
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta"><span class="sev-{escape(incident.severity.value)}">'
        f"{escape(incident.severity.value)}</span>"
        f"<span>{escape(incident.status.value)}</span>{_service(incident)}</p>"
        f"{_state(incident, viewer, name_of)}"
        f"{_alerts(incident, records)}"
        f'<p class="muted">Opened {escape(format_time(incident.created_at))}'
        f" · route {escape(incident.route)}</p>"
    )
    return page(title, body)


def _service(incident: Incident) -> str:
    return "" if incident.service is None else f"<span>{escape(incident.service)}</span>"


def invalid_link_page() -> str:
    return _message_page(
        "Invalid link",
        "This acknowledge link is not valid. It may have been cut short or altered; "
        "open the link from the page you received, or acknowledge from the Tocsin console.",
    )


def expired_link_page(expired_at: datetime) -> str:
    return _message_page(
        "Link expired",
        f"This acknowledge link expired at {format_time(expired_at)}. Use the link in a more "
        "recent page, or acknowledge from the Tocsin console.",
    )


def not_found_page(incident_id: str) -> str:
    return _message_page(
        "Incident not found", f"Incident #{incident_id} no longer exists; nothing to acknowledge."
    )


def _message_page(title: str, text: str) -> str:
    return page(title, f'<h1>{escape(title)}</h1><p class="notice bad">{escape(text)}</p>')


def _state(incident: Incident, viewer: str, name_of: NameOf) -> str:
    if incident.status is IncidentStatus.RESOLVED:
        who = f" by {name_of(incident.resolved_by)}" if incident.resolved_by else ""
        when = f" at {format_time(incident.resolved_at)}" if incident.resolved_at else ""
        return _notice("good", f"Already resolved{who}{when}: there is nothing to acknowledge.")
    if incident.status is IncidentStatus.ACKNOWLEDGED:
        who = name_of(incident.acknowledged_by) if incident.acknowledged_by else "someone"
        when = f" at {format_time(incident.acknowledged_at)}" if incident.acknowledged_at else ""
        return _notice("good", f"Acknowledged by {who}{when}. Paging has stopped.")
    # No action attribute: the form posts back to this very URL, whatever prefix a proxy adds.
    return (
        '<form method="post"><button type="submit">Acknowledge</button></form>'
        f'<p class="muted">Acknowledging as {escape(name_of(viewer))} stops the paging '
        "for this incident.</p>"
    )


def _notice(tone: str, text: str) -> str:
    return f'<p class="notice {tone}">{escape(text)}</p>'


def _alerts(incident: Incident, records: Sequence[AlertRecord]) -> str:
    rows = "".join(
        f"<tr><td>{escape(r.summary)}</td><td>{_labels(r.labels)}</td>"
        f"<td>{escape(r.status.value)}</td><td>{r.count}</td></tr>"
        for r in records
    )
    more = incident.alerts_total - len(records)
    return (
        f"<h2>Alerts ({incident.alerts_total}, {incident.alerts_firing} firing)</h2>"
        "<table><thead><tr><th>Alert</th><th>Labels</th><th>Status</th><th>Count</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        + (f'<p class="muted">… and {more} more</p>' if more > 0 else "")
    )


def _labels(labels: dict[str, str]) -> str:
    return "".join(
        f"<code>{escape(key)}={escape(value)}</code>" for key, value in sorted(labels.items())
    )
