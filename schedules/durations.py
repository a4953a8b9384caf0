"""Durations as operators write them in YAML: ``30s``, ``5m``, ``2h``, ``1d``, ``1w``, and
compounds of them from the largest unit down, each unit once: ``1h30m``, ``2d12h``."""

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"0*(\d+)\s*([smhdw])\s*")
_ORDER = "wdhms"

MAX_DURATION = timedelta(days=3650)
"""Ten years: more than any timer, link or rotation needs, and far from the durations Python
cannot hold (``9999999999w``) or cannot add to a date."""
_MAX_DIGITS = len(str(int(MAX_DURATION.total_seconds())))


def parse_duration(text: str) -> timedelta:
    """Parse ``<positive integer><unit>``, or several such parts (``1h30m``); raise
    ``ValueError`` naming the accepted forms."""
    parts = _parts(text)
    # Digits counted before int(): Python refuses to read more than 4,300 of them.
    if parts is not None and any(len(digits) > _MAX_DIGITS for digits, _ in parts):
        raise ValueError(_too_long(text))
    if parts is None or sum(int(digits) for digits, _ in parts) == 0:
        raise ValueError(
            f"invalid duration {text!r}: use a positive whole number and one of s, m, h, d, w "
            "(for example 30s, 5m, 2h, 1d, 1w), or several from the largest unit down (1h30m)"
        )
    seconds = sum(int(digits) * _UNITS[unit] for digits, unit in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(_too_long(text))
    return timedelta(seconds=seconds)


def _parts(text: str) -> list[tuple[str, str]] | None:
    """``[(digits, unit), ...]``, or ``None`` unless the text is nothing but such parts with
    units from largest to smallest (``30m1h`` is more likely a slip than a meaning)."""
    stripped = text.strip()
    parts: list[tuple[str, str]] = []
    position = 0
    while position < len(stripped):
        match = _PART.match(stripped, position)
        if match is None:
            return None
        parts.append((match.group(1), match.group(2)))
        position = match.end()
    ranks = [_ORDER.index(unit) for _, unit in parts]
    if not parts or ranks != sorted(set(ranks)):
        return None
    return parts


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
