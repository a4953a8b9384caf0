from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from router.matchers import parse_matcher
from router.silences import Silence, SilenceMatcher, SilenceState, holding

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def silence(*matchers: str, start: datetime = T0, hours: int = 2, sid: str = "s") -> Silence:
    return Silence(
        id=sid,
        matchers=[SilenceMatcher.of(parse_matcher(m)) for m in matchers],
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        created_by="alice",
        comment="deploy",
    )


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (T0 - timedelta(seconds=1), SilenceState.PENDING),
        (T0, SilenceState.ACTIVE),
        (T0 + timedelta(hours=2) - timedelta(seconds=1), SilenceState.ACTIVE),
        (T0 + timedelta(hours=2), SilenceState.EXPIRED),
    ],
)
def test_state_by_time(at: datetime, state: SilenceState) -> None:
    assert silence("service=payments").state(at) is state


def test_it_holds_matching_labels_only_while_active() -> None:
    s = silence("service=payments", 'severity=~"crit.*"')
    labels = {"service": "payments", "severity": "critical"}
    assert s.holds(labels, T0)
    assert not s.holds({**labels, "severity": "warning"}, T0)
    assert not s.holds(labels, T0 - timedelta(minutes=1))
    assert not s.holds(labels, T0 + timedelta(hours=3))


def test_the_holding_silence_is_the_one_ending_last() -> None:
    short = silence("service=payments", hours=1, sid="short")
    long = silence("service=~pay.*", hours=5, sid="long")
    other = silence("service=db", hours=9, sid="other")
    labels = {"service": "payments"}
    assert holding([short, long, other], labels, T0) == long
    assert holding([other], labels, T0) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at": T0 - timedelta(minutes=1)}, "endsAt must not be before startsAt"),
        ({"matchers": []}, "at least 1 item"),
        (
            {"matchers": [SilenceMatcher(name="a", value=".*", is_regex=True)]},
            "must not match the empty string",
        ),
        (
            {"matchers": [SilenceMatcher(name="a", value="(", is_regex=True)]},
            "invalid regex",
        ),
    ],
)
def test_what_is_refused(changes: dict[str, object], message: str) -> None:
    fields = silence("a=b").model_dump() | changes
    with pytest.raises(ValidationError) as caught:
        Silence.model_validate(fields)
    assert message in str(caught.value)


def test_as_alertmanagers_api_writes_it() -> None:
    body = silence("service=payments", "env!~stag.*").as_api(T0)
    assert body["status"] == {"state": "active"}
    assert body["matchers"] == [
        {"name": "service", "value": "payments", "isRegex": False, "isEqual": True},
        {"name": "env", "value": "stag.*", "isRegex": True, "isEqual": False},
    ]
    assert (body["startsAt"], body["endsAt"]) == ("2026-03-02T12:00:00Z", "2026-03-02T14:00:00Z")
    assert (body["createdBy"], body["comment"], body["id"]) == ("alice", "deploy", "s")
