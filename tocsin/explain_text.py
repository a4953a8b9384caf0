"""An explanation (``notifier.explain``) as an operator reads it in a terminal: one block per
alert, the routes tried indented as the tree is, short lines."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from notifier.explain import AlertExplanation, Explanation, Page, PagedPerson
from router.explain import Hold, Landing
from schedules.durations import format_duration

_NAME_WIDTH = 24


def render(explanation: Explanation) -> str:
    lines = [
        f"{explanation.integration} ({explanation.source}) at {_time(explanation.at)}",
        *(f"note: {note}" for note in explanation.notes),
    ]
    if explanation.errors:
        lines += refusal((error.field, error.message) for error in explanation.errors)
    for alert in explanation.alerts:
        lines += ["", *_alert(alert)]
    if not explanation.alerts and not explanation.errors:
        lines.append("the payload holds no alerts")
    return "\n".join(lines) + "\n"


def refusal(errors: Iterable[tuple[str, str]]) -> list[str]:
    """The field errors of a payload, as ``(field, message)``, and that the webhook would
    refuse it."""
    return [
        "the webhook would refuse this payload (422 invalid payload):",
        *(f"  {field}: {message}" for field, message in errors),
    ]


def _alert(alert: AlertExplanation) -> list[str]:
    routing = alert.routing
    labels = " ".join(f"{name}={value}" for name, value in sorted(alert.labels.items()))
    rule = "default" if routing.severity_rule is None else f"severity[{routing.severity_rule}]"
    lines = [
        f"alert {alert.dedup_key} {alert.status.value}: {alert.summary}",
        f"  labels: {labels or '(none)'}",
        "  routes tried:",
    ]
    landed = {landing.route for landing in routing.landings}
    for check in routing.checks:
        name = "  " * check.depth + check.route
        if not check.matched:
            outcome = f"no: {check.why_not}"
        else:
            outcome = "matched" + (", continue" if check.continues else "")
            outcome += "  <- lands here" if check.route in landed else ""
        lines.append(f"    {name:<{_NAME_WIDTH}} {outcome}")
    lines.append(f"  severity: {routing.severity.value} ({rule})")
    if not routing.landings:
        lines.append("  unrouted: no top-level route matches; the router drops it")
    lines += [f"  held: {_hold(hold)}" for hold in routing.holds]
    for landing, page in zip(routing.landings, alert.pages, strict=True):
        lines += _landing(landing, page)
    return lines


def _landing(landing: Landing, page: Page) -> list[str]:
    service = f", service {landing.service}" if landing.service else ""
    if landing.group_labels is None:
        group = "each distinct alert its own incident"
    else:
        values = ", ".join(f'{name}="{value}"' for name, value in landing.group_labels.items())
        group = f"grouped by {{{values}}}"
    people = ", ".join(f"{person.name} ({person.id})" for person in page.people)
    people = people or "nobody (its schedules have a gap then)"
    paged = "paged now" if page.now else f"not paged now: {page.why_not}"
    return [
        f"  -> {landing.route}: policy {landing.policy}{service}, {group}",
        f"     level 1 ({', '.join(page.targets)}): {people}, {paged}",
        *(f"       {person.id}: {notify_text(person)}" for person in page.people),
    ]


def notify_text(person: PagedPerson) -> str:
    """``now slack, email; at 3m sms``: by which channels, and when after the page."""
    if not person.by_rules:
        channels = person.notify[0].channels if person.notify else []
        return "every method at once: " + (", ".join(channels) or "none (no contact method)")
    return "; ".join(
        ("now" if not step.after_seconds else f"at {_after(step.after_seconds)}")
        + f" {', '.join(step.channels)}"
        for step in person.notify
    )


def _after(seconds: int) -> str:
    return format_duration(timedelta(seconds=seconds))


def _hold(hold: Hold) -> str:
    until = "" if hold.until is None else f" until {_time(hold.until)}"
    return f"{hold.kind} {hold.name}{until} ({hold.detail})"


def _time(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} {at.tzname()}"
