"""``tocsin diff``: an edit of the schedules as the shifts it changes, compared with golden
files checked by hand (tests/fixtures/diff/: the daytime rotation's members swapped, an
override added, a schedule dropped), the exit code saying whether anything changes, and a
revision of a git checkout compared with its working tree."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tocsin.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "diff"
OLD, NEW = str(FIXTURES / "old"), str(FIXTURES / "new")
WEEK = ["--at", "2026-03-09T00:00+00:00", "--weeks", "1"]

GOLDEN = {"changes.txt": [], "changes.json": ["--json"]}


@pytest.fixture(autouse=True)
def no_tocsin_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in filter(lambda n: n.startswith("TOCSIN_"), list(os.environ)):
        monkeypatch.delenv(name)


@pytest.mark.parametrize("golden", GOLDEN)
def test_the_changes_as_the_golden_file_shows(
    golden: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", OLD, NEW, *WEEK, *GOLDEN[golden]]) == 1

    out, err = capsys.readouterr()
    assert out == (FIXTURES / golden).read_text()
    assert err == ""


def test_no_change_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    # The files of the new side name a file (not its folder) just as well.
    assert main(["diff", NEW, f"{NEW}/tocsin.yaml", *WEEK]) == 0
    assert (
        capsys.readouterr().out
        == "No change in who is on call over 1 week from 2026-03-09 00:00 UTC.\n"
    )


def test_a_change_past_the_window_is_no_change(capsys: pytest.CaptureFixture[str]) -> None:
    later = ["--at", "2026-03-11T00:00+00:00", "--weeks", "1"]
    assert main(["diff", OLD, NEW, *later, "--json"]) == 1
    out = capsys.readouterr().out
    assert '"follow-the-sun"' not in out  # the added override is over by then


def test_a_broken_side_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(NEW, tmp_path / "new")
    (tmp_path / "new" / "schedules" / "daytime.yaml").write_text(
        "name: daytime\ntimezone: Mars/Base\nrotation: {every: 1d, handoff: '2026-01-05 09:00', "
        "members: [carol]}\n"
    )
    assert main(["diff", OLD, str(tmp_path / "new"), *WEEK]) == 2
    err = capsys.readouterr().err
    assert "daytime.yaml:2:" in err
    assert "unknown time zone 'Mars/Base'" in err


WRONG = {
    "one side": ([OLD], "give OLD and NEW, or --against REV"),
    "both ways": ([OLD, NEW, "--against", "HEAD"], "give OLD and NEW, or --against REV"),
    "no offset": ([OLD, NEW, "--at", "2026-03-09T00:00"], "--at needs a time zone offset"),
    "weeks": ([OLD, NEW, "--weeks", "0"], "--weeks 0: give a number of weeks from 1 to 52"),
}


@pytest.mark.parametrize(("args", "message"), WRONG.values(), ids=WRONG)
def test_wrong_arguments_exit_2_saying_why(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", *args]) == 2
    assert message in capsys.readouterr().err


def git(where: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(where), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def test_against_a_revision_of_the_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The configuration in a folder of the repository, as most keep it.
    shutil.copytree(OLD, tmp_path / "oncall")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "old")
    shutil.rmtree(tmp_path / "oncall")
    shutil.copytree(NEW, tmp_path / "oncall")
    config = str(tmp_path / "oncall" / "tocsin.yaml")

    assert main(["diff", "--config", config, "--against", "HEAD", *WEEK]) == 1
    assert capsys.readouterr().out == (FIXTURES / "changes.txt").read_text()

    assert main(["diff", "--config", config, "--against", "no-such-rev", *WEEK]) == 2
    assert "tocsin: git archive: " in capsys.readouterr().err
