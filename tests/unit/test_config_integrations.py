"""Integrations in tocsin.yaml: secrets from the environment, signatures, and the mappings of
generic integrations, each problem reported as ``file:line: message`` without a secret."""

from pathlib import Path

import pytest

from ingest.config import GRAFANA_SIGNATURE_HEADER, Integration
from ingest.mapping import Join, Literal
from ingest.mapping import Path as MappedPath
from schedules.yamlfile import ConfigFileError
from tests.unit.test_config import ALICE_AND_P, assert_reported, marked_line, write
from tocsin.config import load_config

ROUTES = ALICE_AND_P + "routes:\n  - {policy: p}\n"
GENERIC = "  - name: g\n    type: generic\n    token: t\n"


def load(tmp_path: Path, integrations: str) -> ConfigFileError | list[Integration]:
    path = write(tmp_path, "integrations:\n" + integrations + ROUTES)
    try:
        return list(load_config(path).config.integrations)
    except ConfigFileError as error:
        return error


def test_tokens_and_hmac_secrets_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "from-env")
    monkeypatch.setenv("GRAFANA_HMAC", "hmac-from-env")
    (grafana,) = load(
        tmp_path,
        "  - {name: g, type: grafana, token: 'env:GRAFANA_TOKEN',\n"
        "     hmac_secret: 'env:GRAFANA_HMAC'}\n",
    )
    assert (grafana.token, grafana.hmac_secret) == ("from-env", "hmac-from-env")
    assert "from-env" not in repr(grafana)


def test_signature_headers_default_to_grafanas(tmp_path: Path) -> None:
    (grafana,) = load(tmp_path, "  - {name: g, type: grafana, token: t, hmac_secret: s}\n")
    assert (grafana.hmac_header, grafana.hmac_timestamp_header) == (
        GRAFANA_SIGNATURE_HEADER,
        None,
    )


def test_a_mapping_loads_as_paths_literals_and_joins(tmp_path: Path) -> None:
    (kuma,) = load(
        tmp_path,
        """\
  - name: kuma
    type: generic
    token: t
    mapping:
      summary: {join: [monitor.name, heartbeat.msg], with: ": "}
      status: heartbeat.status
      resolved_values: [1]
      severity: {value: critical}
      labels: {team: "monitor.tags[0].value"}
""",
    )
    mapping = kuma.mapping
    assert mapping.summary == Join.model_validate(
        {"join": ["monitor.name", "heartbeat.msg"], "with": ": "}
    )
    assert mapping.severity == Literal(value="critical")
    assert mapping.labels["team"] == MappedPath(parts=("monitor", "tags", 0, "value"))
    assert mapping.resolved_values == ["1"]


BROKEN = {
    "a token from an unset variable": (
        "  - {name: g, type: grafana, token: 'env:TOCSIN_TEST_UNSET'}  #!\n",
        "integrations[0].token: the environment variable TOCSIN_TEST_UNSET is not set, or empty",
    ),
    "an env: without a name": (
        "  - {name: g, type: grafana, token: 'env:'}  #!\n",
        "after env: comes an environment variable's name",
    ),
    "a token YAML reads as a number": (
        "  - {name: g, type: generic, token: 918273}  #!\n",
        "integrations[0].token: must be text (quote it in YAML)",
    ),
    "an hmac secret from an unset variable": (
        "  - name: g\n    type: grafana\n    token: t\n"
        "    hmac_secret: env:TOCSIN_TEST_UNSET  #!\n",
        "integrations[0].hmac_secret: the environment variable TOCSIN_TEST_UNSET is not set",
    ),
    "a header name no request can carry": (
        "  - {name: g, type: grafana, token: t, hmac_secret: s, hmac_header: 'X Signature'}  #!\n",
        "integrations[0].hmac_header: String should match pattern",
    ),
    "an unknown type": (
        "  - {name: g, type: nagios, token: t}  #!\n",
        "integrations[0].type:",
    ),
    "a mapping on a grafana integration": (
        "  - name: g  #!\n    type: grafana\n    token: t\n    mapping: {summary: a}\n",
        "mapping: only a generic integration takes one, not grafana",
    ),
    "a mapping without a summary": (
        GENERIC + "    mapping: {dedup_key: id}  #!\n",
        "integrations[0].mapping.summary: required, but missing",
    ),
    "a bad path": (
        GENERIC + "    mapping:\n      summary: data..name  #!\n",
        "invalid path 'data..name' at character 5",
    ),
    "a bad path in a label": (
        GENERIC + "    mapping:\n      summary: s\n      labels:\n        host: 'a[x]'  #!\n",
        "integrations[0].mapping.labels.host",
    ),
    "an unknown mapping field": (
        GENERIC + "    mapping:\n      summary: s\n      title: t  #!\n",
        "integrations[0].mapping.title: unknown field",
    ),
    "alerts that is not a path": (
        GENERIC + "    mapping:\n      summary: s\n      alerts: {value: x}  #!\n",
        "alerts is a path to a list in the body",
    ),
    "a misspelled form of value": (
        GENERIC + "    mapping:\n      summary: {valu: x}  #!\n",
        "integrations[0].mapping.summary: write a path (a.b[0].c), {value: TEXT}, {join: [...]} "
        "or {first: [...]}",
    ),
    "a number where a value belongs": (
        GENERIC + "    mapping:\n      summary: s\n      severity: 1  #!\n",
        "integrations[0].mapping.severity: write a path",
    ),
    "an empty join": (
        GENERIC + "    mapping:\n      summary: {join: []}  #!\n",
        "integrations[0].mapping.summary",
    ),
}


@pytest.mark.parametrize(("integrations", "fragment"), BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_integration_names_file_line_and_problem(
    tmp_path: Path, integrations: str, fragment: str
) -> None:
    error = load(tmp_path, integrations)
    assert isinstance(error, ConfigFileError)
    path = tmp_path / "tocsin.yaml"
    assert_reported(error, path, marked_line(path.read_text()), fragment)
    assert len(error.problems) == 1, str(error)


def test_a_secret_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARED", "the-shared-s3cret")
    repeated = load(
        tmp_path,
        "  - {name: a, type: generic, token: 'env:SHARED'}\n"
        "  - {name: b, type: grafana, token: the-shared-s3cret}\n",
    )
    numeric = load(tmp_path, "  - {name: b, type: grafana, token: t, hmac_secret: 12345}\n")
    assert isinstance(repeated, ConfigFileError)
    assert isinstance(numeric, ConfigFileError)
    assert "integrations[1].token: the same token as integrations[0]" in str(repeated)
    assert "s3cret" not in str(repeated)
    assert "12345" not in str(numeric)
