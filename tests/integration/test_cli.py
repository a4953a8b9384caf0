"""``tocsin check|oncall|web|worker|…`` as an operator runs them: exit codes, and messages
that say what to fix (never a stack trace). In-process, except one real ``python -m tocsin``."""

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router.config import Route, RoutingConfig
from router.store import IncidentStore
from tocsin.cli import main
from tocsin.store import connect

DEPLOY = Path(__file__).parents[2] / "deploy" / "tocsin.yaml"

BROKEN = """\
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: paymnets}
"""
BROKEN_LINE = 6


@pytest.fixture(autouse=True)
def no_tocsin_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets: nothing from the shell that runs the tests."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def logging_as_it_was() -> Iterator[None]:
    """``main`` sets up logging for its process, on the stream of the test that called it;
    later tests would log to that stream, closed by then."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(BROKEN)
    return path


# --- check -------------------------------------------------------------------------------


def test_check_accepts_the_deploy_example(capsys: pytest.CaptureFixture[str]) -> None:
    # As of a day before its override ends: later, check warns that the override is over.
    assert main(["check", "--config", str(DEPLOY), "--at", "2026-11-23T00:00Z"]) == 0

    out, err = capsys.readouterr()
    assert out == (f"{DEPLOY}: ok (2 integrations, 2 people, 1 schedules, 1 policies, 2 routes)\n")
    assert err == ""


def test_check_reads_the_config_path_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOCSIN_CONFIG", str(DEPLOY))

    assert main(["check", "--at", "2026-11-23T00:00Z"]) == 0
    assert capsys.readouterr().out.startswith(f"{DEPLOY}: ok (")


def test_check_reports_a_broken_file_at_its_line(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--config", str(broken)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"{broken}:{BROKEN_LINE}: routes[0].policy: unknown escalation policy 'paymnets' "
        "(not in escalation_policies)\n"
    )


NESTED = (
    BROKEN.removesuffix("  - {policy: paymnets}\n")
    + """\
  - policy: p
    routes:
      - matchers: ['severity=~"critical|error"', 'env!=staging']
        routes:
          - {matchers: ['team=~"(db"']}
      - {match: {team: web}, continue: true}
severity:
  - {matchers: [severity], level: SEV1}
"""
)


def test_check_reports_matchers_anywhere_in_the_tree_at_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(NESTED)

    assert main(["check", "--config", str(path)]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"{path}:10: routes[0].routes[0].routes[0].matchers[0]: team=~'(db': invalid regex: "
        "missing ), unterminated subpattern at position 0",
        f"{path}:13: severity[0].matchers[0]: 'severity' is not a matcher: write label=value, "
        'label!=value, label=~regex or label!~regex (for example severity=~"critical|error")',
    ]

    path.write_text(NESTED.replace('(db"', 'db"').replace("[severity]", "[severity=page]"))
    assert main(["check", "--config", str(path)]) == 0
    assert capsys.readouterr().out.endswith("1 policies, 4 routes)\n")


UNPAGEABLE_BOB = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob}
escalation_policies:
  p: {levels: [{targets: [person:alice, person:bob], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""


def test_check_prints_warnings_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(UNPAGEABLE_BOB)

    assert main(["check", "--config", str(path)]) == 0

    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: ok (")
    assert err == (
        f"{path}:3: warning: people.bob: cannot be paged: give them a contact method "
        "(email, webhook, chat, console)\n"
    )


def test_check_strict_refuses_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(UNPAGEABLE_BOB)

    assert main(["check", "--strict", "--config", str(path)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == "tocsin: 1 warnings, refused by --strict"


PLANTED = """\
people:
  alice: {name: Alice, console: true}
  bob: {name: Bob, console: true}
schedules_dir: schedules
escalation_policies:
  p: {levels: [{targets: [schedule:daytime, person:carol], ack_timeout: 5m}]}
routes:
  - {policy: p}
"""
DAYTIME = """\
name: daytime
timezone: UTC
layers:
  - every: 1w
    handoff: "2026-11-02 09:00"
    members: [alice, bob]
    restrictions:
      - {days: [mon, tue, wed, thu, fri, sat, sun], start: "06:00", end: "22:00"}
overrides:
  - {person: alice, from: "2026-11-30 10:00", to: "2026-11-30 12:00"}
"""


def test_check_finds_a_gap_a_dangling_reference_and_a_no_op_override_in_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "daytime.yaml").write_text(DAYTIME)
    path = tmp_path / "tocsin.yaml"
    path.write_text(PLANTED)

    assert main(["check", "--config", str(path), "--at", "2026-11-23T00:00Z", "--weeks", "1"]) == 2

    out, err = capsys.readouterr()
    schedule = tmp_path / "schedules" / "daytime.yaml"
    assert out == ""
    assert err.splitlines() == [
        f"{path}:6: escalation_policies.p.levels[0].targets[1]: unknown person 'carol' "
        "(not in people)",
        f"{schedule}:3: warning: layers: nobody is on call 8 times in the next 1 weeks (UTC): "
        "2026-11-23 00:00 to 2026-11-23 06:00, 2026-11-23 22:00 to 2026-11-24 06:00, "
        "2026-11-24 22:00 to 2026-11-25 06:00 and 5 more",
        f"{schedule}:10: warning: overrides[0]: changes nothing: alice is on call then anyway",
    ]


def test_check_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"

    assert main(["check", "--config", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"tocsin: no configuration file at {missing} ({missing}); name one with --config PATH "
        "or the TOCSIN_CONFIG environment variable\n"
    )


@pytest.mark.parametrize("command", ["oncall", "up"])
def test_without_a_config_in_the_folder_says_where_it_looked_and_how_to_point_at_one(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main([command]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"tocsin: no configuration file at tocsin.yaml ({tmp_path / 'tocsin.yaml'}); name one "
        "with --config PATH or the TOCSIN_CONFIG environment variable\n"
    )


def test_a_broken_file_stops_every_command(
    broken: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1")
    monkeypatch.setenv("TOCSIN_SECRET_KEY", "k")
    for command in ("up", "web", "router", "worker", "oncall"):
        assert main([command, "--config", str(broken)]) == 2, command
        assert f"{broken}:{BROKEN_LINE}: " in capsys.readouterr().err


def test_python_dash_m_tocsin_check_on_a_broken_file(broken: Path, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    done = subprocess.run(
        [sys.executable, "-m", "tocsin", "check", "--config", str(broken)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert f"{broken}:{BROKEN_LINE}: " in done.stderr
    assert "unknown escalation policy" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


# --- oncall ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "who"),
    [
        # The rotation hands off Mondays 09:00 Berlin time, Alice first from 2026-01-05.
        ("2026-03-02T07:59+00:00", "Bob (bob)"),
        ("2026-03-02T08:00+00:00", "Alice (alice)"),
        ("2026-03-02T12:00Z", "Alice (alice)"),
        # Bob's override covers 2026-12-24 00:00 to 2026-12-27 00:00, in Alice's week.
        ("2026-12-23T23:59+01:00", "Alice (alice)"),
        ("2026-12-24T00:00+01:00", "Bob (bob)"),
        ("2026-12-25T12:00+01:00", "Bob (bob)"),
        ("2026-12-27T00:00+01:00", "Alice (alice)"),
    ],
)
def test_oncall_at_an_instant(at: str, who: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "--config", str(DEPLOY), "--at", at]) == 0

    assert capsys.readouterr().out == f"payments-primary: {who}\n"


def test_oncall_for_one_named_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["oncall", "payments-primary", "--config", str(DEPLOY), "--at", "2026-12-25T00:00Z"]

    assert main(argv) == 0
    assert capsys.readouterr().out == "payments-primary: Bob (bob)\n"


def test_oncall_for_an_unknown_schedule_names_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["oncall", "payments-secondary", "--config", str(DEPLOY), "--at", "2026-12-25T00:00Z"]

    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "tocsin: no schedule 'payments-secondary' (known: payments-primary)\n"


@pytest.mark.parametrize(
    ("at", "who"),
    [
        # Read as Berlin time, whatever the machine's zone: the override starts at midnight.
        ("2026-12-23T23:59", "Alice (alice) at 2026-12-23 23:59 CET"),
        ("2026-12-25T10:00", "Bob (bob) at 2026-12-25 10:00 CET"),
        # Summer time: 2026-06-01 is 21 weeks after Alice's first handoff, so Bob's turn.
        ("2026-06-01T08:59", "Alice (alice) at 2026-06-01 08:59 CEST"),
        ("2026-06-01T09:00", "Bob (bob) at 2026-06-01 09:00 CEST"),
    ],
)
def test_oncall_reads_a_time_without_offset_in_the_schedules_zone_and_says_so(
    at: str, who: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["oncall", "--config", str(DEPLOY), "--at", at]) == 0

    out, err = capsys.readouterr()
    assert out == f"payments-primary: {who} (--at read in Europe/Berlin)\n"
    assert err == ""


def test_oncall_refuses_a_time_that_is_not_iso(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["oncall", "--config", str(DEPLOY), "--at", "christmas"])

    assert exited.value.code == 2
    assert "argument --at: invalid fromisoformat value: 'christmas'" in capsys.readouterr().err


# --- serving roles refuse to start without the settings they need ------------------------


KEY = "k" * 32


def refused(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines of stderr of a start refused before anything started."""
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    return err.splitlines()


def test_web_needs_a_redis_url(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_SECRET_KEY", KEY)

    assert main(["web", "--config", str(DEPLOY)]) == 2
    assert refused(capsys) == [
        "tocsin: TOCSIN_REDIS_URL is not set: separate roles share one Redis"
    ]


@pytest.mark.parametrize("role", ["web", "worker", "up"])
def test_a_short_secret_key_is_refused_before_anything_starts(
    role: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Accepted, it would sign no link: every page would fail and nobody would be paged.
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("TOCSIN_SECRET_KEY", "short")

    assert main([role, "--config", str(DEPLOY)]) == 2
    (line,) = refused(capsys)
    assert line.startswith("tocsin: TOCSIN_SECRET_KEY is 5 bytes: it must be at least 16 ")


def test_web_names_every_missing_setting_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["web", "--config", str(DEPLOY)]) == 2

    lines = refused(capsys)
    assert [line.split(" is not set")[0] for line in lines] == [
        "tocsin: TOCSIN_REDIS_URL",
        "tocsin: TOCSIN_SECRET_KEY",
    ]


def test_worker_needs_a_secret_key(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1")

    assert main(["worker", "--config", str(DEPLOY)]) == 2
    assert refused(capsys) == [
        "tocsin: TOCSIN_SECRET_KEY is not set: every web and worker process must sign and "
        "check acknowledge links with the same key"
    ]


def test_router_needs_a_redis_url_but_no_secret_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["router", "--config", str(DEPLOY)]) == 2
    assert refused(capsys) == [
        "tocsin: TOCSIN_REDIS_URL is not set: separate roles share one Redis"
    ]


def test_up_says_when_it_cannot_keep_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    data_dir = in_the_way / "data"

    assert main(["up", "--config", str(DEPLOY), "--data-dir", str(data_dir)]) == 2
    (line,) = refused(capsys)
    assert line.startswith(f"tocsin: cannot keep the link-signing key in {data_dir}/secret.key: ")
    assert line.endswith("choose another --data-dir or set TOCSIN_SECRET_KEY")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://redis:6379", "unsupported store URL scheme 'http'"),
        ("redis+sentinel://s1:26379", "name the monitored service after the hosts"),
        ("redis+sentinel://s1/mymaster", "each Sentinel must be written host:port"),
    ],
)
@pytest.mark.parametrize("role", ["router", "worker", "web"])
def test_a_store_url_that_cannot_work_is_refused(
    role: str,
    url: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", url)
    monkeypatch.setenv("TOCSIN_SECRET_KEY", KEY)

    assert main([role, "--config", str(DEPLOY)]) == 2
    (line,) = refused(capsys)
    assert line.startswith("tocsin: TOCSIN_REDIS_URL: ")
    assert message in line


def test_dead_letters_need_a_store_to_look_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dead-letters", "list", "--data-dir", str(tmp_path)]) == 2
    (line,) = refused(capsys)
    assert line == (
        "tocsin: TOCSIN_REDIS_URL is not set, and no running `tocsin up` was found in "
        f"{tmp_path} (--data-dir)"
    )


def test_replay_needs_an_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["dead-letters", "replay"]) == 2
    (line,) = refused(capsys)
    assert line.startswith("tocsin: replay needs the id of a dead letter")


def test_silence_add_list_expire_from_the_command_line(
    valkey_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    assert (
        main(["silence", "add", "service=payments", "--comment", "deploy", "--author", "al"]) == 0
    )
    silence_id = capsys.readouterr().out.strip()

    assert main(["silence", "list"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith(f'{silence_id}  service="payments"  until ')
    assert line.endswith("  al: deploy")

    assert main(["silence", "expire", silence_id]) == 0
    assert main(["silence", "list"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["silence", "list", "--expired"]) == 0
    assert silence_id in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "service", "--comment", "x"], "is not a matcher"),
        (["add", "team=", "--comment", "x"], "must not match the empty string"),
        (["add", "a=b", "--comment", "x", "--duration", "soon"], "invalid duration 'soon'"),
        (["expire", "nope"], "no silence 'nope'"),
    ],
)
def test_a_bad_silence_command_says_why(
    args: list[str],
    message: str,
    valkey_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    assert main(["silence", *args]) == 2
    (line,) = refused(capsys)
    assert message in line


async def open_incident(valkey_url: str, dedup_key: str, summary: str) -> str:
    """An incident opened by one firing alert, as the router opens it; its id."""
    store = IncidentStore(connect(valkey_url))
    try:
        routing = RoutingConfig(routes=[Route(policy="p")])
        alert = Alert(
            dedup_key=dedup_key,
            status=AlertStatus.FIRING,
            summary=summary,
            labels={"host": "db-1"},
            integration="prom",
            source="alertmanager",
            received_at=datetime.now(UTC),
        )
        change = await store.apply_alert(alert, routing)
        assert change.incident_id is not None
        return change.incident_id
    finally:
        await store.redis.aclose()


def test_incident_resolve_from_the_command_line(
    valkey_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    incident_id = asyncio.run(open_incident(valkey_url, "disk", "disk full"))
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    resolve = ["incident", "resolve", "--config", str(DEPLOY), incident_id]

    assert main([*resolve, "--by", "al"]) == 0
    assert capsys.readouterr().out == f"incident {incident_id} resolved by al\n"
    assert main(resolve) == 0
    assert capsys.readouterr().out == f"incident {incident_id} was already resolved\n"

    assert main(["incident", "resolve", "--config", str(DEPLOY), "99"]) == 2
    (line,) = refused(capsys)
    assert line == "tocsin: no incident '99' (or it was resolved more than 30d ago)"
    assert main([*resolve, "--by", " "]) == 2
    (line,) = refused(capsys)
    assert line == "tocsin: --by: say who resolves the incident"


def test_incident_severity_from_the_command_line(
    valkey_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    incident_id = asyncio.run(open_incident(valkey_url, "disk", "disk full"))  # SEV2
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    severity = ["incident", "severity", "--config", str(DEPLOY), incident_id]

    assert main([*severity, "SEV1", "--by", "al"]) == 0
    said = f"incident {incident_id} raised to SEV1 by al: paged again from level 1\n"
    assert capsys.readouterr().out == said
    assert main([*severity, "SEV1"]) == 0
    assert capsys.readouterr().out == f"incident {incident_id} is already SEV1\n"
    assert main([*severity, "SEV4", "--by", "al"]) == 0
    assert capsys.readouterr().out == f"incident {incident_id} lowered to SEV4 by al\n"

    assert main([*severity, "SEV3", "--by", " "]) == 2
    (line,) = refused(capsys)
    assert line == "tocsin: --by: say who sets the severity"
    assert main(["incident", "severity", "--config", str(DEPLOY), "99", "SEV1"]) == 2
    (line,) = refused(capsys)
    assert line == "tocsin: no incident '99' (or it was resolved and has expired)"
    assert main(["incident", "resolve", "--config", str(DEPLOY), incident_id, "--by", "al"]) == 0
    capsys.readouterr()
    assert main([*severity, "SEV1"]) == 2
    (line,) = refused(capsys)
    assert line == f"tocsin: incident {incident_id} is resolved: its severity stays SEV4"
    with pytest.raises(SystemExit) as exited:
        main([*severity, "SEV9"])
    assert exited.value.code == 2
    assert "'SEV9' is not one of SEV1, SEV2, SEV3, SEV4" in capsys.readouterr().err


def test_incidents_from_the_command_line(
    valkey_url: str,
    redis: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    disk = asyncio.run(open_incident(valkey_url, "disk", "disk full"))
    cpu = asyncio.run(open_incident(valkey_url, "cpu", "cpu hot\x1b[2J"))
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    assert main(["incident", "resolve", "--config", str(DEPLOY), disk, "--by", "al"]) == 0
    capsys.readouterr()

    assert main(["incidents"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["ID", "SEVERITY", "STATUS", "AGE", "TITLE", "OWNER"]
    assert row.split() == [cpu, "SEV2", "triggered", "0m", "cpu", "hot?[2J"]

    assert main(["incidents", "--status", "all", "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == [cpu, disk]  # newest first
    assert lines[2].split()[2:] == ["resolved", "0m", "disk", "full"]

    assert main(["incidents", "--status", "all", "--limit", "1", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["incidents"]
    assert (listed["id"], listed["title"]) == (cpu, "cpu hot\x1b[2J")

    assert main(["incidents", "show", disk]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == f"#{disk} SEV2 disk full"
    assert shown[1].startswith("resolved · opened ")
    assert "Alerts (1 firing of 1):" in shown  # resolved by hand, not by its alert
    assert "           host=db-1" in shown
    assert shown[-1].endswith(" UTC  resolved · al · resolved by al")
    assert main(["incidents", "show", disk, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in body["timeline"]][-1] == "resolved"
    assert body["alerts"][0]["labels"] == {"host": "db-1"}

    assert main(["incidents", "show", "99"]) == 2
    (line,) = refused(capsys)
    assert line == "tocsin: no incident '99' (or it was resolved and has expired)"
    with pytest.raises(SystemExit) as exited:
        main(["incidents", "--limit", "0"])
    assert exited.value.code == 2
    assert "--limit: a number from 1 to 1000, not '0'" in capsys.readouterr().err


def test_incidents_without_a_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["incidents", "--data-dir", str(tmp_path)]) == 2
    (line,) = refused(capsys)
    assert line.startswith("tocsin: TOCSIN_REDIS_URL is not set, and no running `tocsin up`")
