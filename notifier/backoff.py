"""When to try a failed page again: exponential backoff with jitter, pure.

A transient failure (a refused connection, a 5xx, a 429) is tried again after ``BASE``, then
twice as long each time: four tries in all within about two minutes, which is the most a
page is worth waiting for before the level's ack timer says the same.

Jitter spreads the retries of many pages that failed together (a chat service that was down
for everyone): each delay is drawn from its upper half, and drawn from a hash of the step
being retried rather than from a random source, so a step retried twice (two workers) lands
at the same time, and tests know when.

A server's ``Retry-After`` is honoured as a floor, capped by ``MAX_RETRY_AFTER``: a server
asking for an hour does not get to put off a page by an hour. No retry is due later than
the level's ack timeout: by then the page escalates anyway.

``Retry-After`` comes as seconds or, as RFC 9110 also allows, as an HTTP-date. A date is kept
as the instant it names and turned into a wait only against the clock of whoever schedules
the retry, so a test's clock (or a worker's) decides what "now" is, not the channel's.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_TRIES = 4
"""Sends of one page in all: the first and three retries."""
BASE = timedelta(seconds=15)
"""The first retry's longest delay; each later one's doubles (15 s, 30 s, 60 s)."""
MAX_RETRY_AFTER = timedelta(minutes=2)
"""The longest a ``Retry-After`` can put off a retry."""
_MAX_SECONDS = int(MAX_RETRY_AFTER.total_seconds())


def nominal(attempt: int) -> timedelta:
    """The longest delay before retry ``attempt`` (1 for the first retry) before jitter."""
    if attempt < 1:
        raise ValueError(f"retries count from 1, not {attempt}")
    return BASE * (1 << (attempt - 1))


def jitter(seed: str, attempt: int) -> float:
    """A fraction in [0.5, 1] that depends only on ``seed`` and ``attempt``."""
    digest = hashlib.sha256(f"{seed}:{attempt}".encode()).digest()
    return 0.5 + int.from_bytes(digest[:8], "big") / 2**64 / 2


def retry_delay(
    attempt: int,
    seed: str,
    *,
    retry_after: timedelta | None = None,
    budget: timedelta | None = None,
) -> timedelta | None:
    """How long after the failed try ``attempt - 1`` retry ``attempt`` is due, or ``None``
    when there is none: ``MAX_TRIES`` are spent, or it would come after ``budget`` (the
    level's ack timeout, counted from the first try by the longest delays before)."""
    if attempt >= MAX_TRIES:
        return None
    delay = nominal(attempt) * jitter(seed, attempt)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    if budget is not None:
        spent = sum((nominal(a) for a in range(1, attempt)), timedelta(0))
        if spent + delay >= budget:
            return None
    return delay


RetryAfter = timedelta | datetime
"""What a ``Retry-After`` says: wait this long, or until this instant (an HTTP-date)."""


def parse_retry_after(value: str | None) -> RetryAfter | None:
    """A ``Retry-After`` header: seconds (beyond ``MAX_RETRY_AFTER`` read as it, which is
    all they can get), or an HTTP-date; anything unreadable leaves the backoff to decide."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return timedelta(seconds=min(int(text), _MAX_SECONDS))
    try:
        at = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # An HTTP-date is always GMT; one written with "-0000" parses as a naive time.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def wait_for(retry_after: RetryAfter, now: datetime) -> timedelta:
    """How long ``retry_after`` asks to wait at ``now``: a date gone by asks for nothing, one
    far off for no more than ``MAX_RETRY_AFTER``."""
    if isinstance(retry_after, timedelta):
        return retry_after
    return max(min(retry_after - now, MAX_RETRY_AFTER), timedelta(0))
