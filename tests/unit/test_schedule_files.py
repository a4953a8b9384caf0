"""Schedule files as operators edit them: every mistake reported as file:line with the field."""

import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from schedules.loader import load_schedules
from schedules.models import Override, Rotation, Schedule
from schedules.yamlfile import ConfigFileError, Problem, format_loc, line_of, load_yaml_model

EXAMPLE = """
    name: payments-primary
    timezone: Europe/Berlin
    rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice, bob]}
    overrides:
      - {person: bob, from: "2026-12-24 00:00", to: "2026-12-27 00:00"}
"""


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        load_schedules(directory)
    return [str(problem) for problem in caught.value.problems]


def test_the_example_file_loads(tmp_path: Path) -> None:
    write(tmp_path, "payments-primary.yaml", EXAMPLE)
    write(tmp_path, "README.md", "not a schedule")
    assert load_schedules(tmp_path) == {
        "payments-primary": Schedule(
            name="payments-primary",
            timezone="Europe/Berlin",
            rotation=Rotation(
                every=timedelta(weeks=1),
                handoff=datetime(2026, 1, 5, 9, 0),
                members=["alice", "bob"],
            ),
            overrides=[
                Override(person="bob", start=datetime(2026, 12, 24), end=datetime(2026, 12, 27))
            ],
        )
    }


def test_yml_files_count_too_and_an_empty_directory_has_no_schedules(tmp_path: Path) -> None:
    assert load_schedules(tmp_path) == {}
    write(tmp_path, "payments-primary.yml", EXAMPLE)
    assert list(load_schedules(tmp_path)) == ["payments-primary"]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        """
        name: payments-primary
        timezone: Europe/Berlin
        rotation:
          every: 1w
           handoff: "2026-01-05 09:00"
        """,
    )
    assert problems(tmp_path) == [f"{path}:5: invalid YAML: mapping values are not allowed here"]


def test_unclosed_bracket_names_where_it_was_opened(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        """
        name: payments-primary
        rotation: {every: 1w, members: [alice, bob}
        timezone: Europe/Berlin
        """,
    )
    assert problems(tmp_path) == [
        f"{path}:2: invalid YAML: expected ',' or ']', but got '}}' "
        "(while parsing a flow sequence on line 2)"
    ]


def test_unknown_field_and_the_missing_one_it_misspells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        """
        name: payments-primary
        timezone: Europe/Berlin
        rotation:
          every: 1w
          handoff: "2026-01-05 09:00"
          memebers: [alice, bob]
        """,
    )
    assert problems(tmp_path) == [
        f"{path}:3: rotation.members: required, but missing",
        f"{path}:6: rotation.memebers: unknown field",
    ]


@pytest.mark.parametrize(
    ("zone", "hint"),
    [
        ("Mars/Olympus", "use an IANA name such as UTC"),
        ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
    ],
)
def test_unknown_time_zone(tmp_path: Path, zone: str, hint: str) -> None:
    path = write(tmp_path, "payments-primary.yaml", EXAMPLE.replace("Europe/Berlin", zone))
    assert problems(tmp_path) == [f"{path}:2: timezone: unknown time zone {zone!r}: {hint}"]


def test_a_zone_directory_is_not_a_zone(tmp_path: Path) -> None:
    path = write(tmp_path, "payments-primary.yaml", EXAMPLE.replace("Europe/Berlin", "Europe"))
    [problem] = problems(tmp_path)
    assert problem.startswith(f"{path}:2: timezone: unknown time zone 'Europe': ")


def test_bad_duration(tmp_path: Path) -> None:
    path = write(tmp_path, "payments-primary.yaml", EXAMPLE.replace("every: 1w", "every: 5x"))
    assert problems(tmp_path) == [
        f"{path}:3: rotation.every: invalid duration '5x': use a positive whole number and one "
        "of s, m, h, d, w (for example 30s, 5m, 2h, 1d, 1w), or several from the largest "
        "unit down (1h30m)"
    ]


@pytest.mark.parametrize("every", ["7", "0", "-1", "1.5"])
def test_a_duration_without_a_unit_is_refused(tmp_path: Path, every: str) -> None:
    path = write(tmp_path, "payments-primary.yaml", EXAMPLE.replace("1w", every))
    [problem] = problems(tmp_path)
    assert problem.startswith(f"{path}:3: rotation.every: invalid duration {every}: ")
    assert problem.endswith("write a whole number and a unit, such as 5m, 8h, 1d or 1w")


def test_empty_members(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        """
        name: payments-primary
        timezone: Europe/Berlin
        rotation:
          every: 1w
          handoff: "2026-01-05 09:00"
          members: []
        """,
    )
    assert problems(tmp_path) == [
        f"{path}:6: rotation.members: List should have at least 1 item after validation, not 0"
    ]


def test_a_member_yaml_reads_as_a_boolean_shows_what_yaml_made_of_it(tmp_path: Path) -> None:
    path = write(tmp_path, "payments-primary.yaml", EXAMPLE.replace("[alice, bob]", "[alice, no]"))
    assert problems(tmp_path) == [
        f"{path}:3: rotation.members[1]: Input should be a valid string (got False)"
    ]


def test_override_ending_before_it_starts_points_at_to(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        """
        name: payments-primary
        timezone: Europe/Berlin
        rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice, bob]}
        overrides:
          - person: bob
            from: "2026-12-24 00:00"
            to: "2026-12-27 00:00"
          - person: carol
            from: "2026-12-24 00:00"
            to: "2026-12-23 00:00"
        """,
    )
    assert problems(tmp_path) == [
        f"{path}:10: overrides[1].to: 'to' (2026-12-23 00:00) must be after "
        "'from' (2026-12-24 00:00)"
    ]


def test_handoff_must_be_written_as_date_and_minutes(tmp_path: Path) -> None:
    # Unquoted, YAML 1.1 would make this a datetime; it stays the text the operator wrote.
    path = write(
        tmp_path,
        "payments-primary.yaml",
        EXAMPLE.replace('handoff: "2026-01-05 09:00"', "handoff: 2026-01-05 09:00:00"),
    )
    assert problems(tmp_path) == [
        f"{path}:3: rotation.handoff: invalid local time '2026-01-05 09:00:00': write "
        "'YYYY-MM-DD HH:MM' in the schedule's time zone, for example '2026-01-05 09:00'"
    ]


def test_name_must_match_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "payments-primary.yaml",
        EXAMPLE.replace("name: payments-primary", "name: payments"),
    )
    assert problems(tmp_path) == [
        f"{path}:1: name: 'payments' does not match the file name; write name: "
        "payments-primary or rename the file to payments.yaml"
    ]


def test_the_same_name_in_yaml_and_yml(tmp_path: Path) -> None:
    write(tmp_path, "payments-primary.yaml", EXAMPLE)
    path = write(tmp_path, "payments-primary.yml", EXAMPLE)
    assert problems(tmp_path) == [
        f"{path}:1: name: schedule 'payments-primary' is also defined in "
        f"{tmp_path / 'payments-primary.yaml'}"
    ]


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "schedules"
    assert problems(missing) == [
        f"{missing}: cannot read schedule directory: No such file or directory"
    ]


def test_problems_in_all_files_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", EXAMPLE.replace("payments-primary", "a"))
    first = write(tmp_path, "b.yaml", "name: b\n")
    second = write(tmp_path, "c.yml", "")
    with pytest.raises(ConfigFileError) as caught:
        load_schedules(tmp_path)
    assert str(caught.value) == "\n".join(
        [
            f"{first}:1: timezone: required, but missing",
            f"{first}:1: rotation: missing: write rotation (a schedule of one layer) or layers",
            f"{second}: the file is empty; expected a mapping of 'key: value' lines",
        ]
    )


# The generic loader, as the root config uses it too.


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lead: str
    people: list[dict[str, int]] = []


def test_load_yaml_model_works_for_any_model(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", "lead: ada\npeople:\n  - {ada: 1}\n  - {bob: 2}\n")
    assert load_yaml_model(path, Team) == Team(lead="ada", people=[{"ada": 1}, {"bob": 2}])


def test_dates_stay_the_text_the_operator_wrote(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", "lead: 2026-01-05\n")
    assert load_yaml_model(path, Team).lead == "2026-01-05"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "{path}: the file is empty; expected a mapping of 'key: value' lines"),
        (
            "# only a comment\n",
            "{path}: the file is empty; expected a mapping of 'key: value' lines",
        ),
        (
            "# people\n- ada\n- bob\n",
            "{path}:2: the top level must be a mapping of 'key: value' lines, not a list",
        ),
        (
            "ada\n",
            "{path}:1: the top level must be a mapping of 'key: value' lines, not a single value",
        ),
        (
            "lead: ada\n---\nlead: bob\n",
            "{path}:2: invalid YAML: but found another document "
            "(expected a single document in the stream on line 1)",
        ),
        (
            "lead: ada\n\tpeople: []\n",
            "{path}:2: invalid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "lead: !!int ada\n",
            "{path}:1: invalid YAML: 'ada' is not a valid !!int",
        ),
        (
            "lead: !secret ada\n",
            "{path}:1: invalid YAML: could not determine a constructor for the tag '!secret'",
        ),
    ],
)
def test_files_that_are_not_a_mapping_of_settings(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "team.yaml", text)
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Team)
    assert str(caught.value) == expected.format(path=path)


def test_bytes_that_are_not_text(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes(b"lead: \xff\n")
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Team)
    assert str(caught.value) == f"{path}:1: invalid text: not UTF-8 (invalid start byte)"


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(tmp_path / "absent.yaml", Team)
    assert (
        str(caught.value)
        == f"{tmp_path / 'absent.yaml'}: cannot read file: No such file or directory"
    )
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(tmp_path, Team)
    assert str(caught.value) == f"{tmp_path}: cannot read file: Is a directory"


def test_duplicate_keys_are_reported_not_silently_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "team.yaml",
        """
        lead: ada
        people:
          - {ada: 1, ada: 2}
        lead: bob
        """,
    )
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Team)
    assert [str(problem) for problem in caught.value.problems] == [
        f"{path}:3: people[0].ada: duplicate key, first written on line 3",
        f"{path}:4: lead: duplicate key, first written on line 1",
    ]


def test_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "team.yaml",
        """
        lead: ada
        people:
          - &base {ada: 1, bob: 2}
          - {<<: *base, bob: 3}
        """,
    )
    assert load_yaml_model(path, Team).people == [{"ada": 1, "bob": 2}, {"ada": 1, "bob": 3}]


SAMPLE = """
    name: payments-primary
    timezone: Europe/Berlin
    rotation:
      every: 1w
      members:
        - alice
        - bob
    overrides:
      - person: bob
        from: "2026-12-24 00:00"
"""


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        ((), 1),
        (("timezone",), 2),
        (("rotation",), 3),
        (("rotation", "members"), 5),
        (("rotation", "members", 1), 7),
        (("overrides", 0), 9),
        (("overrides", 0, "from"), 10),
        # Beyond what the file holds: the deepest part that exists.
        (("rotation", "handoff"), 3),
        (("rotation", "members", 5), 5),
        (("overrides", 0, "to"), 9),
        (("nowhere", "at", "all"), 1),
    ],
)
def test_line_of(tmp_path: Path, loc: tuple[str | int, ...], line: int) -> None:
    path = write(tmp_path, "payments-primary.yaml", SAMPLE)
    assert line_of(path, loc) == line


def test_line_of_a_file_it_cannot_use_is_none(tmp_path: Path) -> None:
    assert line_of(tmp_path / "absent.yaml", ("name",)) is None
    assert line_of(write(tmp_path, "broken.yaml", "name: [\n"), ("name",)) is None
    assert line_of(write(tmp_path, "empty.yaml", ""), ("name",)) is None


def test_format_loc() -> None:
    assert format_loc(("overrides", 0, "to")) == "overrides[0].to"
    assert format_loc(("rotation", "members")) == "rotation.members"
    assert format_loc(()) == ""


def test_problem_and_error_text() -> None:
    with_line = Problem(Path("a.yaml"), 3, "name: wrong")
    without = Problem(Path("b.yaml"), None, "cannot read file: Permission denied")
    assert str(with_line) == "a.yaml:3: name: wrong"
    assert str(without) == "b.yaml: cannot read file: Permission denied"
    assert str(ConfigFileError([with_line, without])) == f"{with_line}\n{without}"


@pytest.mark.parametrize(
    ("field", "value"),
    [("to", "9999-12-31 23:59"), ("from", "0001-01-01 00:00")],
)
def test_a_time_past_the_calendar_is_refused_where_it_is_written(
    tmp_path: Path, field: str, value: str
) -> None:
    # West of UTC, 9999-12-31 23:59 has no UTC time: accepted, every on-call lookup for the
    # schedule would fail, and with it every page that needs it.
    times = {"from": "2026-12-24 00:00", "to": "2026-12-27 00:00", field: value}
    write(
        tmp_path,
        "edge.yaml",
        f"""
        name: edge
        timezone: Pacific/Pago_Pago
        rotation: {{every: 1w, handoff: "2026-01-05 09:00", members: [alice]}}
        overrides:
          - {{person: bob, from: "{times["from"]}", to: "{times["to"]}"}}
        """,
    )
    [problem] = problems(tmp_path)
    assert problem.startswith(f"{tmp_path / 'edge.yaml'}:5: overrides[0].{field}: local time ")
    assert "use a year from 1900 to 9998" in problem


LAYERED = """
    name: support
    timezone: Europe/Berlin
    layers:
      - {every: 1w, handoff: "2026-01-05 09:00", members: [alice, bob]}
      - name: business hours
        every: 1d
        handoff: "2026-01-05 09:00"
        members: [carol]
        restrictions:
          - {days: [mon, tue, wed, thu, fri], start: "09:00", end: "5pm"}
"""


def test_a_restriction_written_wrong_is_named_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "support.yaml", LAYERED)
    assert problems(tmp_path) == [
        f"{path}:10: layers[1].restrictions[0].end: invalid time '5pm': write HH:MM, "
        "for example 02:00"
    ]


def test_a_schedule_has_a_rotation_or_layers_not_both(tmp_path: Path) -> None:
    text = LAYERED.replace('"5pm"', '"17:00"') + (
        '    rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice]}\n'
    )
    path = write(tmp_path, "support.yaml", text)
    assert problems(tmp_path) == [
        f"{path}:11: rotation: write rotation or layers, not both (a rotation is one layer)"
    ]


def test_layers_load_and_name_their_people(tmp_path: Path) -> None:
    write(tmp_path, "support.yaml", LAYERED.replace('"5pm"', '"17:00"'))
    schedule = load_schedules(tmp_path)["support"]
    assert [schedule.layer_name(i) for i in range(2)] == ["layer 1", "business hours"]
    assert schedule.named_people() == [
        (("layers", 0, "members", 0), "alice"),
        (("layers", 0, "members", 1), "bob"),
        (("layers", 1, "members", 0), "carol"),
    ]
