"""``tocsin check`` on files no operator means to write: exit 2, one ``file:line: message`` on
stderr (``file: message`` where no line applies), and no traceback anywhere."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.unit.test_yaml_poison import STRANGE_FILES
from tocsin.cli import main

GOOD = """\
people:
  ada: {name: Ada, console: true}
escalation_policies:
  p: {levels: [{targets: [person:ada], ack_timeout: 5m}]}
routes: [{policy: p}]
"""
TOO_LONG = "invalid duration '{}': at most 3650 days (about ten years)"

CASES: list[tuple[str, bytes, str]] = [
    *STRANGE_FILES,
    (
        "an ack timeout of 9999999999 weeks",
        GOOD.replace("5m", "9999999999w").encode(),
        "FILE:4: escalation_policies.p.levels[0].ack_timeout: " + TOO_LONG.format("9999999999w"),
    ),
    (
        "a link valid for 3651 days",
        GOOD.encode() + b"ack_link_grace: 3651d\n",
        "FILE:6: ack_link_grace: " + TOO_LONG.format("3651d"),
    ),
]

SPAWNED = {
    "5000 nested lists",
    "a billion laughs",
    "binary",
    "Latin-1",
    "UTF-16 with a lone surrogate",
    "a bool that is not",
    "an ack timeout of 9999999999 weeks",
    "a directory",
    "a missing file",
}
"""Run as a real ``python -m tocsin`` too, one of each kind: a process costs half a second."""


def write_cases(directory: Path) -> list[tuple[str, Path, str]]:
    """Every case as a path in ``directory``: (what, path, the whole of stderr)."""
    (directory / "config-file").write_text(GOOD)
    unreadable = "FILE: cannot read file: "
    cases = [
        ("a directory", directory, unreadable + "Is a directory"),
        (
            "a missing file",
            directory / "absent.yaml",
            "tocsin: no configuration file at FILE (FILE); name one with --config PATH or the "
            "TOCSIN_CONFIG environment variable",
        ),
        ("a file as a directory", directory / "config-file" / "x", unreadable + "Not a directory"),
    ]
    for index, (what, text, problem) in enumerate(CASES):
        path = directory / f"config-{index}.yaml"
        path.write_bytes(text)
        cases.append((what, path, problem))
    return [
        (what, path, f"{problem.replace('FILE', str(path))}\n") for what, path, problem in cases
    ]


def test_every_strange_file_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for what, path, stderr in write_cases(tmp_path):
        assert main(["check", "--config", str(path)]) == 2, what
        assert capsys.readouterr() == ("", stderr), what


def test_a_real_tocsin_check_prints_no_traceback_either(tmp_path: Path) -> None:
    cases = [case for case in write_cases(tmp_path) if case[0] in SPAWNED]
    assert len(cases) == len(SPAWNED)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(check, [path for _, path, _ in cases]))
    for (what, _, stderr), done in zip(cases, results, strict=True):
        assert "Traceback" not in done.stdout + done.stderr, what
        assert (done.returncode, done.stdout, done.stderr) == (2, "", stderr), what


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        env={name: value for name, value in os.environ.items() if not name.startswith("TOCSIN_")},
    )
