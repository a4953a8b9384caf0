import asyncio
import io
import json
import logging

import pytest

from tocsin.logs import JsonFormatter, TurnHandler, configure


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


class Writes(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def turn_logger(stream: Writes) -> logging.Logger:
    handler = TurnHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"tocsin.test.turn.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


async def test_what_one_turn_of_the_loop_logs_is_written_once_at_its_end() -> None:
    stream = Writes()
    logger = turn_logger(stream)
    for n in range(3):
        logger.info("paged %d", n)
    assert stream.writes == []
    await asyncio.sleep(0)
    assert stream.writes == ["INFO paged 0\nINFO paged 1\nINFO paged 2\n"]
    logger.info("paged 3")
    await asyncio.sleep(0)
    assert stream.writes[1:] == ["INFO paged 3\n"]


async def test_a_warning_is_written_at_once_after_the_lines_before_it() -> None:
    stream = Writes()
    logger = turn_logger(stream)
    logger.info("paged")
    logger.warning("page failed")
    assert stream.getvalue() == "INFO paged\nWARNING page failed\n"


def test_outside_a_loop_each_line_is_written_at_once() -> None:
    stream = Writes()
    turn_logger(stream).info("checked")
    assert stream.writes == ["INFO checked\n"]


def test_a_line_whose_loop_stopped_before_its_write_goes_out_with_the_next() -> None:
    stream = Writes()
    logger = turn_logger(stream)

    loop = asyncio.new_event_loop()
    try:  # stops at the end of the turn that logged, with the write still due
        loop.call_soon(logger.info, "paged")
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    assert stream.writes == []
    logger.info("stopped")
    assert stream.writes == ["INFO paged\nINFO stopped\n"]

    async def log() -> None:
        logger.info("paged")

    asyncio.run(log())  # a new loop: its write is due on it, whatever the old one owed
    assert stream.writes[1:] == ["INFO paged\n"]
