"""Where an escalation policy goes next: every step of every small policy, in order."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.config import EscalationPolicy, Level, Target
from notifier.escalation import FIRST, Step, current_step, next_step, step_of
from router.models import TimelineEvent, TimelineKind


def policy(levels: int, repeat: int) -> EscalationPolicy:
    return EscalationPolicy(
        repeat=repeat,
        levels=[
            Level(
                targets=[Target(kind="person", name=f"p{i}")],
                ack_timeout=timedelta(minutes=5),
            )
            for i in range(levels)
        ],
    )


def walk(p: EscalationPolicy) -> list[Step]:
    """Every step from the first until the policy is exhausted."""
    steps = [FIRST]
    while (step := next_step(p, steps[-1])) is not None:
        steps.append(step)
        assert len(steps) <= 1000, "the policy never ends"
    return steps


@pytest.mark.parametrize(
    ("levels", "repeat", "expected"),
    [
        (1, 0, [(0, 0)]),
        (1, 1, [(0, 0), (1, 0)]),
        (1, 2, [(0, 0), (1, 0), (2, 0)]),
        (2, 0, [(0, 0), (0, 1)]),
        (2, 1, [(0, 0), (0, 1), (1, 0), (1, 1)]),
        (2, 2, [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]),
        (3, 0, [(0, 0), (0, 1), (0, 2)]),
        (3, 1, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]),
        (
            3,
            2,
            [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)],
        ),
    ],
)
def test_the_full_sequence_of_steps(
    levels: int, repeat: int, expected: list[tuple[int, int]]
) -> None:
    assert walk(policy(levels, repeat)) == [Step(r, level) for r, level in expected]


def test_the_first_step_is_level_one_of_round_zero() -> None:
    assert Step(round=0, level=0) == FIRST
    assert str(FIRST) == "level 1"
    assert str(Step(2, 1)) == "level 2 (repeat 2)"


def test_after_the_last_step_there_is_none() -> None:
    assert next_step(policy(2, 1), Step(1, 1)) is None
    assert next_step(policy(3, 0), Step(0, 2)) is None


@given(levels=st.integers(1, 6), repeat=st.integers(0, 20))
def test_each_level_once_per_round_in_increasing_order(levels: int, repeat: int) -> None:
    steps = walk(policy(levels, repeat))

    assert len(steps) == levels * (repeat + 1)
    assert all(a < b for a, b in pairwise(steps))
    assert steps[-1] == Step(repeat, levels - 1)
    assert {s.level for s in steps} == set(range(levels))
    assert {s.round for s in steps} == set(range(repeat + 1))


def _paged(level: int | None, round_: int | None, epoch: int | None) -> TimelineEvent:
    return TimelineEvent(
        at=datetime(2026, 3, 2, 12, tzinfo=UTC),
        kind=TimelineKind.PAGED,
        person="alice",
        level=level,
        round=round_,
        epoch=epoch,
    )


def test_the_current_step_is_the_latest_paged_in_the_current_run() -> None:
    story = [
        _paged(1, 0, 0),
        _paged(2, 0, 0),
        _paged(1, 1, 0),
        _paged(1, 0, 1),  # a new run started: its steps only
        TimelineEvent(
            at=datetime(2026, 3, 2, 12, tzinfo=UTC), kind=TimelineKind.ESCALATED, level=2
        ),
        _paged(None, None, None),  # a hand-over page belongs to no step
    ]
    assert current_step(0, story) == Step(1, 0)
    assert current_step(1, story) == Step(0, 0, epoch=1)
    assert current_step(2, story) is None
    assert current_step(0, []) is None


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=100),
    st.integers(min_value=0, max_value=100),
)
def test_a_step_is_found_again_by_its_key(epoch: int, round_: int, level: int) -> None:
    step = Step(round_, level, epoch=epoch)
    assert step_of(step.key) == step


@pytest.mark.parametrize(
    "key", ["", "0", "0:0:0", "e0:0:0", "e:0:0", "x1:0:0", "-1:0", "0:+1", "0:²", "e1:0:0:0"]
)
def test_anything_but_a_steps_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        step_of(key)
