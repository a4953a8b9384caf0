"""The README's snippets for Grafana, Datadog and a generic mapping do what it says: pasted
as they are, they load and turn the tools' payloads into the alerts described."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ingest.config import Integration
from ingest.models import Alert, AlertStatus
from ingest.sources import SOURCES
from tests.unit.test_config import ALICE_AND_P
from tests.unit.test_readme_config import yaml_block_after
from tocsin.config import load_config

README = (Path(__file__).parents[2] / "README.md").read_text()
PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECTION = "## Sending from other tools"
ROUTES = ALICE_AND_P + "routes:\n  - {policy: p}\n"


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRAFANA_TOKEN", "GRAFANA_HMAC", "DATADOG_TOKEN", "KUMA_TOKEN"):
        monkeypatch.setenv(name, f"{name.lower()}-value")


def json_block_after(phrase: str) -> str:
    found = re.search(r"```json\n(.*?)```", README[README.index(phrase) :], re.DOTALL)
    assert found is not None
    return found.group(1)


def load(tmp_path: Path, integrations: str) -> list[Integration]:
    path = tmp_path / "tocsin.yaml"
    path.write_text(integrations + ROUTES)
    return load_config(path).config.integrations


def test_the_integrations_load_with_their_secrets_from_the_environment(tmp_path: Path) -> None:
    grafana, datadog = load(tmp_path, yaml_block_after(SECTION))
    assert (grafana.token, grafana.hmac_secret) == ("grafana_token-value", "grafana_hmac-value")
    assert datadog.token == "datadog_token-value"


def test_grafanas_provisioning_matches_the_integration() -> None:
    integration = yaml.safe_load(yaml_block_after(SECTION))["integrations"][0]
    provisioning = yaml.safe_load(yaml_block_after("As a provisioning file"))
    (receiver,) = provisioning["contactPoints"][0]["receivers"]
    settings = receiver["settings"]
    assert (receiver["type"], settings["url"]) == (
        "webhook",
        "https://tocsin.example/v1/webhooks/grafana",
    )
    assert settings["hmacConfig"]["timestampHeader"] == integration["hmac_timestamp_header"]


def test_the_datadog_template_filled_in_by_datadog_is_an_alert(tmp_path: Path) -> None:
    filled = {
        "$ID": "7491342118203954813",
        "$EVENT_TITLE": "[P1] [Triggered on {host:db-1}] Disk full",
        "$EVENT_MSG": "Disk usage on db-1 is 97%",
        "$ALERT_TRANSITION": "Triggered",
        "$ALERT_PRIORITY": "P1",
        "$AGGREG_KEY": "9bd4ac313a4d1e8fae2482df7b77628",
        "$ALERT_ID": "12345678",
        "$ALERT_STATUS": "system.disk.in_use over host:db-1 was > 0.95",
        "$TAGS": "env:prod, host:db-1, monitor",
        "$LINK": "https://app.datadoghq.com/event/event?id=7491342118203954813",
        "$DATE": "1772452800000",
        "$HOSTNAME": "db-1",
    }
    template = json_block_after(SECTION)
    body = json.loads(re.sub(r"\$[A-Z_]+", lambda m: filled[m.group(0)], template))
    integration = load(tmp_path, yaml_block_after(SECTION))[1]
    (alert,) = SOURCES["datadog"].parse(body, integration, NOW)
    assert alert.status is AlertStatus.FIRING
    assert alert.labels == {"priority": "P1", "env": "prod", "host": "db-1", "monitor": ""}
    assert alert.dedup_key == "9bd4ac313a4d1e8fae2482df7b77628"


def test_the_uptime_kuma_mapping_fires_and_resolves(tmp_path: Path) -> None:
    (kuma,) = load(tmp_path, yaml_block_after("Uptime Kuma's webhook"))

    def parse(name: str) -> list[Alert]:
        body = json.loads((PAYLOADS / "mapped" / f"{name}.json").read_text())
        return SOURCES["generic"].parse(body, kuma, NOW)

    (down,), (up,) = parse("uptime_kuma_down"), parse("uptime_kuma_up")
    assert (down.status, up.status) == (AlertStatus.FIRING, AlertStatus.RESOLVED)
    assert down.dedup_key == up.dedup_key == "kuma-4"
    assert down.summary == "Checkout API: Request failed with status code 503"
    assert down.labels == {
        "severity": "critical",
        "monitor": "Checkout API",
        "url": "https://checkout.example.com/health",
    }
    assert down.annotations == {"runbook_url": "https://runbooks.example.com/uptime"}
