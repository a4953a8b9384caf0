"""``tocsin explain`` and ``tocsin test routes`` as an operator runs them: the text they
read, live silences and inhibition from the real Valkey, and one clear line (never a
traceback) for what cannot be explained."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from router.silence_store import SilenceStore
from router.silences import Silence, SilenceMatcher
from router.store import IncidentStore
from tests.integration.test_cli import no_tocsin_environment
from tocsin.cli import main
from tocsin.config import load_config
from tocsin.store import describe

README = (Path(__file__).parents[2] / "README.md").read_text()

__all__ = ["no_tocsin_environment"]  # autouse: nothing from the shell's environment

CONFIG = """\
integrations:
  - {name: prod-am, type: alertmanager, token: s3cret}
  - {name: custom, type: generic, token: t0ken}
people:
  alice:
    name: Alice
    console: true
    webhook: https://ops.example/alice
    rules: {high: [{after: 0m, notify: [console]}, {after: 3m, notify: [webhook]}]}
  bob: {name: Bob, console: true}
escalation_policies:
  payments: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
  audit: {levels: [{targets: [person:bob], ack_timeout: 5m}]}
routes:
  - {name: audit, match: {env: prod}, policy: audit, continue: true}
  - name: payments
    match: {service: payments}
    policy: payments
    group_by: [cluster]
    routes:
      - {name: payments-db, matchers: ['component=~"db|pg"']}
severity:
  - {match: {severity: critical}, level: SEV1}
maintenance_windows:
  - name: db-upgrade
    matchers: [component=db]
    timezone: Europe/Berlin
    days: [mon]
    start: "03:00"
    end: "05:00"
inhibit_rules:
  - source_matchers: [alertname=ClusterDown]
    target_matchers: [severity=warning]
    equal: [cluster]
"""
AT = "2026-03-02T03:00:00Z"  # Monday 04:00 in Berlin: the db-upgrade window is open
DB_DOWN = {"alertname": "DbDown", "service": "payments", "component": "db", "env": "prod"}
SLOW = {"alertname": "Slow", "service": "payments", "cluster": "eu1", "severity": "warning"}


def notification(*alerts: dict[str, str]) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": labels, "fingerprint": labels["alertname"].lower()}
            for labels in alerts
        ],
    }


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    return path


def payload_file(tmp_path: Path, body: object, name: str = "payload.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return path


def explain(config: Path, payload: Path, *args: str) -> int:
    return main(["explain", str(payload), "--config", str(config), "--at", AT, *args])


def test_explain_tells_routes_holds_and_pages(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = payload_file(tmp_path, notification(DB_DOWN))

    assert explain(config, payload, "--integration", "prod-am") == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        "prod-am (alertmanager) at 2026-03-02 03:00:00 UTC\n"
        "note: silences, inhibiting alerts and open incidents not checked: no store "
        "(TOCSIN_REDIS_URL is not set, and no running `tocsin up` in .tocsin)\n"
        "\n"
        "alert dbdown firing: DbDown\n"
        "  labels: alertname=DbDown component=db env=prod service=payments\n"
        "  routes tried:\n"
        "    audit                    matched, continue  <- lands here\n"
        "    payments                 matched\n"
        "      payments-db            matched  <- lands here\n"
        "  severity: SEV2 (default)\n"
        "  held: maintenance db-upgrade until 2026-03-02 04:00:00 UTC (component=db; "
        "03:00-05:00 Europe/Berlin)\n"
        "  -> audit: policy audit, each distinct alert its own incident\n"
        "     level 1 (person:bob): Bob (bob), not paged now: held by maintenance db-upgrade\n"
        "       bob: every method at once: console\n"
        '  -> payments-db: policy payments, grouped by {cluster=""}\n'
        "     level 1 (person:alice): Alice (alice), not paged now: held by maintenance "
        "db-upgrade\n"
        "       alice: now console; at 3m webhook\n"
    )


def test_explain_says_why_a_route_did_not_match_and_when_nothing_does(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"summary": "disk full", "severity": "critical", "labels": {"service": "web"}}
    payload = payload_file(tmp_path, body)

    assert explain(config, payload, "--integration", "generic") == 0

    out = capsys.readouterr().out
    assert '    audit                    no: match env="prod" (the alert has no env)\n' in out
    assert (
        '    payments                 no: match service="payments" (the alert has "web")\n' in out
    )
    assert "  severity: SEV1 (severity[0])\n" in out
    assert "  unrouted: no top-level route matches; the router drops it\n" in out


def test_explain_as_json(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    payload = payload_file(tmp_path, notification(SLOW))

    assert explain(config, payload, "--integration", "prod-am", "--json") == 0

    told = json.loads(capsys.readouterr().out)
    assert told["at"] == "2026-03-02T03:00:00Z"
    (alert,) = told["alerts"]
    assert [landing["route"] for landing in alert["routing"]["landings"]] == ["payments"]
    assert alert["routing"]["landings"][0]["group_labels"] == {"cluster": "eu1"}
    # SEV2, high urgency: Alice's rules say how.
    assert alert["pages"][0]["people"] == [
        {
            "id": "alice",
            "name": "Alice",
            "by_rules": True,
            "notify": [
                {"after_seconds": 0, "channels": ["console"]},
                {"after_seconds": 180, "channels": ["webhook"]},
            ],
        }
    ]
    assert alert["pages"][0]["now"] is True


@pytest.fixture
async def live(redis: Redis, config: Path) -> Silence:
    """A silence of env=prod, and a ClusterDown firing in eu1, in the store."""
    now = datetime.now(UTC)
    silence = await SilenceStore(redis).save(
        Silence(
            matchers=[SilenceMatcher(name="env", value="prod", is_regex=False)],
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(days=3650),
            created_by="carol",
            comment="migration",
        ),
        now,
    )
    source = Alert(
        dedup_key="cluster-down",
        status=AlertStatus.FIRING,
        summary="eu1 down",
        labels={"alertname": "ClusterDown", "cluster": "eu1", "service": "payments"},
        integration="prod-am",
        source="alertmanager",
        received_at=now,
    )
    await IncidentStore(redis).apply_alert(source, load_config(config).routing)
    return silence


def test_explain_reads_silences_and_inhibition_from_the_store(
    config: Path,
    tmp_path: Path,
    live: Silence,
    valkey_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    prod = {**DB_DOWN, "component": "api"}
    payload = payload_file(tmp_path, notification(prod, SLOW))
    argv = ["explain", str(payload), "--config", str(config), "--integration", "prod-am"]

    assert main(argv) == 0  # at the time it is now: the silence is active

    out = capsys.readouterr().out
    assert "note: silences, inhibiting alerts and open incidents read from redis://" in out
    assert "not checked" not in out
    assert f"  held: silence {live.id} until " in out
    assert "(carol: migration)" in out
    assert (
        "  held: inhibition inhibit_rules[0] (a source alert (alertname=ClusterDown) fires in "
        "the store with the same cluster)\n"
    ) in out


def test_explain_without_a_reachable_store_says_so(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", "redis://127.0.0.1:1/0")
    payload = payload_file(tmp_path, notification(SLOW))

    assert explain(config, payload, "--integration", "prod-am") == 0

    out = capsys.readouterr().out
    assert (
        "note: silences, inhibiting alerts and open incidents not checked: store unreachable ("
        in out
    )
    assert "  -> payments: policy payments" in out


def test_a_payload_the_webhook_would_refuse(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = tmp_path / "payload.json"
    payload.write_text('{"version": "4", "alerts": [{"labels": {"a": 1e400}}]}')

    assert explain(config, payload, "--integration", "prod-am") == 1

    out = capsys.readouterr().out
    assert out.endswith(
        "the webhook would refuse this payload (422 invalid payload):\n"
        "  alerts[0].status: Field required\n"
        "  alerts[0].labels.a: Value error, must be text, or a number within the range of a "
        "64-bit float\n"
    )


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, [], "{payload}: cannot read: No such file or directory"),
        ('{"version": ', [], "{payload}: malformed JSON at line 1, column 13: Expecting value"),
        ("{}", [], "name the integration the payload arrives on (one of: prod-am, custom)"),
        ("{}", ["--integration", "pagerduty"], "unknown integration 'pagerduty' (known: "),
        ("{}", ["--integration", "custom", "--at", "next monday"], "invalid time 'next monday'"),
    ],
)
def test_what_cannot_be_explained_is_one_line_and_exit_2(
    config: Path,
    tmp_path: Path,
    content: str | None,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    payload = tmp_path / "payload.json"
    if content is not None:
        payload.write_text(content)

    assert main(["explain", str(payload), "--config", str(config), *args]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tocsin: " + message.format(payload=payload))
    assert err.count("\n") == 1


# --- tocsin test routes ----------------------------------------------------------------

CASES = """\
cases:
  - name: a database alert goes to the DBAs' route
    integration: prod-am
    payload_file: db.json
    at: 2026-03-02T12:00:00Z
    expect:
      routes: [audit, payments-db]
      severity: SEV2
      paged: [bob, alice]
  - name: the maintenance window holds it
    integration: alertmanager
    payload_file: db.json
    at: 2026-03-02T03:00
    expect: {paged: []}
  - name: generic alerts by cluster
    integration: custom
    payload: {summary: slow, severity: critical, labels: {service: payments, cluster: eu1}}
    expect:
      route: payments
      group_labels: {cluster: eu1}
      severity: SEV1
"""


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    payload_file(tmp_path, notification(DB_DOWN), "db.json")
    path = tmp_path / "cases.yaml"
    path.write_text(CASES)
    return path


def test_routes(config: Path, cases: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "routes", str(cases), "--config", str(config)]) == 0

    assert capsys.readouterr().out == (
        "pass  a database alert goes to the DBAs' route\n"
        "pass  the maintenance window holds it\n"
        "pass  generic alerts by cluster\n"
        "3 cases: 3 passed, 0 failed (offline: silences, alerts already firing and open "
        "incidents are not consulted)\n"
    )


def test_routes_that_fail_show_what_differs(
    config: Path, cases: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases.write_text(
        CASES.replace("paged: [bob, alice]", "paged: [alice]")
        .replace("route: payments", "route: payments-db")
        .replace("{cluster: eu1}\n", "{cluster: us1}\n")
    )

    assert main(["test", "routes", str(cases), "--config", str(config)]) == 1

    assert capsys.readouterr().out == (
        "FAIL  a database alert goes to the DBAs' route\n"
        "      paged: expected [alice], got [bob, alice]\n"
        "pass  the maintenance window holds it\n"
        "FAIL  generic alerts by cluster\n"
        "      group_labels: expected {cluster: us1}, got {cluster: eu1}\n"
        "      route: expected payments-db, got payments\n"
        "3 cases: 1 passed, 2 failed (offline: silences, alerts already firing and open "
        "incidents are not consulted)\n"
    )


def test_a_broken_cases_file_is_reported_at_its_lines(
    config: Path, cases: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases.write_text(
        CASES.replace("integration: custom", "integration: nagios")
        .replace("payload_file: db.json\n    at: 2026-03-02T03:00", "payload_file: gone.json")
        .replace("routes: [audit, payments-db]", "routes: [audit, payments-dba]")
    )

    assert main(["test", "routes", str(cases), "--config", str(config)]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{cases}:7: cases[0].expect.routes[1]: no route is named 'payments-dba'",
        f"{cases}:12: cases[1].payload_file: {cases.parent / 'gone.json'}: cannot read: "
        "No such file or directory",
        f"{cases}:15: cases[2].integration: unknown integration 'nagios' (known: prod-am, custom)",
    ]

    cases.write_text(CASES.replace("expect: {paged: []}", "expect: {}\n    paylod: {}"))
    assert main(["test", "routes", str(cases), "--config", str(config)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{cases}:14: cases[1].expect: expect at least one of route, routes, severity, paged, "
        "group_labels",
        f"{cases}:15: cases[1].paylod: unknown field",
    ]


# --- the README's examples -------------------------------------------------------------


def readme_block(kind: str, after: str) -> str:
    found = re.search(rf"```{kind}\n(.*?)```", README[README.index(after) :], re.DOTALL)
    assert found is not None, f"no {kind} block after {after!r}"
    return found.group(1)


@pytest.fixture
def readme_example(tmp_path: Path) -> Path:
    """The README's reference configuration and schedule, and its walkthrough's alert."""
    (tmp_path / "schedules").mkdir()
    schedule = readme_block("yaml", "A schedule file, `schedules/payments-primary.yaml`")
    (tmp_path / "schedules" / "payments-primary.yaml").write_text(schedule)
    curl = readme_block("sh", "Send an alert, the way Alertmanager would")
    (tmp_path / "checkout.json").write_text(curl.split("-d '")[1].split("'")[0])
    path = tmp_path / "tocsin.yaml"
    path.write_text(readme_block("yaml", "## Configuration reference"))
    return path


def test_the_readme_examples_are_what_tocsin_prints(
    readme_example: Path,
    redis: Redis,
    valkey_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    monkeypatch.chdir(readme_example.parent)
    monkeypatch.setenv("TOCSIN_CONFIG", str(readme_example))
    explained = readme_block("text", "## Explain and test your routes")
    command, *printed = explained.splitlines(keepends=True)

    assert main(command.removeprefix("$ tocsin ").split()) == 0

    out = capsys.readouterr().out
    url = re.escape(describe(valkey_url))
    assert re.sub(f"read from {url}\n", "read from redis://127.0.0.1:6379/0\n", out) == "".join(
        printed
    )

    tested = readme_block("text", "`tocsin test routes CASES.yaml` checks")
    command, *printed = tested.splitlines(keepends=True)
    cases = readme_block("yaml", "`tocsin test routes CASES.yaml` checks")
    (readme_example.parent / "route-cases.yaml").write_text(cases)

    assert main(command.removeprefix("$ tocsin ").split()) == 1
    assert capsys.readouterr().out == "".join(printed)


def test_explain_says_when_a_schedule_has_a_gap_then(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "office.yaml").write_text(
        "name: office\n"
        "timezone: UTC\n"
        "layers:\n"
        '  - {every: 1w, handoff: "2026-03-02 09:00", members: [alice],\n'
        '     restrictions: [{start: "09:00", end: "17:00"}]}\n'
    )
    path = tmp_path / "tocsin.yaml"
    path.write_text(
        CONFIG.replace("people:", "schedules_dir: schedules\npeople:").replace(
            "targets: [person:alice]", "targets: [schedule:office]"
        )
    )
    payload = payload_file(tmp_path, notification({"alertname": "Slow", "service": "payments"}))

    assert explain(path, payload, "--integration", "prod-am") == 0

    out = capsys.readouterr().out
    assert (
        "     level 1 (schedule:office): nobody (its schedules have a gap then), paged now\n" in out
    )
