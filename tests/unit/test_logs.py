import json
import logging

import pytest

from tocsin.logs import JsonFormatter, configure


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("tocsin.test", logging.INFO, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_carries_the_message_and_the_facts_as_fields() -> None:
    line = JsonFormatter().format(
        record("paged %s", "alice", event="paged", incident="12", person="alice")
    )
    fields = json.loads(line)
    assert fields["message"] == "paged alice"
    assert (fields["level"], fields["logger"]) == ("info", "tocsin.test")
    assert (fields["event"], fields["incident"], fields["person"]) == ("paged", "12", "alice")
    assert fields["time"].endswith("+00:00")


def test_an_exception_stays_inside_its_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = record("failed")
        import sys

        made.exc_info = sys.exc_info()
    line = JsonFormatter().format(made)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


@pytest.mark.parametrize(("debug", "level"), [(False, logging.WARNING), (True, logging.DEBUG)])
def test_per_job_lines_are_for_debugging(debug: bool, level: int) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure("json", debug=debug)
        assert logging.getLogger("arq").level == level
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        logging.getLogger("arq").setLevel(logging.NOTSET)


@pytest.mark.parametrize("debug", [False, True])
def test_apprise_never_logs_what_it_sends(debug: bool) -> None:
    """Its info and debug lines show the URLs it posts to, and those hold tokens."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure("text", debug=debug)
        assert logging.getLogger("apprise").level == logging.WARNING
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
        for name in ("arq", "aiohttp.access", "apprise"):
            logging.getLogger(name).setLevel(logging.NOTSET)
