"""Redis keys owned by the notifier."""

from datetime import datetime

from ingest.clock import epoch_ms
from notifier.escalation import Step

PREFIX = "tocsin:notifier:"

ARQ_QUEUE = PREFIX + "queue"
"""arq's queue of deferred escalation and retry jobs (arq keeps its job bodies under its own
fixed ``arq:`` prefix)."""
DEAD_LETTERS = PREFIX + "dead-letters"
"""Incident events the notifier could not act on (``ingest.deadletters``)."""
EVENTS_GROUP = "notifier"
"""The notifier's consumer group on the router's incident event stream."""


def deliveries(incident_id: str) -> str:
    """Hash of what was delivered for an incident, so a job run twice sends nothing twice."""
    return f"{PREFIX}deliveries:{incident_id}"


def sending(incident_id: str, field: str) -> str:
    """Held while one delivery is being sent, so a second run of its step skips it."""
    return f"{PREFIX}sending:{incident_id}:{field}"


def escalate_job_id(incident_id: str, step: Step) -> str:
    """One escalation timer per (incident, paging run, round, level), however often it is
    scheduled."""
    return f"tocsin:escalate:{incident_id}:{step.key}"


def group_wait_job_id(incident_id: str) -> str:
    """The incident's first page, once its route's group_wait is over (an incident opens
    once: a later paging run starts at once)."""
    return f"tocsin:group-wait:{incident_id}"


def support_hours_job_id(incident_id: str, step: Step, due: datetime) -> str:
    """A page put off until support hours start, once per start it waits for."""
    return f"tocsin:page-in-hours:{incident_id}:{step.key}:{epoch_ms(due)}"


def report_job_id(incident_id: str, due: datetime) -> str:
    """A report of the alerts that joined an incident, once per moment it is due."""
    return f"tocsin:report:{incident_id}:{epoch_ms(due)}"


def held_job_id(incident_id: str, step: Step, due: datetime) -> str:
    """A look at the silences again, once per moment it is due."""
    return f"tocsin:page-held:{incident_id}:{step.key}:{epoch_ms(due)}"


def escalate_now_job_id(incident_id: str, step: Step) -> str:
    """Someone asked from the incident page to escalate from ``step`` now: once per step,
    however often the button is pressed."""
    return f"tocsin:escalate-now:{incident_id}:{step.key}"


def snooze_job_id(incident_id: str, until: datetime) -> str:
    """The end of a snooze, once per time it ends."""
    return f"tocsin:snooze:{incident_id}:{epoch_ms(until)}"


def ack_expiry_job_id(incident_id: str, acknowledged_at: datetime) -> str:
    """The end of an acknowledgement (the route's ``ack_expiry``), once per acknowledgement."""
    return f"tocsin:ack-expiry:{incident_id}:{epoch_ms(acknowledged_at)}"


def retry_job_id(incident_id: str, step: Step, attempt: int) -> str:
    return f"tocsin:page-retry:{incident_id}:{step.key}:{attempt}"


def rule_job_id(incident_id: str, step: Step, person: str, index: int, attempt: int = 0) -> str:
    """A step of a person's notification rules, once per (incident, paging run, round,
    level, person, rule step), and once per retry of it."""
    retry = f":{attempt}" if attempt else ""
    return f"tocsin:rule:{incident_id}:{step.key}:{person}:{index}{retry}"


def held_rule_job_id(incident_id: str, step: Step, person: str, index: int, due: datetime) -> str:
    """A held rule step's look at the silences again, once per moment it is due."""
    return f"tocsin:rule-held:{incident_id}:{step.key}:{person}:{index}:{epoch_ms(due)}"


def assigned_rule_job_id(incident_id: str, assigned_at: datetime, person: str, index: int) -> str:
    """A step of the notification rules of the person an incident was handed to, once per
    handover and rule step."""
    return f"tocsin:assigned-rule:{incident_id}:{epoch_ms(assigned_at)}:{person}:{index}"


def bounce_job_id(incident_id: str, step: Step, person: str, channel: str) -> str:
    """A look at whether a person was reached after a delivery failed late, once per
    delivery."""
    return f"tocsin:bounced:{incident_id}:{step.key}:{person}:{channel}"
