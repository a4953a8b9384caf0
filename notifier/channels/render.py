"""Plain-text wording of a notification, shared by the channels so a page reads the same in a
mail, a terminal and a chat message."""

from datetime import UTC, datetime

from ingest.models import AlertStatus
from notifier.channels import ACTION_KINDS, AlertSummary, Notification


def headline(note: Notification) -> str:
    """``[SEV1] Tocsin #12: <title>``, ``[RESOLVED] Tocsin #12: <title>``, or
    ``[NOW SEV1] Tocsin #12: <title>`` when its severity rose."""
    if note.kind in ACTION_KINDS:
        tag = note.severity.value
    elif note.kind == "severity_raised":
        tag = f"NOW {note.severity.value}"
    else:
        tag = note.kind.upper()
    return f"[{tag}] Tocsin #{note.incident_id}: {note.title}"


def text_body(note: Notification) -> str:
    lines = [headline(note), ""]
    if note.kind in ACTION_KINDS:
        lines.append(call(note))
        if note.ack_url:
            lines += ["", f"Acknowledge: {note.ack_url}"]
    else:
        lines.append(notice(note))
    lines += ["", f"Severity: {note.severity.value}", f"Status: {note.status.value}"]
    if note.alerts:
        lines += ["", "Alerts:"]
        lines += [f"  - {alert_line(alert)}" for alert in note.alerts]
        if note.alerts_omitted:
            lines.append(f"  ... and {note.alerts_omitted} more")
    if note.alerts_not_shown:
        lines.append(f"  ({not_shown(note)})")
    if note.incident_url:
        lines += ["", f"Incident: {note.incident_url}"]
    return "\n".join(lines) + "\n"


def call(note: Notification) -> str:
    """Why a page or an assignment asks this person to act."""
    if note.kind == "assigned":
        return f"{note.person_name}, {note.by or 'someone'} handed this incident to you."
    return f"{note.person_name}, you are paged (escalation level {note.level})."


def notice(note: Notification) -> str:
    """What a notice that is not a page says happened."""
    who = note.by or "someone"
    if note.kind == "escalated":
        return f"Incident #{note.incident_id} was escalated by {who}: level {note.level} is paged."
    if note.kind == "snoozed":
        again = f" at {format_time(note.until)}" if note.until else " later"
        return (
            f"Incident #{note.incident_id} was snoozed by {who}; it pages again{again} "
            "unless resolved by then."
        )
    if note.kind == "reassigned":
        to = note.assigned_to or "someone"
        return f"Incident #{note.incident_id} was handed to {to} by {who}."
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
