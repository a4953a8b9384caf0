"""The README's configuration reference does what it says: its example loads and routes as
described, and its ready-made severity rules map the names they promise."""

import re
from pathlib import Path

import pytest
import yaml

from ingest.models import Alert
from router.config import RoutingConfig, Severity
from router.matching import place, severity_of
from tests.unit.test_router_matching import alert
from tocsin.config import load_config

README = (Path(__file__).parents[2] / "README.md").read_text()


def yaml_block_after(phrase: str) -> str:
    """The first fenced YAML block after ``phrase``."""
    found = re.search(r"```yaml\n(.*?)```", README[README.index(phrase) :], re.DOTALL)
    assert found is not None, f"no YAML block after {phrase!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> RoutingConfig:
    directory = tmp_path_factory.mktemp("readme")
    (directory / "schedules").mkdir()
    schedule = yaml_block_after("A schedule file, `schedules/payments-primary.yaml`")
    (directory / "schedules" / "payments-primary.yaml").write_text(schedule)
    path = directory / "tocsin.yaml"
    path.write_text(yaml_block_after("## Configuration reference"))
    return load_config(path).routing


ROUTED = {
    "the watchdog from prod-am goes on past its route": (
        alert("prod-am", alertname="Watchdog"),
        ["route-1", "route-3"],
    ),
    "payments, critical, in production: the child": (
        alert(service="payments", severity="critical", env="prod"),
        ["route-2.1"],
    ),
    "payments in staging: the parent": (
        alert(service="payments", severity="critical", env="staging"),
        ["route-2"],
    ),
    "anything else": (alert(service="search"), ["route-3"]),
}


@pytest.mark.parametrize(("sample", "routes"), ROUTED.values(), ids=ROUTED.keys())
def test_the_example_routes_as_described(
    example: RoutingConfig, sample: Alert, routes: list[str]
) -> None:
    assert [placement.route.name for placement in place(sample, example)] == routes


def test_the_example_child_inherits_and_names_its_own_service(example: RoutingConfig) -> None:
    child = example.tree[1].children[0].resolved
    assert (child.policy, child.group_by, child.service) == (
        "payments",
        ("alertname", "cluster"),
        "Checkout",
    )


MAPPED = {
    Severity.SEV1: ["critical", "CRITICAL", "P1", "sev1", "SEV1"],
    Severity.SEV2: ["error", "Error", "p2", "SEV2"],
    Severity.SEV3: ["warning", "P3", "sev3"],
    Severity.SEV4: ["info", "P4", "p5", "SEV4"],
}
UNMAPPED = ["debug", "p10", "sev", "critical!", ""]


def test_the_ready_made_severity_rules() -> None:
    rules = RoutingConfig.model_validate(
        {"routes": [], **yaml.safe_load(yaml_block_after("Ready-made severity rules"))}
    ).severity
    for level, names in MAPPED.items():
        for name in names:
            assert severity_of(alert(severity=name), rules) is level, name
    for name in UNMAPPED:
        assert severity_of(alert(severity=name), rules) is Severity.SEV2, name


def test_the_follow_the_sun_example_is_the_schedule_the_shifts_golden_files_show() -> None:
    # tests/integration/test_shifts_cli.py loads it and checks its shifts.
    fixture = (
        Path(__file__).parents[1] / "fixtures" / "shifts" / "schedules" / "follow-the-sun.yaml"
    )
    assert yaml_block_after("`schedules/follow-the-sun.yaml`") == fixture.read_text()
