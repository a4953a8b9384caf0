"""What tocsin check warns about in a schedule that loads: gaps, overrides that are over or
change nothing, layers never on call."""

from datetime import UTC, datetime
from typing import Any

from schedules.lint import gaps, hidden_layers, stale_overrides
from schedules.models import Schedule

NOW = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
ALWAYS = {"every": "1w", "handoff": "2026-11-02 09:00", "members": ["alice", "bob"]}
NIGHTS = {**ALWAYS, "members": ["carol"], "restrictions": [{"start": "22:00", "end": "06:00"}]}


def schedule(*layers: dict[str, Any], overrides: Any = ()) -> Schedule:
    return Schedule.model_validate(
        {"name": "s", "timezone": "UTC", "layers": list(layers), "overrides": list(overrides)}
    )


def test_a_schedule_covered_all_the_time_has_no_gaps() -> None:
    assert gaps(schedule(ALWAYS, NIGHTS), NOW, weeks=4) == []


def test_gaps_are_counted_and_the_first_ones_shown() -> None:
    [(loc, message)] = gaps(schedule(NIGHTS), NOW, weeks=1)
    assert loc == ("layers",)
    assert message == (
        "nobody is on call 7 times in the next 1 weeks (UTC): 2026-11-23 06:00 to "
        "2026-11-23 22:00, 2026-11-24 06:00 to 2026-11-24 22:00, 2026-11-25 06:00 to "
        "2026-11-25 22:00 and 4 more"
    )


def test_an_override_that_is_over_or_changes_nothing_is_named() -> None:
    overrides = [
        {"person": "bob", "from": "2026-11-01 00:00", "to": "2026-11-02 00:00"},  # over
        {"person": "alice", "from": "2026-11-30 12:00", "to": "2026-11-30 13:00"},  # her turn
        {"person": "carol", "from": "2026-12-01 12:00", "to": "2026-12-01 13:00"},  # hidden
        {"person": "dave", "from": "2026-12-01 00:00", "to": "2026-12-02 00:00"},
        {"person": "erin", "from": "2026-11-24 00:00", "to": "2026-11-25 00:00"},  # useful
    ]
    found = stale_overrides(schedule(ALWAYS, overrides=overrides), NOW)
    assert found == [
        (("overrides", 0), "is over: it ended before now, and can be removed"),
        (("overrides", 1), "changes nothing: alice is on call then anyway"),
        (("overrides", 2), "changes nothing: overrides listed after it cover all of it"),
    ]


def test_a_layer_under_one_without_restrictions_is_hidden() -> None:
    found = hidden_layers(schedule(NIGHTS, {**ALWAYS, "name": "everyone"}), NOW, weeks=4)
    message = "hidden by the layers above it for the next 4 weeks: nobody in it is on call"
    assert found == [(("layers", 0), f"layer 1: {message}")]
    assert hidden_layers(schedule(ALWAYS, NIGHTS), NOW, weeks=4) == []
