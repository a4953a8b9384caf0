"""Each format checked by the tool that knows it (amtool, promtool, systemd-analyze; a test
says so and skips where its tool is not installed), and the Valkey, Sentinel and image
settings Tocsin's guarantees rest on."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy_files import (
    COMPOSE,
    CONTAINERFILE,
    ROLE_PORTS,
    ROOT,
    SERVED,
    SYSTEMD,
    containerfile,
    valkey_directives,
)

# --- the tools that know each format ------------------------------------------------------


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed here, so the {name} check did not run")
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_amtool_accepts_the_alertmanager_configuration() -> None:
    result = run(tool("amtool"), "check-config", str(COMPOSE / "alertmanager" / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_configuration_and_rules() -> None:
    result = run(
        tool("promtool"), "check", "config", str(COMPOSE / "prometheus" / "prometheus.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_watchdog_always_fires() -> None:
    rules = yaml.safe_load((COMPOSE / "prometheus" / "rules.yml").read_text())
    (watchdog,) = [r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "Watchdog"]
    assert watchdog["expr"] == "vector(1)"
    assert "for" not in watchdog, "firing from the first evaluation"


@pytest.fixture
def units(tmp_path: Path) -> list[Path]:
    """The units as installed, except that ExecStart runs this checkout's ``tocsin``:
    systemd-analyze refuses a unit whose program does not exist, and /opt/tocsin does not
    exist here."""
    installed = Path(sys.executable).parent / "tocsin"
    assert installed.exists(), "the tocsin command of this environment"
    copies = []
    for unit in sorted(SYSTEMD.glob("tocsin*.*")):
        if unit.suffix in {".service", ".target"}:
            copy = tmp_path / unit.name
            copy.write_text(unit.read_text().replace("/opt/tocsin/bin/tocsin", str(installed)))
            copies.append(copy)
    return copies


def test_systemd_analyze_verifies_the_units(units: list[Path]) -> None:
    result = run(tool("systemd-analyze"), "verify", "--man=no", *map(str, units))
    # It reports unknown keys and the like on stderr but exits 0: both must be clean.
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


@pytest.mark.parametrize("role", sorted(SERVED))
def test_systemd_rates_each_unit_well_hardened(units: list[Path], role: str) -> None:
    (unit,) = [u for u in units if u.name == f"tocsin-{role}@.service"]
    analyze = tool("systemd-analyze")
    # The threshold counts in tenths of the exposure it prints: 20 is 2.0, well inside "OK".
    result = run(analyze, "security", "--offline=yes", "--threshold=20", str(unit))
    summary = result.stdout.strip().splitlines()[-1:]
    assert result.returncode == 0, f"exposure above 2.0: {summary}"


def test_valkey_keeps_every_accepted_alert() -> None:
    valkey = valkey_directives("valkey.conf")
    assert valkey["appendonly"] == ["yes"]
    assert valkey["appendfsync"][0] in {"everysec", "always"}
    assert valkey["maxmemory-policy"] == ["noeviction"], "an evicted stream entry is a lost alert"
    assert "requirepass" not in valkey, "no password in the file"
    assert "masterauth" not in valkey, "no password in the file"


def test_sentinel_fails_over_only_on_agreement() -> None:
    sentinel = valkey_directives("sentinel.conf")
    master, _, _, quorum = sentinel["sentinel monitor"]
    assert quorum == "2"
    for setting in ["down-after-milliseconds", "failover-timeout"]:
        assert sentinel[f"sentinel {setting}"][0] == master
    assert "sentinel auth-pass" not in sentinel, "no password in the file"
    assert "requirepass" not in sentinel, "no password in the file"


# --- the Containerfile --------------------------------------------------------------------


def test_the_image_runs_as_a_numeric_user_that_is_not_root() -> None:
    users = [argument for instruction, argument in containerfile() if instruction == "USER"]
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), "numeric, so runAsNonRoot can check it"
    assert int(user) != 0
    assert not group or (group.isdigit() and int(group) != 0)


def test_the_image_needs_no_writable_root_and_holds_no_data() -> None:
    instructions = containerfile()
    env = " ".join(argument for instruction, argument in instructions if instruction == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "VOLUME" not in {instruction for instruction, _ in instructions}
    exposed = {int(port) for i, a in instructions if i == "EXPOSE" for port in a.split()}
    assert exposed == set(ROLE_PORTS.values())


def test_the_image_copies_all_the_package_is_built_from_and_the_build_context_has_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {"pyproject.toml", project["project"]["readme"]}
    needed |= {pattern.rstrip("*") for pattern in patterns}
    copied = {
        source
        for instruction, argument in containerfile()
        if instruction == "COPY"
        for source in argument.split()[:-1]
    }
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"
    # The ignore file shuts everything out, then lets back in what is copied.
    ignore = (CONTAINERFILE.parent / f"{CONTAINERFILE.name}.dockerignore").read_text()
    allowed = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
    assert copied <= allowed, f"left out of the build context: {sorted(copied - allowed)}"
