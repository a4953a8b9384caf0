"""Durations as operators write them in YAML: ``30s``, ``5m``, ``2h``, ``1d``, ``1w``."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*0*(\d+)\s*([smhdw])\s*$")

MAX_DURATION = timedelta(days=3650)
"""Ten years: more than any timer, link or rotation needs, and far from the durations Python
cannot hold (``9999999999w``) or cannot add to a date."""
_MAX_DIGITS = len(str(int(MAX_DURATION.total_seconds())))


def parse_duration(text: str) -> timedelta:
    """Parse ``<positive integer><unit>``; raise ``ValueError`` naming the accepted forms."""
    match = _PATTERN.match(text)
    # Digits counted before int(): Python refuses to read more than 4,300 of them.
    if match is not None and len(match.group(1)) > _MAX_DIGITS:
        raise ValueError(_too_long(text))
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"invalid duration {text!r}: use a positive whole number and one of s, m, h, d, w "
            "(for example 30s, 5m, 2h, 1d, 1w)"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(_too_long(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling, so a parsed duration prints as the operator wrote it."""
    seconds = int(value.total_seconds())
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: 1s divides every whole number of seconds")


def _too_long(text: object) -> str:
    return f"invalid duration {text!r}: at most {MAX_DURATION.days} days (about ten years)"


def _coerce(value: object) -> object:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, timedelta) and value > MAX_DURATION:
        raise ValueError(_too_long(format_duration(value)))
    if isinstance(value, timedelta) and value > timedelta(0):
        return value
    # A bare number would be read as seconds (nobody writing "ack_timeout: 5" means that), and
    # a zero or negative span would escalate at once or divide a rotation by zero.
    raise ValueError(
        f"invalid duration {value!r}: write a whole number and a unit, such as 5m, 8h, 1d or 1w"
    )


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str),
]
"""A pydantic field type that reads ``5m`` and writes it back the same way."""
