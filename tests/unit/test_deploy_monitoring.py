"""The Grafana dashboard and the Prometheus rules for Tocsin itself: the dashboard's shape
as Grafana imports it, every query valid PromQL and every rule checked and unit-tested by
promtool (skipped, saying so, where it is not installed). That the metrics they name exist
is checked against a running Tocsin (``tests/integration/test_deploy_metrics.py``)."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy_files import COMPOSE, DEPLOY

DASHBOARD = DEPLOY / "grafana" / "tocsin-dashboard.json"
RULES = DEPLOY / "prometheus" / "tocsin-rules.yml"
RULES_TESTS = DEPLOY / "prometheus" / "tocsin-rules.test.yml"
GRAFANA_INTERVALS = re.compile(r"\$__(rate_)?interval")
"""Grafana's own variables, which Prometheus would not know."""


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def rule_queries() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed here, so the promtool check did not run")
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_the_dashboard_picks_its_prometheus_when_imported() -> None:
    board = dashboard()
    (variable,) = board["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    assert board["uid"]
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)


def test_every_panel_queries_that_prometheus() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels), "panel ids are unique"
    source = {"type": "prometheus", "uid": "${datasource}"}
    for panel in panels:
        assert panel["title"]
        assert panel["type"] == "timeseries", panel["title"]
        assert set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["datasource"] == source
        assert panel["targets"], f"{panel['title']}: no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"] == source
            assert re.search(r"\btocsin_|\bup\{", target["expr"]), target["expr"]


def test_panels_do_not_overlap() -> None:
    cells: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        pos = panel["gridPos"]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not cells & mine, panel["title"]
        assert pos["x"] + pos["w"] <= 24
        cells |= mine


def test_every_dashboard_query_is_promql(tmp_path: Path) -> None:
    """promtool has no query checker of its own: each query becomes a recording rule."""
    tool = promtool()
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{n}", "expr": GRAFANA_INTERVALS.sub("5m", expr)}
                    for n, expr in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run(tool, "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = run(promtool(), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_fire_as_their_unit_tests_say() -> None:
    result = run(promtool(), "test", "rules", str(RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_jobs_the_rules_watch_are_the_ones_scraped() -> None:
    scraped = yaml.safe_load((COMPOSE / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in scraped["scrape_configs"]}
    watched = set(re.findall(r'job="([^"]+)"', "\n".join(rule_queries())))
    assert watched == {"tocsin-worker", "tocsin-router"}
    assert watched <= jobs
