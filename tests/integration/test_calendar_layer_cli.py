"""A layer read from a calendar file, as the commands see it: ``tocsin oncall`` answers from
its events, and ``tocsin check`` names a person the calendar invents at the layer's line."""

import os
from pathlib import Path

import pytest

from tests.unit.test_calendar_layers import NIGHT, SCHEDULE, ics
from tocsin.cli import main

CONFIG = """\
people:
  alice: {name: Alice, console: true}
  carol: {name: Carol, console: true}
schedules_dir: schedules
escalation_policies:
  support: {levels: [{targets: [schedule:support], ack_timeout: 5m}]}
routes:
  - {policy: support}
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in filter(lambda n: n.startswith("TOCSIN_"), list(os.environ)):
        monkeypatch.delenv(name)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "support.yaml").write_text(SCHEDULE)
    (tmp_path / "schedules" / "nights.ics").write_bytes(ics(NIGHT))
    (tmp_path / "tocsin.yaml").write_text(CONFIG)
    return tmp_path / "tocsin.yaml"


def test_oncall_answers_from_the_calendar(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "--config", str(config), "--at", "2026-03-02T20:00+00:00"]) == 0
    assert capsys.readouterr().out == "support: Carol (carol)\n"
    assert main(["oncall", "--config", str(config), "--at", "2026-03-02T12:00+00:00"]) == 0
    assert capsys.readouterr().out == "support: Alice (alice)\n"


def test_check_names_a_person_the_calendar_invents(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    night = NIGHT.replace("SUMMARY:carol", "SUMMARY:zed")
    (config.parent / "schedules" / "nights.ics").write_bytes(ics(night))

    assert main(["check", "--config", str(config), "--at", "2026-03-02T00:00+00:00"]) == 2

    err = capsys.readouterr().err
    assert f"{config.parent}/schedules/support.yaml:6: layers[1].calendar: " in err
    assert "'zed'" in err
