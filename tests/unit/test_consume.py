import asyncio
import logging
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import WatchError

from ingest.consuming import consume, store_outage


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


def watch_lost() -> WatchError:
    """As redis-py raises it when the connection drops while keys are watched."""
    try:
        try:
            raise StoreConnectionError("Connection reset by peer")
        except StoreConnectionError as lost:
            raise WatchError(
                "A ConnectionError occurred on while watching one or more keys"
            ) from lost
    except WatchError as error:
        return error


NO_PAUSE = {"backoff_first": timedelta(0), "backoff_max": timedelta(0)}


async def test_a_failed_step_is_logged_and_the_consumer_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    step = Flaky(stop, calls=4, failing={1, 2}, error=RuntimeError("a bug"))
    await consume(stop, step, what="routing alerts", **NO_PAUSE)
    assert step.made == 4
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["routing alerts failed; retrying"] * 2


async def test_a_store_outage_is_said_once_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    outage = StoreConnectionError("Connection refused")
    step = Flaky(stop, calls=6, failing={2, 3, 4}, error=outage)
    caplog.set_level(logging.INFO)
    await consume(stop, step, what="routing alerts", **NO_PAUSE)
    assert step.made == 6
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("WARNING", "routing alerts: storage unavailable (Connection refused); waiting for it"),
        ("INFO", "routing alerts: working again"),
    ]


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (StoreConnectionError("refused"), True),
        (TimeoutError(), True),
        (ConnectionRefusedError(), True),
        (watch_lost(), True),
        (WatchError("Watched variable changed."), False),
        (ValueError("bad data"), False),
        (KeyError("policy"), False),
    ],
)
def test_what_counts_as_a_store_outage(error: Exception, outage: bool) -> None:
    assert store_outage(error) is outage


async def test_stop_ends_the_pause_after_an_error() -> None:
    stop = asyncio.Event()
    step = Flaky(stop, calls=1, failing={1}, error=RuntimeError("boom"))
    # The step sets stop as it fails: the hour-long pause must end at once.
    pauses = {"backoff_first": timedelta(hours=1), "backoff_max": timedelta(hours=1)}
    await asyncio.wait_for(consume(stop, step, what="x", **pauses), 5)
    assert step.made == 1
