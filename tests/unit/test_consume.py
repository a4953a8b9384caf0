import asyncio
import logging
from datetime import timedelta

import pytest

from ingest.stream import consume


class Flaky:
    """Fails on the calls listed, stops the loop after ``calls`` steps."""

    def __init__(
        self, stop: asyncio.Event, calls: int, failing: set[int], error: Exception
    ) -> None:
        self.stop, self.calls, self.failing, self.error = stop, calls, failing, error
        self.made = 0

    async def __call__(self) -> None:
        self.made += 1
        if self.made >= self.calls:
            self.stop.set()
        if self.made in self.failing:
            raise self.error


async def test_a_failed_step_is_logged_and_the_consumer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    step = Flaky(stop, calls=4, failing={1, 2}, error=ConnectionError("redis restarting"))
    await consume(stop, step, what="routing alerts", pause=timedelta(0))
    assert step.made == 4
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["routing alerts failed; retrying"] * 2


class AlreadyReported(Exception):
    pass


async def test_errors_the_step_reported_itself_are_not_logged_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    step = Flaky(stop, calls=2, failing={1}, error=AlreadyReported())
    await consume(stop, step, what="events", logged=AlreadyReported, pause=timedelta(0))
    assert step.made == 2
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]


async def test_stop_ends_the_pause_after_an_error() -> None:
    stop = asyncio.Event()
    step = Flaky(stop, calls=1, failing={1}, error=RuntimeError("boom"))
    # The step sets stop as it fails: the hour-long pause must end at once.
    await asyncio.wait_for(consume(stop, step, what="x", pause=timedelta(hours=1)), 5)
    assert step.made == 1
