"""The HTML of the acknowledge pages: one self-contained shell (``templates/ack_page.html``)
around small fragments. Every value from an incident or a link is escaped here."""

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template

from notifier.channels.render import format_time
from notifier.page_actions import SNOOZE_MINUTES, Offer
from notifier.signing import Action
from router.models import AlertRecord, Incident, IncidentStatus

NameOf = Callable[[str], str]
"""A person's display name from their id."""

DONE = {
    Action.ACKNOWLEDGE.value: "You acknowledged it: paging has stopped.",
    Action.RESOLVE.value: "You resolved it: everyone paged is told.",
    Action.ESCALATE.value: "You escalated it: the next level is paged now.",
    Action.SNOOZE.value: "You snoozed it.",
    Action.REASSIGN.value: "You handed it over: they are paged now.",
}
"""What the page says after an action redirected to it (``?done=<action>``)."""


@cache
def _shell() -> Template:
    text = resources.files("notifier").joinpath("templates/ack_page.html").read_text("utf-8")
    return Template(text)


def page(title: str, body: str) -> str:
    """``body`` is HTML already; ``title`` is text."""
    return _shell().substitute(title=escape(title), body=body)


def incident_page(
    incident: Incident,
    records: Sequence[AlertRecord],
    viewer: str,
    name_of: NameOf,
    offer: Offer,
    notice: tuple[str, str] | None = None,
) -> str:
    """The incident as the person holding the link sees it, with a button for each action
    ``offer`` holds; ``records`` are its first alerts, firing first; ``notice``: (tone,
    text) of what the last action did."""
    title = f"Incident #{incident.id}: {incident.title}"
    body = (
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta"><span class="sev-{escape(incident.severity.value)}">'
        f"{escape(incident.severity.value)}</span>"
        f"<span>{escape(incident.status.value)}</span>{_service(incident)}</p>"
        + (_notice(*notice) if notice else "")
        + f"{_state(incident, name_of)}{_buttons(offer, viewer, name_of)}"
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


def another_incident_page(incident_id: str) -> str:
    return _message_page(
        "Link for another incident",
        f"This link was made for an earlier incident that had the number #{incident_id}; "
        "it cannot act on the incident that has that number now.",
    )


def not_allowed_page(action: str) -> str:
    return _message_page("Not allowed", f"This link does not allow to {action} the incident.")


def bad_request_page(problem: str) -> str:
    return _message_page("Cannot do that", f"Nothing was done: {problem}.")


def not_found_page(incident_id: str) -> str:
    return _message_page(
        "Incident not found", f"Incident #{incident_id} no longer exists; nothing to acknowledge."
    )


def _message_page(title: str, text: str) -> str:
    return page(title, f'<h1>{escape(title)}</h1><p class="notice bad">{escape(text)}</p>')


def _state(incident: Incident, name_of: NameOf) -> str:
    if incident.status is IncidentStatus.RESOLVED:
        who = f" by {name_of(incident.resolved_by)}" if incident.resolved_by else ""
        when = f" at {format_time(incident.resolved_at)}" if incident.resolved_at else ""
        return _notice("good", f"Already resolved{who}{when}: there is nothing to acknowledge.")
    if incident.status is IncidentStatus.ACKNOWLEDGED:
        who = name_of(incident.acknowledged_by) if incident.acknowledged_by else "someone"
        if incident.snoozed_until is not None:
            until = format_time(incident.snoozed_until)
            return _notice("good", f"Snoozed by {who} until {until}: it pages again then.")
        when = f" at {format_time(incident.acknowledged_at)}" if incident.acknowledged_at else ""
        return _notice("good", f"Acknowledged by {who}{when}. Paging has stopped.")
    if incident.assigned_to is not None:
        by = f" by {name_of(incident.assigned_by)}" if incident.assigned_by else ""
        return _notice("", f"Handed to {name_of(incident.assigned_to)}{by}; not acknowledged yet.")
    return ""


def _buttons(offer: Offer, viewer: str, name_of: NameOf) -> str:
    """One form per action; none of them names a URL, so each posts back to this very
    page, whatever prefix a proxy adds."""
    actions, forms = offer.actions, []
    if Action.ACKNOWLEDGE in actions:
        forms.append(
            '<form method="post"><button type="submit">Acknowledge</button></form>'
            f'<p class="muted">Acknowledging as {escape(name_of(viewer))} stops the paging '
            "for this incident.</p>"
        )
    if Action.ESCALATE in actions and offer.escalate_from and offer.escalate_to:
        forms.append(
            _form(
                "escalate",
                f'<input type="hidden" name="step" value="{escape(offer.escalate_from.key)}">'
                f'<button type="submit" class="second">Escalate now: page {offer.escalate_to}'
                "</button>",
            )
        )
    if Action.SNOOZE in actions:
        buttons = "".join(
            f'<button type="submit" class="second" name="minutes" value="{m}">'
            f"Snooze {m} min</button> "
            for m in SNOOZE_MINUTES
        )
        forms.append(_form("snooze", buttons))
    if Action.REASSIGN in actions and offer.reassign_to:
        options = "".join(
            f'<option value="{escape(p)}">{escape(name_of(p))}</option>' for p in offer.reassign_to
        )
        forms.append(
            _form(
                "reassign",
                f'<label>Hand to <select name="to">{options}</select></label> '
                '<button type="submit" class="second">Reassign</button>',
            )
        )
    if Action.RESOLVE in actions:
        forms.append(_form("resolve", '<button type="submit" class="second">Resolve</button>'))
    return "".join(forms)


def _form(action: str, inside: str) -> str:
    return (
        f'<form method="post"><input type="hidden" name="action" value="{action}">{inside}</form>'
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
