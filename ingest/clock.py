"""The clock type every stage takes: time is passed in, never read below ``tocsin/``."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(at: datetime) -> int:
    """Whole milliseconds since the Unix epoch, as Redis scores, stream ids and job ids count
    time; in integers, so a time read back compares equal to the number it came from."""
    return (at - _EPOCH) // _MS


def from_epoch_ms(ms: int) -> datetime:
    """The instant ``epoch_ms`` gave ``ms`` for, at whole milliseconds, in UTC."""
    return _EPOCH + ms * _MS
