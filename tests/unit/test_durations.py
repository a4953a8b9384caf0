from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schedules.durations import MAX_DURATION, Duration, format_duration, parse_duration

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Timer(BaseModel):
    every: Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        (" 90 m ", timedelta(minutes=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d12h", timedelta(days=2, hours=12)),
        ("1w 2d 3h 4m 5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("0h30m", timedelta(minutes=30)),
    ],
)
def test_parse_accepts_a_whole_number_and_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["5x", "0m", "", "m", "1.5h", "-1h", "30m1h", "1h1h", "1h30", "0h0m", "5M", "PT5M"]
)
def test_parse_rejects_other_spellings_and_names_the_accepted_ones(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*one of s, m, h, d, w"):
        parse_duration(text)


@given(
    parts=st.dictionaries(st.sampled_from(sorted(UNITS)), st.integers(0, 60), min_size=1).filter(
        lambda parts: any(parts.values())
    )
)
def test_a_compound_is_the_sum_of_its_parts(parts: dict[str, int]) -> None:
    text = "".join(f"{parts[unit]}{unit}" for unit in "wdhms" if unit in parts)
    expected = sum(amount * UNITS[unit] for unit, amount in parts.items())
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=24), "1d"),
        (timedelta(days=14), "2w"),
        (timedelta(days=8), "8d"),
    ],
)
def test_format_uses_the_largest_exact_unit(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


@given(amount=st.integers(min_value=1, max_value=500), unit=st.sampled_from(sorted(UNITS)))
def test_format_then_parse_gives_back_the_same_duration(amount: int, unit: str) -> None:
    parsed = parse_duration(f"{amount}{unit}")
    assert parsed == timedelta(seconds=amount * UNITS[unit])
    assert parse_duration(format_duration(parsed)) == parsed


def test_pydantic_field_reads_and_writes_the_operator_spelling() -> None:
    timer = Timer.model_validate({"every": "5m"})
    assert timer.every == timedelta(minutes=5)
    assert timer.model_dump() == {"every": "5m"}


def test_pydantic_field_error_names_the_bad_value() -> None:
    with pytest.raises(ValidationError) as caught:
        Timer.model_validate({"every": "5x"})
    [error] = caught.value.errors()
    assert error["loc"] == ("every",)
    assert "invalid duration '5x'" in error["msg"]


@pytest.mark.parametrize("span", [timedelta(0), timedelta(seconds=-30)])
def test_a_span_that_is_not_positive_is_refused(span: timedelta) -> None:
    with pytest.raises(ValidationError, match="write a whole number and a unit"):
        Timer(every=span)


@pytest.mark.parametrize("text", ["3650d", "521w", "87600h", "315360000s", "0005m", "521w3d"])
def test_up_to_ten_years_is_read(text: str) -> None:
    assert timedelta(0) < parse_duration(text) <= MAX_DURATION


@pytest.mark.parametrize(
    "text", ["3651d", "522w", "315360001s", "9999999999w", "9" * 5000 + "s", "521w3d1s"]
)
def test_longer_than_ten_years_is_refused_saying_the_limit(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*: at most 3650 days"):
        parse_duration(text)


def test_a_span_longer_than_ten_years_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 3650 days"):
        Timer(every=MAX_DURATION + timedelta(seconds=1))
    assert Timer(every=MAX_DURATION).every == MAX_DURATION
