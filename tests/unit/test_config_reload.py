"""Reloading the configuration: an edit is taken up only when all of it validates; a broken
one keeps the last good configuration running and says why, at its file and line."""

import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from watchfiles import Change

from tests.unit.test_config import ROOT_WITH_SCHEDULES as ROOT
from tocsin.config import LoadedConfig, load_config
from tocsin.reloading import ConfigHolder

ROTATION = """\
name: primary
timezone: UTC
rotation:
  every: 1w
  handoff: "2026-01-05 09:00"
  members: [%s]
"""


def write(directory: Path, members: str = "alice", root: str = ROOT) -> Path:
    (directory / "schedules").mkdir(exist_ok=True)
    (directory / "schedules" / "primary.yaml").write_text(ROTATION % members)
    path = directory / "tocsin.yaml"
    path.write_text(root)
    return path


class Taken:
    """A subscriber: every configuration handed to it."""

    def __init__(self) -> None:
        self.configs: list[LoadedConfig] = []

    def __call__(self, loaded: LoadedConfig) -> None:
        self.configs.append(loaded)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def holder(tmp_path: Path, registry: CollectorRegistry) -> ConfigHolder:
    return ConfigHolder(load_config(write(tmp_path)), registry)


def members(holder: ConfigHolder) -> list[str]:
    return list(holder.current.schedules["primary"].people)


def valid(registry: CollectorRegistry) -> float | None:
    return registry.get_sample_value("tocsin_config_valid")


def info(registry: CollectorRegistry, version: str) -> float | None:
    return registry.get_sample_value("tocsin_config_info", {"version": version})


def test_a_valid_edit_is_taken_up_and_handed_on(
    tmp_path: Path, holder: ConfigHolder, registry: CollectorRegistry
) -> None:
    taken = Taken()
    holder.subscribe(taken)
    before = holder.version
    assert info(registry, before) == 1
    write(tmp_path, members="bob")

    assert holder.reload()
    assert members(holder) == ["bob"]
    assert holder.version != before
    assert taken.configs == [holder.current]
    assert valid(registry) == 1
    assert info(registry, holder.version) == 1
    assert info(registry, before) is None  # one version per process


def test_files_unchanged_hand_on_nothing(holder: ConfigHolder) -> None:
    """An editor saving the same bytes again, or a SIGHUP for nothing."""
    taken = Taken()
    holder.subscribe(taken)
    assert not holder.reload()
    assert taken.configs == []


def test_a_broken_edit_keeps_the_last_good_configuration(
    tmp_path: Path,
    holder: ConfigHolder,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken = Taken()
    holder.subscribe(taken)
    good = holder.current
    write(tmp_path, members="zed")  # a person not in people

    with caplog.at_level(logging.ERROR, "tocsin.reloading"):
        assert not holder.reload()
    assert holder.current is good
    assert members(holder) == ["alice"]
    assert taken.configs == []
    assert valid(registry) == 0
    assert info(registry, good.version) == 1
    schedule = tmp_path / "schedules" / "primary.yaml"
    [problem] = holder.problems
    assert str(problem) == (
        f"{schedule}:6: rotation.members[0]: unknown person 'zed' (not in people)"
    )
    assert f"configuration not reloaded: {problem}" in caplog.messages
    assert f"still running configuration version {good.version}" in caplog.messages


def test_mending_the_edit_takes_it_up(
    tmp_path: Path, holder: ConfigHolder, registry: CollectorRegistry
) -> None:
    write(tmp_path, members="zed")
    holder.reload()
    write(tmp_path, members="bob")
    assert holder.reload()
    assert holder.problems == []
    assert valid(registry) == 1
    assert members(holder) == ["bob"]


def test_undoing_the_broken_edit_is_valid_again(
    tmp_path: Path, holder: ConfigHolder, registry: CollectorRegistry
) -> None:
    """Back to the files that run: nothing new to take up, but nothing wrong any more."""
    write(tmp_path, members="zed")
    holder.reload()
    write(tmp_path)
    assert not holder.reload()
    assert holder.problems == []
    assert valid(registry) == 1


def test_a_root_file_that_is_not_yaml_is_refused_at_its_line(
    tmp_path: Path, holder: ConfigHolder
) -> None:
    good = holder.current
    write(tmp_path, root=ROOT + "routes: [\n")
    assert not holder.reload()
    assert holder.current is good
    assert all(p.file == tmp_path / "tocsin.yaml" and p.line for p in holder.problems)


def test_keys_read_at_start_warn_that_they_need_a_restart(
    tmp_path: Path, holder: ConfigHolder, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, root=ROOT + "smtp: {host: 127.0.0.1, from: tocsin@example.com}\n")
    with caplog.at_level(logging.WARNING, "tocsin.reloading"):
        assert holder.reload()
    assert caplog.messages == ["smtp changed: it takes effect when the process restarts"]


def test_keys_taken_up_live_warn_of_nothing(
    tmp_path: Path, holder: ConfigHolder, caplog: pytest.LogCaptureFixture
) -> None:
    live = (
        "ack_link_grace: 2h\n"
        "webhook_secret: rotated-secret\n"
        "api_auth: {metrics: token}\n"
        "console: {session_lifetime: 1h}\n"
        "integrations: [{name: am, type: alertmanager, token: new-token}]\n"
    )
    write(tmp_path, root=ROOT + live)
    with caplog.at_level(logging.WARNING, "tocsin.reloading"):
        assert holder.reload()
    assert caplog.messages == []
    assert holder.current.config.integrations[0].name == "am"


def test_routing_and_paging_carry_the_version(holder: ConfigHolder) -> None:
    assert holder.current.routing.version == holder.version
    assert holder.current.directory.version == holder.version


def test_watched_are_the_root_folder_and_the_schedules(
    tmp_path: Path, holder: ConfigHolder
) -> None:
    root, schedules = tmp_path.absolute(), tmp_path.absolute() / "schedules"
    assert holder.watched() == (root, schedules)
    assert holder.concerns(Change.modified, str(root / "tocsin.yaml"))
    assert holder.concerns(Change.modified, str(schedules / "oncall.yml"))
    assert not holder.concerns(Change.modified, str(root / "tocsin.yaml.swp"))
    assert not holder.concerns(Change.modified, str(root / "other.yaml"))
    # A ConfigMap volume's files change by its ..data link moving.
    assert holder.concerns(Change.added, str(root / "..data"))
