"""Loading the root configuration: the example in deploy/ loads, and every broken file is
reported as ``file:line: field: message`` at the line the operator has to change.

Each broken file marks the line the problem must point at with a ``#!`` comment."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from router.config import MAX_ROUTE_DEPTH, Severity
from router.reports import DEFAULT_RESPONSE_TARGETS
from schedules.yamlfile import ConfigFileError
from tocsin.config import load_config

DEPLOY = Path(__file__).parents[2] / "deploy" / "tocsin.yaml"

PRIMARY = """\
name: primary
timezone: Europe/Berlin
rotation:
  every: 1w
  handoff: "2026-01-05 09:00"
  members:
    - alice
    - bob
"""


def marked_line(text: str) -> int:
    """The 1-based line carrying the ``#!`` marker."""
    (line,) = [n for n, row in enumerate(text.splitlines(), 1) if row.rstrip().endswith("#!")]
    return line


def write(directory: Path, text: str, schedules: dict[str, str] | None = None) -> Path:
    if schedules is not None:
        (directory / "schedules").mkdir()
        for name, body in schedules.items():
            (directory / "schedules" / f"{name}.yaml").write_text(body)
    path = directory / "tocsin.yaml"
    path.write_text(text)
    return path


def problem_lines(error: ConfigFileError) -> list[str]:
    return str(error).splitlines()


def problems_below(directory: Path, path: Path) -> list[str]:
    """The problems of loading ``path``, with files named from ``directory`` on."""
    with pytest.raises(ConfigFileError) as raised:
        load_config(path)
    return [line.replace(str(directory), "") for line in problem_lines(raised.value)]


def assert_reported(error: ConfigFileError, file: Path, line: int, fragment: str) -> None:
    where = f"{file}:{line}: "
    lines = problem_lines(error)
    assert any(row.startswith(where) and fragment in row for row in lines), (
        f"expected a line starting {where!r} containing {fragment!r}, got:\n{error}"
    )


# --- the example configuration ---------------------------------------------------------


def test_the_deploy_example_loads() -> None:
    loaded = load_config(DEPLOY)

    config = loaded.config
    assert [i.name for i in config.integrations] == ["prod-am", "custom"]
    assert set(config.people) == {"alice", "bob"}
    assert set(loaded.schedules) == {"payments-primary"}
    assert config.ack_link_grace == timedelta(hours=1)
    assert config.smtp is None


def test_the_deploy_example_routing() -> None:
    routing = load_config(DEPLOY).routing

    assert [node.resolved.name for node in routing.tree] == ["route-1", "route-2"]
    assert routing.tree[0].resolved.group_by == ("alertname", "cluster")
    assert [rule.level for rule in routing.severity] == ["SEV1", "SEV3", "SEV2"]


def test_the_deploy_example_directory() -> None:
    directory = load_config(DEPLOY).directory
    first, second = directory.policies["payments"].levels

    # Week 8 after the 2026-01-05 handoff: Alice's turn; Christmas: Bob's override.
    assert directory.resolve(first, datetime(2026, 3, 2, 12, tzinfo=UTC)) == ["alice"]
    assert directory.resolve(first, datetime(2026, 12, 25, 12, tzinfo=UTC)) == ["bob"]
    assert directory.resolve(second, datetime(2026, 3, 2, 12, tzinfo=UTC)) == ["bob"]
    assert first.ack_timeout == timedelta(minutes=2)


def test_email_with_an_smtp_section_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
people:
  alice: {name: Alice, email: alice@example.com}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
smtp: {host: 127.0.0.1, from: tocsin@example.com}
""",
    )

    assert load_config(path).config.people["alice"].email == "alice@example.com"


def test_reopen_window_at_the_top_and_on_a_route(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        ALICE_AND_P
        + """\
reopen_window: 10m
routes:
  - {name: db, policy: p, reopen_window: 1h}
  - {name: rest, policy: p}
""",
    )

    tree = load_config(path).routing.tree
    assert [node.resolved.reopen_window for node in tree] == [
        timedelta(hours=1),
        timedelta(minutes=10),
    ]


def test_ack_expiry_defaults_to_30_minutes_is_inherited_and_0_turns_it_off(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        ALICE_AND_P
        + """\
routes:
  - name: db
    policy: p
    ack_expiry: 2h
    routes: [{name: db.quiet, ack_expiry: 0}, {name: db.rest}]
  - {name: rest, policy: p}
""",
    )

    routes = load_config(path).directory.routes
    assert {name: route.ack_expiry for name, route in routes.items()} == {
        "db": timedelta(hours=2),
        "db.quiet": None,
        "db.rest": timedelta(hours=2),
        "rest": timedelta(minutes=30),
    }


# --- broken root files: one problem each, at the marked line -----------------------------


@dataclass(frozen=True)
class Broken:
    text: str
    fragment: str
    schedules: dict[str, str] | None = field(default=None)


ALICE_AND_P = """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
"""
"""The start of a file that only the routes or severity rules after it break."""

BROKEN = {
    "unknown escalation policy in a route": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  payments: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {match: {service: payments}, policy: payments}
  - {match: {}, policy: paymnets}  #!
""",
        "routes[1].policy: unknown escalation policy 'paymnets'",
    ),
    "unknown schedule target": Broken(
        """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob, console: true}
schedules_dir: schedules
escalation_policies:
  payments:
    levels:
      - targets:
          - schedule:primary
          - schedule:secondary  #!
        ack_timeout: 5m
routes:
  - {policy: payments}
""",
        "escalation_policies.payments.levels[0].targets[1]: unknown schedule 'secondary' "
        "(no file schedules/secondary.yaml)",
        {"primary": PRIMARY},
    ),
    "unknown person target": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  payments:
    levels:
      - {targets: [person:alice], ack_timeout: 5m}
      - {targets: [person:carol], ack_timeout: 5m}  #!
routes:
  - {policy: payments}
""",
        "escalation_policies.payments.levels[1].targets[0]: unknown person 'carol'",
    ),
    "email without an smtp section": Broken(
        """\
people:
  alice:
    name: Alice
    email: alice@example.com  #!
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
""",
        "people.alice.email: an email address needs an smtp section",
    ),
    "a NUL in the schedules path": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
schedules_dir: "a\\0b"  #!
""",
        "schedules_dir: a path cannot hold a NUL character",
    ),
    "an smtp timeout longer than a page may wait": Broken(
        """\
people:
  alice: {name: Alice, email: alice@example.com}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
smtp: {host: mail, from: t@example.com, timeout: 1m}  #!
""",
        "smtp.timeout: at most 15s",
    ),
    "duplicate integration token": Broken(
        """\
integrations:
  - {name: prod-am, type: alertmanager, token: s3cret}
  - {name: custom, type: generic, token: s3cret}  #!
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
""",
        "integrations[1].token: the same token as integrations[0]",
    ),
    "duplicate route names": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {name: payments, match: {service: payments}, policy: p}
  - {name: payments, match: {}, policy: p}  #!
""",
        "routes[1].name: 'payments' is already the name of routes[0]",
    ),
    "a route matcher that does not parse": Broken(
        ALICE_AND_P
        + """\
routes:
  - {match: {service: payments}, policy: p}
  - matchers:
      - env!=staging
      - severity  #!
    policy: p
""",
        "routes[1].matchers[1]: 'severity' is not a matcher",
    ),
    "a bad regex in a child route": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    routes:
      - {matchers: [team=db], policy: p}
      - {matchers: ['team=~"(db"'], policy: p}  #!
""",
        "routes[0].routes[1].matchers[0]: team=~'(db': invalid regex",
    ),
    "a matcher that is not text": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    matchers:
      - {env: prod}  #!
""",
        "routes[0].matchers[0]: a matcher is a string such as 'env!=staging'",
    ),
    "a severity matcher that does not parse": Broken(
        ALICE_AND_P
        + """\
routes:
  - {policy: p}
severity:
  - {matchers: ['severity=~"critical|error"'], level: SEV1}
  - {matchers: ['severity="warning'], level: SEV3}  #!
""",
        "severity[1].matchers[0]: 'severity=\"warning': the value's closing double quote",
    ),
    "unknown escalation policy in a child route": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    routes:
      - match: {team: db}
        routes:
          - match: {env: prod}
            policy: db-prod  #!
""",
        "routes[0].routes[0].routes[0].policy: unknown escalation policy 'db-prod'",
    ),
    "a top-level route without a policy": Broken(
        ALICE_AND_P
        + """\
routes:
  - {policy: p, match: {team: db}}
  - match: {team: web}  #!
    routes:
      - {policy: p}
""",
        "routes[1].policy: required, but missing",
    ),
    "a default child name taken by another route": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    match: {team: db}
    routes: [{match: {env: prod}}]
  - name: route-1.1  #!
    policy: p
""",
        "routes[1].name: 'route-1.1' is already the name of routes[0].routes[0]",
    ),
    "dots mixed with label names in group_by": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    group_by: [..., cluster]  #!
""",
        "routes[0].group_by: '...' (every alert alone) cannot be combined with label names",
    ),
    "group_wait without a unit": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    routes:
      - group_wait: 30  #!
""",
        "routes[0].routes[0].group_wait: invalid duration 30",
    ),
    "an ack_expiry without a unit": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    ack_expiry: 30  #!
""",
        "routes[0].ack_expiry: invalid ack_expiry 30: write 0 (never) or a duration such as 30m",
    ),
    "an ack_expiry of 0m": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    ack_expiry: 0m  #!
""",
        "(1h30m); or 0 for acknowledgements that never run out",
    ),
    "the ack_link_ttl of earlier versions": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
ack_link_ttl: 1d  #!
""",
        "ack_link_ttl: replaced by ack_link_grace: a link now works while its incident is open",
    ),
    "a reopen window of nothing": Broken(
        ALICE_AND_P
        + """\
reopen_window: 0m  #!
routes:
  - policy: p
""",
        "reopen_window: invalid duration '0m'",
    ),
    "a route's reopen window without a unit": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    reopen_window: 300  #!
""",
        "routes[0].reopen_window: invalid duration 300",
    ),
    "support hours in an unknown zone": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    support_hours:
      - {timezone: Europe/Berlin, start: "09:00", end: "17:00"}
      - {timezone: Berlin, start: "09:00", end: "17:00"}  #!
""",
        "routes[0].support_hours[1].timezone: unknown time zone 'Berlin'",
    ),
    "support hours ending at 5pm": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    routes:
      - support_hours:
          - timezone: UTC
            days: [mon, tue]
            start: "09:00"
            end: 5pm  #!
""",
        "routes[0].routes[0].support_hours[0].end: invalid time '5pm'",
    ),
    "support hours on a day that is no day": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    support_hours:
      - {timezone: UTC, days: [monday], start: "09:00", end: "17:00"}  #!
""",
        "routes[0].support_hours[0].days[0]: Input should be 'mon'",
    ),
    "a storm limit of none at all": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    routes:
      - storm_limit: 0  #!
""",
        "routes[0].routes[0].storm_limit: Input should be greater than or equal to 1",
    ),
    "a storm limit that is not a number": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    storm_limit: lots  #!
""",
        "routes[0].storm_limit: Input should be a valid integer",
    ),
    "continue that is not a yes or no": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
    continue: sometimes  #!
""",
        "routes[0].continue: Input should be a valid boolean",
    ),
    "duration without a unit": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p:
    levels:
      - targets: [person:alice]
        ack_timeout: 5  #!
routes:
  - {policy: p}
""",
        "escalation_policies.p.levels[0].ack_timeout: invalid duration 5",
    ),
    "unknown top-level key": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
severty:  #!
  - {match: {severity: critical}, level: SEV1}
routes:
  - {policy: p}
""",
        "severty: unknown field",
    ),
    "api_auth that is neither open nor token": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
api_auth:
  silences: tokens  #!
""",
        "api_auth.silences: Input should be 'open' or 'token'",
    ),
    "api_auth for something it does not cover": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
api_auth:
  incidents: open  #!
""",
        "api_auth.incidents: unknown field",
    ),
    "response target for a severity there is not": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
response_targets:
  SEV1: 10m
  SEV5: 1d  #!
""",
        "response_targets.SEV5.[key]: Input should be 'SEV1', 'SEV2', 'SEV3' or 'SEV4'",
    ),
    "response target that is no duration": Broken(
        ALICE_AND_P
        + """\
routes:
  - policy: p
response_targets:
  SEV2: soon  #!
""",
        "response_targets.SEV2: invalid duration 'soon'",
    ),
    "YAML syntax error": Broken(
        """\
people:
  alice: name: Alice  #!
routes:
  - {policy: p}
""",
        "invalid YAML: mapping values are not allowed here",
    ),
    "missing routes": Broken(
        """\
people:  #!
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
""",
        "routes: required, but missing",
    ),
    "empty routes": Broken(
        """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes: []  #!
""",
        "routes: List should have at least 1 item",
    ),
}


def test_response_targets_override_only_the_severities_named(tmp_path: Path) -> None:
    path = write(tmp_path, ALICE_AND_P + "routes:\n  - policy: p\nresponse_targets:\n  SEV1: 10m\n")
    targets = load_config(path).response_targets
    assert targets == {**DEFAULT_RESPONSE_TARGETS, Severity.SEV1: timedelta(minutes=10)}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_file_names_file_line_and_problem(tmp_path: Path, case: Broken) -> None:
    path = write(tmp_path, case.text, case.schedules)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(raised.value, path, marked_line(case.text), case.fragment)
    assert len(raised.value.problems) == 1, str(raised.value)


def test_a_duplicate_token_is_never_shown(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN["duplicate integration token"].text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert "s3cret" not in str(raised.value)


def test_every_repeat_of_a_name_or_token_gets_its_own_line(tmp_path: Path) -> None:
    text = """\
integrations:
  - {name: am, type: alertmanager, token: one}
  - {name: am, type: generic, token: two}
  - {name: other, type: generic, token: one}
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""
    path = write(tmp_path, text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert problem_lines(raised.value) == [
        f"{path}:3: integrations[1].name: the same name as integrations[0]",
        f"{path}:4: integrations[2].token: the same token as integrations[0]",
    ]


def test_all_reference_problems_at_once_in_line_order(tmp_path: Path) -> None:
    text = """\
people:
  alice: {name: Alice, email: alice@example.com}
escalation_policies:
  p: {levels: [{targets: [person:carol], ack_timeout: 5m}]}
routes:
  - {policy: nope}
"""
    path = write(tmp_path, text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert problem_lines(raised.value) == [
        f"{path}:2: people.alice.email: an email address needs an smtp section",
        f"{path}:4: escalation_policies.p.levels[0].targets[0]: unknown person 'carol' "
        "(not in people)",
        f"{path}:6: routes[0].policy: unknown escalation policy 'nope' "
        "(not in escalation_policies)",
    ]


# --- problems in schedule files point at the schedule file -------------------------------

ROOT_WITH_SCHEDULES = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob, console: true}
schedules_dir: schedules
escalation_policies:
  p: {levels: [{targets: [schedule:primary], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""


def test_a_schedule_member_not_in_people_points_at_the_schedule_file(tmp_path: Path) -> None:
    schedule = PRIMARY.replace("    - bob\n", "    - bob\n    - mallory  #!\n")
    path = write(tmp_path, ROOT_WITH_SCHEDULES, {"primary": schedule})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    schedule_path = tmp_path / "schedules" / "primary.yaml"
    assert_reported(
        raised.value,
        schedule_path,
        marked_line(schedule),
        "rotation.members[2]: unknown person 'mallory' (not in people)",
    )
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].file == schedule_path


def test_an_override_person_not_in_people_points_at_the_schedule_file(tmp_path: Path) -> None:
    schedule = PRIMARY + (
        'overrides:\n  - {person: mallory, from: "2026-12-24 00:00", to: "2026-12-27 00:00"}  #!\n'
    )
    path = write(tmp_path, ROOT_WITH_SCHEDULES, {"primary": schedule})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(
        raised.value,
        tmp_path / "schedules" / "primary.yaml",
        marked_line(schedule),
        "overrides[0].person: unknown person 'mallory'",
    )


def test_a_broken_schedule_file_is_not_also_an_unknown_schedule(tmp_path: Path) -> None:
    # The policy names a schedule whose file exists but does not load: the operator must
    # fix that file, and only that file is reported.
    schedule = PRIMARY.replace("every: 1w", "every: 1fortnight  #!")
    path = write(tmp_path, ROOT_WITH_SCHEDULES, {"primary": schedule})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    schedule_path = tmp_path / "schedules" / "primary.yaml"
    assert_reported(raised.value, schedule_path, marked_line(schedule), "rotation.every")
    assert [p.file for p in raised.value.problems] == [schedule_path]


def test_root_problems_come_before_schedule_problems(tmp_path: Path) -> None:
    root = ROOT_WITH_SCHEDULES.replace("policy: p}", "policy: nope}")
    schedule = PRIMARY.replace("    - bob\n", "    - mallory\n")
    path = write(tmp_path, root, {"primary": schedule})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert [p.file for p in raised.value.problems] == [
        path,
        tmp_path / "schedules" / "primary.yaml",
    ]


def test_a_missing_schedules_dir_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, ROOT_WITH_SCHEDULES)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert f"{tmp_path / 'schedules'}: cannot read schedule directory" in str(raised.value)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert str(raised.value) == f"{path}: cannot read file: No such file or directory"


def test_routes_nested_too_deep_are_reported_where_they_go_too_deep(tmp_path: Path) -> None:
    lines = ["routes:", "  - policy: p"]
    for depth in range(1, MAX_ROUTE_DEPTH + 2):
        indent = "    " * depth
        mark = "  #!" if depth == MAX_ROUTE_DEPTH + 1 else ""
        lines += [f"{indent}routes:{mark}", f"{indent}  - match: {{level: '{depth}'}}"]
    text = ALICE_AND_P + "\n".join(lines) + "\n"
    path = write(tmp_path, text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    where = "routes[0]" + ".routes[0]" * MAX_ROUTE_DEPTH + ".routes"
    assert_reported(raised.value, path, marked_line(text), f"{where}: routes nest at most 10")
    assert len(raised.value.problems) == 1, str(raised.value)


# --- one run finds every mistake in every file -------------------------------------------


def test_one_run_reports_field_errors_references_names_and_members_of_every_file(
    tmp_path: Path,
) -> None:
    root = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob, email: not-an-address}
schedules_dir: schedules
escalation_policies:
  p:
    levels:
      - {targets: [schedule:primary, schedule:secondary, person:bob], ack_timeout: 5m}
routes:
  - {policy: p}
"""
    primary = PRIMARY.replace("    - bob\n", "    - bob\n    - mallory\n") + (
        'overrides:\n  - {person: alice, from: "2026-12-24 00:00", to: "2026-12-23 00:00"}\n'
    )
    other = PRIMARY.replace("name: primary", "name: tertiary")
    path = write(tmp_path, root, {"primary": primary, "other": other})

    assert problems_below(tmp_path, path) == [
        "/tocsin.yaml:3: people.bob.email: String should match pattern '^[^@\\s]+@[^@\\s]+$' "
        "(got 'not-an-address')",
        "/tocsin.yaml:8: escalation_policies.p.levels[0].targets[1]: unknown schedule "
        "'secondary' (no file schedules/secondary.yaml)",
        "/schedules/other.yaml:1: name: 'tertiary' does not match the file name; write name: "
        "other or rename the file to tertiary.yaml",
        "/schedules/primary.yaml:9: rotation.members[2]: unknown person 'mallory' (not in people)",
        "/schedules/primary.yaml:11: overrides[0].to: 'to' (2026-12-23 00:00) must be after "
        "'from' (2026-12-24 00:00)",
    ]


def test_a_name_written_nearly_right_gets_a_suggestion(tmp_path: Path) -> None:
    text = ALICE_AND_P.replace("person:alice", "person:alcie") + "routes:\n  - {policy: p}\n"
    path = write(tmp_path, text)

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert problem_lines(raised.value) == [
        f"{path}:4: escalation_policies.p.levels[0].targets[0]: unknown person 'alcie' "
        "(not in people); did you mean 'alice'?"
    ]


# --- who can be paged --------------------------------------------------------------------


def test_a_policy_that_can_reach_nobody_is_an_error(tmp_path: Path) -> None:
    text = """\
people:
  alice: {name: Alice}
  bob: {name: Bob}
schedules_dir: schedules
escalation_policies:
  p:  #!
    levels:
      - {targets: [schedule:primary], ack_timeout: 5m}
      - {targets: [person:alice], ack_timeout: 5m}
routes:
  - {policy: p}
"""
    path = write(tmp_path, text, {"primary": PRIMARY})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert_reported(
        raised.value,
        path,
        marked_line(text),
        "escalation_policies.p: pages nobody: none of alice, bob has a contact method "
        "(email, webhook, chat, console)",
    )


def test_a_person_who_cannot_be_paged_is_a_warning(tmp_path: Path) -> None:
    text = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob}
schedules_dir: schedules
escalation_policies:
  p: {levels: [{targets: [schedule:primary], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""
    path = write(tmp_path, text, {"primary": PRIMARY})

    loaded = load_config(path)

    assert [str(warning) for warning in loaded.warnings] == [
        f"{path}:3: warning: people.bob: cannot be paged: give them a contact method "
        "(email, webhook, chat, console)"
    ]


# --- groups ------------------------------------------------------------------------------

GROUPS = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob, console: true}
  carol: {name: Carol, console: true}
groups:
  sre: [carol, bob]
schedules_dir: schedules
escalation_policies:
  p:
    levels:
      - {targets: [schedule:primary], ack_timeout: 5m}
      - {targets: ['group:sre:round-robin'], ack_timeout: 5m}
      - {targets: ['group:sre'], ack_timeout: 5m}
routes:
  - {policy: p}
"""


def test_a_group_in_a_rotation_takes_its_turns_in_the_groups_order(tmp_path: Path) -> None:
    schedule = PRIMARY.replace("    - bob\n", "    - group:sre\n")
    path = write(tmp_path, GROUPS, {"primary": schedule})

    loaded = load_config(path)

    rotation = loaded.schedules["primary"].rotation
    assert rotation is not None
    assert rotation.members == ["alice", "carol", "bob"]
    assert [str(t) for t in loaded.config.escalation_policies["p"].levels[1].targets] == [
        "group:sre:round-robin"
    ]


def test_unknown_groups_and_group_members_are_named(tmp_path: Path) -> None:
    root = GROUPS.replace("sre: [carol, bob]", "sre: [carol, bobby]").replace(
        "'group:sre'", "'group:ops'"
    )
    schedule = PRIMARY.replace("    - bob\n", "    - group:sra\n")
    path = write(tmp_path, root, {"primary": schedule})

    assert problems_below(tmp_path, path) == [
        "/tocsin.yaml:6: groups.sre[1]: unknown person 'bobby' (not in people); "
        "did you mean 'bob'?",
        "/tocsin.yaml:13: escalation_policies.p.levels[2].targets[0]: unknown group 'ops' "
        "(not in groups)",
        "/schedules/primary.yaml:8: rotation.members[1]: unknown group 'sra' (not in groups); "
        "did you mean 'sre'?",
    ]


def test_a_group_without_members_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GROUPS.replace("sre: [carol, bob]", "sre: []"), {"primary": PRIMARY})

    with pytest.raises(ConfigFileError) as raised:
        load_config(path)

    assert "groups: group 'sre' has no members" in str(raised.value)
