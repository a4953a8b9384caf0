"""When a failed page is tried again: bounds, jitter, Retry-After, the ack timeout."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.backoff import (
    BASE,
    MAX_RETRY_AFTER,
    MAX_TRIES,
    jitter,
    nominal,
    parse_retry_after,
    retry_delay,
    wait_for,
)

attempts = st.integers(min_value=1, max_value=MAX_TRIES - 1)
seeds = st.text(max_size=40)
waits = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=2))


@given(attempts, seeds)
def test_each_delay_is_in_the_upper_half_of_its_nominal_one(attempt: int, seed: str) -> None:
    delay = retry_delay(attempt, seed)
    assert delay is not None
    assert nominal(attempt) / 2 <= delay <= nominal(attempt)


@given(seeds)
def test_delays_grow_and_all_tries_fit_in_about_two_minutes(seed: str) -> None:
    delays = [retry_delay(a, seed) for a in range(1, MAX_TRIES)]
    # Jitter takes the upper half of a doubling delay, so no retry comes sooner than the last.
    assert delays == sorted(delays, key=lambda d: d or timedelta.max)
    assert None not in delays
    assert nominal(1) == BASE
    assert sum((nominal(a) for a in range(1, MAX_TRIES)), timedelta(0)) <= timedelta(minutes=2)
    assert retry_delay(MAX_TRIES, seed) is None


@given(attempts, seeds)
def test_jitter_is_the_same_for_the_same_step(attempt: int, seed: str) -> None:
    assert 0.5 <= jitter(seed, attempt) <= 1
    assert retry_delay(attempt, seed) == retry_delay(attempt, seed)


def test_jitter_spreads_steps_that_failed_together() -> None:
    delays = {retry_delay(1, f"incident-{n}:0:0") for n in range(50)}
    assert len(delays) == 50


@given(attempts, seeds, waits)
def test_retry_after_is_a_floor_capped(attempt: int, seed: str, wait: timedelta) -> None:
    delay = retry_delay(attempt, seed, retry_after=wait)
    assert delay is not None
    assert delay >= min(wait, MAX_RETRY_AFTER)
    assert delay <= max(nominal(attempt), MAX_RETRY_AFTER)
    assert delay >= nominal(attempt) / 2


@given(attempts, seeds, waits, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1)))
def test_no_retry_is_due_after_the_ack_timeout(
    attempt: int, seed: str, wait: timedelta, budget: timedelta
) -> None:
    delay = retry_delay(attempt, seed, retry_after=wait, budget=budget)
    spent = sum((nominal(a) for a in range(1, attempt)), timedelta(0))
    if delay is not None:
        assert spent + delay < budget


def test_retries_count_from_one() -> None:
    with pytest.raises(ValueError, match="count from 1"):
        nominal(0)


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("7", timedelta(seconds=7)),
        (" 120 ", timedelta(minutes=2)),
        ("99999999999999999999999999", MAX_RETRY_AFTER),
        ("Wed, 21 Oct 2026 07:28:00 GMT", datetime(2026, 10, 21, 7, 28, tzinfo=UTC)),
        ("Wed, 21 Oct 2026 07:28:00 -0000", datetime(2026, 10, 21, 7, 28, tzinfo=UTC)),
        # RFC 9110's obsolete forms, which a recipient must still read.
        ("Sunday, 06-Nov-94 08:49:37 GMT", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Sun Nov  6 08:49:37 1994", datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)),
        ("Wed, 32 Oct 2026 07:28:00 GMT", None),
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("-1", None),
        ("1.5", None),
        ("²", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_header(header: str | None, wait: timedelta | datetime | None) -> None:
    assert parse_retry_after(header) == wait


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=int(MAX_RETRY_AFTER.total_seconds())))
def test_seconds_and_the_same_wait_as_a_date_ask_for_the_same(seconds: int) -> None:
    wait = timedelta(seconds=seconds)
    as_seconds = parse_retry_after(str(seconds))
    as_date = parse_retry_after(format_datetime(NOW + wait, usegmt=True))
    assert as_seconds is not None
    assert as_date is not None
    assert wait_for(as_seconds, NOW) == wait_for(as_date, NOW) == wait


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1)))
def test_a_date_asks_for_no_less_than_nothing_and_no_more_than_the_cap(at: datetime) -> None:
    parsed = parse_retry_after(format_datetime(at.replace(tzinfo=UTC), usegmt=True))
    assert parsed == at.replace(tzinfo=UTC, microsecond=0)
    assert timedelta(0) <= wait_for(parsed, NOW) <= MAX_RETRY_AFTER
    if parsed <= NOW:
        assert wait_for(parsed, NOW) == timedelta(0)


@given(attempts, seeds, st.text(max_size=40))
def test_a_header_of_any_text_leaves_a_retry_within_bounds(
    attempt: int, seed: str, header: str
) -> None:
    parsed = parse_retry_after(header)
    wait = None if parsed is None else wait_for(parsed, NOW)
    delay = retry_delay(attempt, seed, retry_after=wait)
    assert delay is not None
    assert nominal(attempt) / 2 <= delay <= max(nominal(attempt), MAX_RETRY_AFTER)
