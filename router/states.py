"""The incident lifecycle: one status enum and an explicit table of transitions.

Every (status, event) pair is in the table. A pair mapping to the same status is an
idempotent no-op (acknowledging twice); a pair missing a target raises. The Lua scripts
that resolve and reopen incidents atomically (``router.store``) follow the same table.
"""

from enum import StrEnum

from router.models import IncidentStatus


class IncidentAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    """The group fired again within its route's reopen window."""
    SNOOZE = "snooze"
    """Acknowledge for a while, then page again."""
    REASSIGN = "reassign"
    """Page another person now and make them the owner."""
    RETRIGGER = "retrigger"
    """A snooze or an acknowledgement ran out while the incident is open."""
    SET_SEVERITY = "set_severity"
    """Someone sets the severity by hand (``set_severity.lua``)."""


class IllegalTransition(ValueError):
    def __init__(self, status: IncidentStatus, action: IncidentAction) -> None:
        super().__init__(f"cannot {action} an incident that is {status}")
        self.status = status
        self.action = action


_T, _A, _R = IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED

TRANSITIONS: dict[tuple[IncidentStatus, IncidentAction], IncidentStatus | None] = {
    (_T, IncidentAction.ACKNOWLEDGE): _A,
    (_T, IncidentAction.RESOLVE): _R,
    (_A, IncidentAction.ACKNOWLEDGE): _A,
    (_A, IncidentAction.RESOLVE): _R,
    # Nobody can stop paging for an incident that is already over.
    (_R, IncidentAction.ACKNOWLEDGE): None,
    (_R, IncidentAction.RESOLVE): _R,
    # Only what is over reopens (an open incident just takes the alert), and then it waits
    # for someone again: the acknowledgement was for the problem that had ended.
    (_T, IncidentAction.REOPEN): None,
    (_A, IncidentAction.REOPEN): None,
    (_R, IncidentAction.REOPEN): _T,
    # Snoozing is acknowledging for a while: whoever snoozes takes the incident, also from
    # whoever acknowledged it before.
    (_T, IncidentAction.SNOOZE): _A,
    (_A, IncidentAction.SNOOZE): _A,
    (_R, IncidentAction.SNOOZE): None,
    # A reassignment asks someone to take an incident nobody has taken yet; once someone
    # acknowledged it, it is theirs to resolve or snooze.
    (_T, IncidentAction.REASSIGN): _T,
    (_A, IncidentAction.REASSIGN): None,
    (_R, IncidentAction.REASSIGN): None,
    # Only an acknowledgement runs out (``retrigger.lua``).
    (_T, IncidentAction.RETRIGGER): None,
    (_A, IncidentAction.RETRIGGER): _T,
    (_R, IncidentAction.RETRIGGER): None,
    # Severity says how urgently an open incident pages; what is over keeps the severity it
    # ended with, which the reports count.
    (_T, IncidentAction.SET_SEVERITY): _T,
    (_A, IncidentAction.SET_SEVERITY): _A,
    (_R, IncidentAction.SET_SEVERITY): None,
}


def next_status(status: IncidentStatus, action: IncidentAction) -> IncidentStatus:
    target = TRANSITIONS[(status, action)]
    if target is None:
        raise IllegalTransition(status, action)
    return target
