"""``tocsin ingest-test`` as an operator runs it on a saved payload: the alerts in full, the
webhook's field errors (exit 1), or one line saying what cannot be read (exit 2)."""

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import no_tocsin_environment
from tests.unit.test_config_integrations import ROUTES
from tocsin.cli import main

__all__ = ["no_tocsin_environment"]  # autouse: nothing from the shell's environment

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
CONFIG = (
    """\
integrations:
  - {name: grafana-prod, type: grafana, token: 'env:TOCSIN_GRAFANA_TOKEN', hmac_secret: s}
  - {name: datadog, type: datadog, token: dd}
  - name: kuma
    type: generic
    token: kuma
    mapping:
      summary: {join: [monitor.name, heartbeat.msg], with: ": "}
      dedup_key: monitor.id
      status: heartbeat.status
      resolved_values: [1]
"""
    + ROUTES
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOCSIN_GRAFANA_TOKEN", "from-the-environment")
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    return path


def ingest_test(config: Path, integration: str, payload: Path) -> int:
    return main(["ingest-test", integration, str(payload), "--config", str(config)])


def test_prints_the_alerts_a_payload_becomes_in_full(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest_test(config, "grafana-prod", PAYLOADS / "grafana" / "batch.json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert [(a["dedup_key"], a["status"]) for a in printed] == [
        ("bc97ff14869b13e3", "firing"),
        ("c6eadffa33fcdf37", "resolved"),
    ]
    assert printed[0]["annotations"]["runbook_url"] == "https://runbooks.example.com/cpu"
    assert printed[0]["origin"] == "https://grafana.example.com/"


def test_a_mapping_is_tried_by_the_integrations_name(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ingest_test(config, "kuma", PAYLOADS / "mapped" / "uptime_kuma_up.json") == 0
    (alert,) = json.loads(capsys.readouterr().out)
    assert (alert["summary"], alert["status"], alert["dedup_key"]) == (
        "Checkout API: 200 - OK",
        "resolved",
        "4",
    )


def test_a_payload_the_webhook_would_refuse_lists_its_field_errors_and_exits_1(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = tmp_path / "dd.json"
    payload.write_text(json.dumps({"title": "Disk", "transition": "Exploded", "alert_id": "1"}))
    assert ingest_test(config, "datadog", payload) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "the webhook would refuse this payload (422 invalid payload):"
    assert out[1].startswith("  transition: Value error, unknown transition 'Exploded'; known:")


@pytest.mark.parametrize(
    ("integration", "payload", "message"),
    [
        ("nagios", "grafana/firing.json", "unknown integration 'nagios'"),
        ("datadog", "missing.json", "missing.json: cannot read"),
    ],
)
def test_what_cannot_be_read_is_one_line_and_exit_2(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    integration: str,
    payload: str,
    message: str,
) -> None:
    assert ingest_test(config, integration, PAYLOADS / payload) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert message in err


def test_an_unset_token_variable_is_a_config_error_naming_it(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TOCSIN_GRAFANA_TOKEN")
    assert ingest_test(config, "datadog", PAYLOADS / "datadog" / "triggered.json") == 2
    assert f"{config}:2: integrations[0].token: the environment variable TOCSIN_GRAFANA_TOKEN" in (
        capsys.readouterr().err
    )
