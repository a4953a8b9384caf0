"""``tocsin shifts``: the coming shifts as a table, compared with golden files written out and
checked by hand (tests/fixtures/shifts/), and every wrong argument refused with a reason."""

import os
from pathlib import Path

import pytest

from tocsin.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shifts"
CONFIG = str(FIXTURES / "tocsin.yaml")

GOLDEN = {
    # Berlin springs forward on 29 March; New York is on summer time already: the 07:00 and
    # 19:00 Berlin handoffs move from 02:00/14:00 to 01:00/13:00 in New York. Dave's
    # override cuts Bob's Saturday shift in three.
    "follow-the-sun-from-new-york.txt": [
        "follow-the-sun", "--from", "2026-03-27", "--days", "3", "--tz", "America/New_York"
    ],
    # Business hours only: gaps at night and over the weekend, Bob's override inside one.
    "daytime-gaps.txt": ["daytime", "--from", "2026-01-09", "--days", "4"],
    "follow-the-sun-dave.json": [
        "follow-the-sun", "--from", "2026-03-28T06:00", "--days", "1", "--person", "dave", "--json"
    ],
}  # fmt: skip


@pytest.fixture(autouse=True)
def no_viewer_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*filter(lambda n: n.startswith("TOCSIN_"), os.environ), "TZ"]:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("golden", GOLDEN, ids=GOLDEN.keys())
def test_shifts_as_the_golden_file_shows(golden: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["shifts", "--config", CONFIG, *GOLDEN[golden]]) == 0

    out, err = capsys.readouterr()
    assert out == (FIXTURES / golden).read_text()
    assert err == ""


def test_the_viewer_zone_comes_from_tz(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    argv = ["shifts", "--config", CONFIG, "follow-the-sun", "--from", "2026-03-27", "--days", "3"]

    assert main(argv) == 0
    golden = (FIXTURES / "follow-the-sun-from-new-york.txt").read_text()
    assert capsys.readouterr().out == golden


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "tocsin: no schedule 'nope' (known: daytime, follow-the-sun)"),
        (["daytime", "--days", "0"], "tocsin: --days 0: give a number of days from 1 to 366"),
        (["daytime", "--person", "zoe"], "tocsin: --person 'zoe': not in people"),
        (
            ["daytime", "--tz", "Berlin"],
            "tocsin: unknown time zone 'Berlin' for --tz: use an IANA name such as "
            "America/New_York",
        ),
    ],
)
def test_a_wrong_argument_is_refused_saying_why(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shifts", "--config", CONFIG, *argv]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == message + "\n"


def test_oncall_in_a_gap_says_nobody(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "daytime", "--config", CONFIG, "--at", "2026-01-10T20:00Z"]) == 0

    assert capsys.readouterr().out == "daytime: nobody (a gap in the schedule)\n"
