"""The incident lifecycle table: every (status, action) pair, by hand."""

from itertools import product

import pytest

from router.models import IncidentStatus
from router.states import TRANSITIONS, IllegalTransition, IncidentAction, next_status

T, A, R = IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED
ACK, RESOLVE = IncidentAction.ACKNOWLEDGE, IncidentAction.RESOLVE
REOPEN = IncidentAction.REOPEN
SNOOZE, REASSIGN = IncidentAction.SNOOZE, IncidentAction.REASSIGN
RETRIGGER = IncidentAction.RETRIGGER
SET_SEVERITY = IncidentAction.SET_SEVERITY

EXPECTED: dict[tuple[IncidentStatus, IncidentAction], IncidentStatus | None] = {
    (T, ACK): A,
    (T, RESOLVE): R,
    (A, ACK): A,
    (A, RESOLVE): R,
    (R, ACK): None,
    (R, RESOLVE): R,
    (T, REOPEN): None,
    (A, REOPEN): None,
    (R, REOPEN): T,
    (T, SNOOZE): A,
    (A, SNOOZE): A,
    (R, SNOOZE): None,
    (T, REASSIGN): T,
    (A, REASSIGN): None,
    (R, REASSIGN): None,
    (T, RETRIGGER): None,
    (A, RETRIGGER): T,
    (R, RETRIGGER): None,
    (T, SET_SEVERITY): T,
    (A, SET_SEVERITY): A,
    (R, SET_SEVERITY): None,
}
"""Written out independently of the table under test; ``None`` means illegal."""

ALL_PAIRS = list(product(IncidentStatus, IncidentAction))


def test_the_table_covers_every_status_and_action() -> None:
    assert set(TRANSITIONS) == set(ALL_PAIRS)
    assert len(TRANSITIONS) == len(IncidentStatus) * len(IncidentAction)


def test_the_expectations_cover_every_status_and_action() -> None:
    # If someone adds a status or an action, this file must be updated too.
    assert set(EXPECTED) == set(ALL_PAIRS)


@pytest.mark.parametrize(("status", "action"), ALL_PAIRS)
def test_every_pair(status: IncidentStatus, action: IncidentAction) -> None:
    expected = EXPECTED[(status, action)]
    assert TRANSITIONS[(status, action)] == expected
    if expected is None:
        with pytest.raises(IllegalTransition):
            next_status(status, action)
    else:
        assert next_status(status, action) is expected


@pytest.mark.parametrize(
    ("status", "action"),
    [pair for pair in ALL_PAIRS if EXPECTED[pair] == pair[0]],
)
def test_repeating_a_transition_is_a_no_op(status: IncidentStatus, action: IncidentAction) -> None:
    assert next_status(status, action) is status
    # ...and applying it again from the result still stays put.
    assert next_status(next_status(status, action), action) is status


def test_the_pairs_that_keep_the_status_are_known() -> None:
    """Acknowledging or resolving twice; snoozing what is acknowledged; reassigning what
    waits for someone (who has it changes, not the status); setting the severity of an open
    incident."""
    assert {pair for pair in ALL_PAIRS if EXPECTED[pair] == pair[0]} == {
        (A, ACK),
        (R, RESOLVE),
        (A, SNOOZE),
        (T, REASSIGN),
        (T, SET_SEVERITY),
        (A, SET_SEVERITY),
    }


def test_acknowledging_a_resolved_incident_is_illegal() -> None:
    with pytest.raises(IllegalTransition) as raised:
        next_status(R, ACK)
    assert raised.value.status is R
    assert raised.value.action is ACK
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == "cannot acknowledge an incident that is resolved"


@pytest.mark.parametrize("start", list(IncidentStatus))
def test_resolve_is_reachable_from_every_status_and_only_a_reopening_leaves_it(
    start: IncidentStatus,
) -> None:
    resolved = next_status(start, RESOLVE)
    assert resolved is R
    for action in IncidentAction:
        target = TRANSITIONS[(resolved, action)]
        if action is REOPEN:
            assert target is T
        else:
            assert target in (None, R), f"{action} leaves resolved"
