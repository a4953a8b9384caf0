"""The checks a stored override passes before it is kept, and times read in the schedule's
zone."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.oncall import Cover
from schedules.stored import MAX_LENGTH, OverrideRefused, StoredOverride, checked, covers, read_time

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def override(start: datetime, end: datetime, person: str = "bob", made: int = 0) -> StoredOverride:
    return StoredOverride(
        id=f"id{made}",
        schedule="primary",
        person=person,
        start=start,
        end=end,
        created_at=NOW + timedelta(minutes=made),
    )


def test_a_time_without_offset_is_the_schedules_own() -> None:
    assert read_time("2026-03-02T09:00", BERLIN, "--from") == datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert read_time("2026-03-02T09:00+00:00", BERLIN, "--from") == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )


def test_a_time_that_is_not_iso_is_named() -> None:
    with pytest.raises(OverrideRefused, match=r"--to 'tomorrow': write an ISO time"):
        read_time("tomorrow", BERLIN, "--to")


def test_a_good_override_passes() -> None:
    good = override(NOW - timedelta(hours=1), NOW + timedelta(days=1))
    assert checked(good, {"bob"}, NOW) is good


REFUSED = {
    "unknown person": (
        override(NOW, NOW + timedelta(hours=1), person="zed"),
        "person 'zed': not in people",
    ),
    "ends before it starts": (
        override(NOW + timedelta(hours=2), NOW + timedelta(hours=1)),
        "'to' (2026-03-02 13:00 UTC) must be after 'from' (2026-03-02 14:00 UTC)",
    ),
    "over already": (
        override(NOW - timedelta(hours=2), NOW),
        "'to' (2026-03-02 12:00 UTC) is already past",
    ),
    "too long": (
        override(NOW, NOW + MAX_LENGTH + timedelta(minutes=1)),
        "an override lasts at most 90 days",
    ),
}


@pytest.mark.parametrize(("bad", "message"), REFUSED.values(), ids=REFUSED)
def test_a_bad_override_is_refused_saying_why(bad: StoredOverride, message: str) -> None:
    with pytest.raises(OverrideRefused) as refused:
        checked(bad, {"bob"}, NOW)
    assert message in str(refused.value)


def test_the_latest_created_lies_on_top() -> None:
    later = override(NOW, NOW + timedelta(hours=2), person="carol", made=5)
    earlier = override(NOW, NOW + timedelta(hours=1), person="bob", made=1)

    assert covers([later, earlier]) == [
        Cover("bob", NOW, NOW + timedelta(hours=1)),
        Cover("carol", NOW, NOW + timedelta(hours=2)),
    ]
