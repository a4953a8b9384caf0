"""The shifts an edit of a schedule changes, worked out by hand."""

from datetime import UTC, datetime, timedelta

from schedules.diff import Kind, ShiftChange, changes, schedule_changes
from schedules.models import Override, Rotation, Schedule

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # a Monday
END = START + timedelta(days=3)


def daily(*members: str, overrides: tuple[Override, ...] = ()) -> Schedule:
    rotation = Rotation(every=timedelta(days=1), handoff=datetime(2026, 3, 2), members=members)
    return Schedule(name="s", timezone="UTC", rotation=rotation, overrides=list(overrides))


def day(n: int) -> datetime:
    return START + timedelta(days=n)


def test_the_same_schedule_changes_nothing() -> None:
    assert schedule_changes(daily("a", "b"), daily("a", "b"), START, END) == []


def test_a_swap_changes_each_shift_in_place() -> None:
    assert schedule_changes(daily("a", "b"), daily("b", "a"), START, END) == [
        ShiftChange(Kind.CHANGED, day(0), day(1), "a", "b"),
        ShiftChange(Kind.CHANGED, day(1), day(2), "b", "a"),
        ShiftChange(Kind.CHANGED, day(2), day(3), "a", "b"),
    ]


def test_an_override_cuts_a_shift_removed_then_added() -> None:
    cut = Override(person="c", start=datetime(2026, 3, 2, 10), end=datetime(2026, 3, 2, 12))
    hour = timedelta(hours=1)

    assert schedule_changes(daily("a", "b"), daily("a", "b", overrides=(cut,)), START, END) == [
        ShiftChange(Kind.REMOVED, day(0), day(1), "a", None),
        ShiftChange(Kind.ADDED, day(0), day(0) + 10 * hour, None, "a"),
        ShiftChange(Kind.ADDED, day(0) + 10 * hour, day(0) + 12 * hour, None, "c"),
        ShiftChange(Kind.ADDED, day(0) + 12 * hour, day(1), None, "a"),
    ]


def test_an_override_of_whoever_is_on_call_changes_nothing() -> None:
    same = Override(person="a", start=datetime(2026, 3, 2, 10), end=datetime(2026, 3, 2, 12))
    assert schedule_changes(daily("a", "b"), daily("a", "b", overrides=(same,)), START, END) == []


def test_a_schedule_added_or_dropped_is_all_its_shifts() -> None:
    before = {"old": daily("a"), "same": daily("a")}
    found = changes(before, {"new": daily("b"), "same": daily("a")}, START, END)
    assert found == {
        "new": [ShiftChange(Kind.ADDED, day(0), day(3), None, "b")],
        "old": [ShiftChange(Kind.REMOVED, day(0), day(3), "a", None)],
    }
