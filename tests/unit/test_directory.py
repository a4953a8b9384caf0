"""Who a level pages at an instant: people named directly, whoever is on call, each once."""

from datetime import UTC, datetime, timedelta

from notifier.config import Level, Person, Target
from notifier.directory import Directory
from schedules.models import Override, Rotation, Schedule

# Daily turns at 09:00 UTC from Monday 2 March 2026: alice, bob, carol, alice, ...;
# dave covers the night of 10 March.
PRIMARY = Schedule(
    name="primary",
    timezone="UTC",
    rotation=Rotation(
        every=timedelta(days=1),
        handoff=datetime(2026, 3, 2, 9, 0),
        members=["alice", "bob", "carol"],
    ),
    overrides=[
        Override(person="dave", start=datetime(2026, 3, 10, 0, 0), end=datetime(2026, 3, 10, 6, 0))
    ],
)
# Weekly turns at 09:00 Berlin time: erin, then alice.
SECONDARY = Schedule(
    name="secondary",
    timezone="Europe/Berlin",
    rotation=Rotation(
        every=timedelta(weeks=1),
        handoff=datetime(2026, 3, 2, 9, 0),
        members=["erin", "alice"],
    ),
)
PEOPLE = {n: Person(name=n.title()) for n in ("alice", "bob", "carol", "dave", "erin", "zoe")}
DIRECTORY = Directory(people=PEOPLE, schedules={"primary": PRIMARY, "secondary": SECONDARY})


def person(name: str) -> Target:
    return Target(kind="person", name=name)


def schedule(name: str) -> Target:
    return Target(kind="schedule", name=name)


def level(*targets: Target) -> Level:
    return Level(targets=list(targets), ack_timeout=timedelta(minutes=5))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_person_targets_in_the_order_written() -> None:
    assert DIRECTORY.resolve(level(person("zoe"), person("bob")), at(2, 12)) == ["zoe", "bob"]


def test_a_schedule_target_is_whoever_is_on_call_at_that_instant() -> None:
    primary = level(schedule("primary"))
    assert DIRECTORY.resolve(primary, at(2, 9)) == ["alice"]
    assert DIRECTORY.resolve(primary, at(3, 8, 59)) == ["alice"]
    assert DIRECTORY.resolve(primary, at(3, 9)) == ["bob"]
    assert DIRECTORY.resolve(primary, at(4, 23)) == ["carol"]
    assert DIRECTORY.resolve(primary, at(5, 9)) == ["alice"]


def test_a_schedule_target_honours_overrides() -> None:
    primary = level(schedule("primary"))
    assert DIRECTORY.resolve(primary, at(9, 23, 59)) == ["bob"]
    assert DIRECTORY.resolve(primary, at(10, 0)) == ["dave"]
    assert DIRECTORY.resolve(primary, at(10, 5, 59)) == ["dave"]
    assert DIRECTORY.resolve(primary, at(10, 6)) == ["bob"]


def test_schedules_in_other_zones_resolve_at_the_same_instant() -> None:
    # Secondary hands off at 09:00 Berlin, 08:00 UTC in March (before summer time on the
    # 29th); primary at 09:00 UTC. From 08:00 to 09:00 UTC on the 9th alice is on call for
    # both, and is paged once.
    both = level(schedule("secondary"), schedule("primary"))
    assert DIRECTORY.resolve(both, at(9, 7, 59)) == ["erin", "alice"]
    assert DIRECTORY.resolve(both, at(9, 8)) == ["alice"]
    assert DIRECTORY.resolve(both, at(9, 9)) == ["alice", "bob"]


def test_the_same_person_from_two_targets_is_paged_once_in_first_place() -> None:
    targets = level(person("bob"), schedule("primary"), person("zoe"), schedule("secondary"))
    # 2 March: alice on primary, erin on secondary.
    assert DIRECTORY.resolve(targets, at(2, 12)) == ["bob", "alice", "zoe", "erin"]
    # 3 March: bob on primary, already named first.
    assert DIRECTORY.resolve(targets, at(3, 12)) == ["bob", "zoe", "erin"]
    twice = level(person("alice"), person("bob"), person("alice"))
    assert DIRECTORY.resolve(twice, at(2, 12)) == ["alice", "bob"]


def test_an_empty_schedule_map_is_not_needed_for_person_targets() -> None:
    only_people = Directory(people=PEOPLE)
    assert only_people.resolve(level(person("carol")), at(2, 12)) == ["carol"]


def test_a_schedule_in_a_gap_pages_nobody_and_the_other_targets_still() -> None:
    daytime = Schedule.model_validate(
        {
            "name": "daytime",
            "timezone": "UTC",
            "layers": [
                {
                    "every": "1d",
                    "handoff": "2026-03-02 09:00",
                    "members": ["carol"],
                    "restrictions": [{"start": "09:00", "end": "17:00"}],
                }
            ],
        }
    )
    directory = Directory(people=PEOPLE, schedules={"daytime": daytime})
    both = level(schedule("daytime"), person("zoe"))
    assert directory.resolve(both, at(3, 12)) == ["carol", "zoe"]
    assert directory.resolve(both, at(3, 18)) == ["zoe"]


GROUPED = Directory(people=PEOPLE, groups={"sre": ["alice", "bob", "carol"]})


def test_a_group_target_pages_everyone_in_it() -> None:
    everyone = level(Target(kind="group", name="sre"), person("bob"))
    assert GROUPED.resolve(everyone, at(2, 12), "7") == ["alice", "bob", "carol"]


def test_a_round_robin_group_pages_one_member_per_incident_in_turn() -> None:
    one = level(Target(kind="group", name="sre", round_robin=True))
    picked = [GROUPED.resolve(one, at(2, 12), str(incident))[0] for incident in range(1, 7)]
    assert picked == ["bob", "carol", "alice", "bob", "carol", "alice"]


def test_a_round_robin_pick_for_an_id_that_is_no_number_is_stable() -> None:
    one = level(Target(kind="group", name="sre", round_robin=True))
    first = GROUPED.resolve(one, at(2, 12), "inc-abc")
    assert first == GROUPED.resolve(one, at(9, 12), "inc-abc")
    assert len(first) == 1


def test_an_explanation_without_an_incident_lists_whoever_could_be_picked() -> None:
    one = level(Target(kind="group", name="sre", round_robin=True))
    assert GROUPED.resolve(one, at(2, 12)) == ["alice", "bob", "carol"]
