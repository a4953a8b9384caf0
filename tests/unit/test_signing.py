import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.signing import (
    EVERY_ACTION,
    AckClaims,
    Action,
    ExpiredLink,
    InvalidLink,
    LinkClaims,
    StatusClaims,
    ack_url,
    action_url,
    sign_ack,
    sign_link,
    sign_status,
    verify_ack,
    verify_link,
    verify_status,
)

SECRET = b"k" * 32
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
CLAIMS = AckClaims(incident_id="12", person="alice", expires_at=LATER)

ids = st.text(min_size=1, max_size=40)
claims_strategy = st.builds(
    AckClaims,
    incident_id=ids,
    person=ids,
    expires_at=st.datetimes(
        min_value=datetime(2026, 3, 3), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)
token_chars = st.characters(codec="utf-8")


def test_round_trip() -> None:
    token = sign_ack(SECRET, CLAIMS)
    assert verify_ack(SECRET, token, NOW) == CLAIMS


@given(claims_strategy)
def test_round_trip_any_claims(claims: AckClaims) -> None:
    assert verify_ack(SECRET, sign_ack(SECRET, claims), NOW) == claims


def test_token_is_compact_url_safe_and_versioned() -> None:
    token = sign_ack(SECRET, CLAIMS)
    assert token.startswith("v1.")
    assert len(token) < 80
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert "=" not in token


def test_claims_keep_whole_seconds_in_utc() -> None:
    local = datetime(2026, 3, 2, 13, 30, 5, 999_999, tzinfo=timezone(timedelta(hours=1)))
    claims = AckClaims("1", "bob", local)
    assert claims.expires_at == datetime(2026, 3, 2, 12, 30, 5, tzinfo=UTC)
    assert claims.expires_at.tzinfo is UTC


def test_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AckClaims("1", "bob", datetime(2026, 3, 2, 12))


def test_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign_ack(b"short", CLAIMS)


@given(claims_strategy, st.data())
def test_changing_any_character_invalidates_the_token(
    claims: AckClaims, data: st.DataObject
) -> None:
    token = sign_ack(SECRET, claims)
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    replacement = data.draw(token_chars.filter(lambda c: c != token[index]), label="char")
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidLink) as caught:
        verify_ack(SECRET, tampered, NOW)
    assert type(caught.value) is InvalidLink


@given(claims_strategy, st.data())
def test_dropping_or_adding_characters_invalidates_the_token(
    claims: AckClaims, data: st.DataObject
) -> None:
    token = sign_ack(SECRET, claims)
    if data.draw(st.booleans(), label="insert"):
        index = data.draw(st.integers(0, len(token)), label="index")
        tampered = token[:index] + data.draw(token_chars, label="char") + token[index:]
    else:
        index = data.draw(st.integers(0, len(token) - 1), label="index")
        tampered = token[:index] + token[index + 1 :]
    with pytest.raises(InvalidLink):
        verify_ack(SECRET, tampered, NOW)


def test_a_payload_from_another_token_does_not_verify() -> None:
    """Splicing Bob's claims onto Alice's signature: the payload is what the tag covers."""
    alice = sign_ack(SECRET, CLAIMS).split(".")
    bob = sign_ack(SECRET, AckClaims("12", "bob", LATER)).split(".")
    with pytest.raises(InvalidLink, match="bad signature"):
        verify_ack(SECRET, f"v1.{bob[1]}.{alice[2]}", NOW)


def test_wrong_key() -> None:
    token = sign_ack(SECRET, CLAIMS)
    with pytest.raises(InvalidLink, match="bad signature"):
        verify_ack(b"x" * 32, token, NOW)


def test_unknown_version() -> None:
    token = sign_ack(SECRET, CLAIMS)
    with pytest.raises(InvalidLink, match="unknown link format"):
        verify_ack(SECRET, "v2" + token[2:], NOW)


def test_expiry_boundary_is_exclusive() -> None:
    """Valid strictly before ``expires_at``; at the very instant it has expired."""
    token = sign_ack(SECRET, CLAIMS)
    assert verify_ack(SECRET, token, LATER - timedelta(microseconds=1)) == CLAIMS
    with pytest.raises(ExpiredLink) as caught:
        verify_ack(SECRET, token, LATER)
    assert caught.value.expired_at == LATER
    assert caught.value.claims == CLAIMS
    assert "2026-03-02T13:00:00+00:00" in str(caught.value)


def test_expired_is_an_invalid_link() -> None:
    token = sign_ack(SECRET, CLAIMS)
    with pytest.raises(InvalidLink):
        verify_ack(SECRET, token, LATER + timedelta(days=1))


def test_forged_expired_token_reports_invalid_not_expired() -> None:
    """The signature is checked first, so a forged token never learns anything about expiry."""
    token = sign_ack(b"x" * 32, AckClaims("12", "alice", NOW - timedelta(days=1)))
    with pytest.raises(InvalidLink) as caught:
        verify_ack(SECRET, token, NOW)
    assert type(caught.value) is InvalidLink


@pytest.mark.parametrize(
    "token",
    ["", ".", "..", "v1", "v1.", "v1..", "v1.abc", "v1.abc.", "v1..abc", "v1.a.b.c", "v1.é.ü"],
)
def test_malformed(token: str) -> None:
    with pytest.raises(InvalidLink):
        verify_ack(SECRET, token, NOW)


@given(st.text(token_chars))
def test_garbage_raises_only_invalid_link(token: str) -> None:
    with pytest.raises(InvalidLink):
        verify_ack(SECRET, token, NOW)


@given(st.text("v1.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_="))
def test_plausible_garbage_raises_only_invalid_link(token: str) -> None:
    with pytest.raises(InvalidLink):
        verify_ack(SECRET, token, NOW)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://tocsin.example.com", "https://tocsin.example.com/ack/T"),
        ("https://example.com/tocsin/", "https://example.com/tocsin/ack/T"),
    ],
)
def test_ack_url(base: str, expected: str) -> None:
    assert ack_url(base, "T") == expected


def _signed(payload: bytes) -> str:
    """A token in the documented v1 format over any payload, as a key holder could make."""
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    tag = hmac.new(SECRET, f"v1.{encoded}".encode(), hashlib.sha256).digest()[:16]
    return f"v1.{encoded}.{base64.urlsafe_b64encode(tag).rstrip(b'=').decode()}"


def test_documented_format() -> None:
    assert _signed(b'["12","alice",1772456400]') == sign_ack(SECRET, CLAIMS)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"\xff\xfe",
        b"{}",
        b'["12","alice"]',
        b'["12","alice",1,2]',
        b'[12,"alice",1772456400]',
        b'["12",null,1772456400]',
        b'["12","alice","1772456400"]',
        b'["12","alice",1772456400.5]',
        b'["12","alice",true]',
        b'["12","alice",99999999999999999999]',
        b'"abc"',
    ],
)
def test_signed_but_malformed_payload(payload: bytes) -> None:
    with pytest.raises(InvalidLink, match="malformed"):
        verify_ack(SECRET, _signed(payload), NOW)


CREATED = datetime(2026, 3, 2, 11, 58, 7, 123_456, tzinfo=UTC)
LINK = LinkClaims("12", "alice", EVERY_ACTION, created_at=CREATED)
link_strategy = st.builds(
    LinkClaims,
    incident_id=ids,
    person=ids,
    actions=st.frozensets(st.sampled_from(Action), min_size=1),
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
)


@given(link_strategy)
def test_v2_round_trip_any_claims(claims: LinkClaims) -> None:
    token = sign_link(SECRET, claims)
    assert token.startswith("v2.")
    assert verify_link(SECRET, token, NOW) == claims


def test_v2_names_the_incident_at_whole_milliseconds_and_never_expires() -> None:
    claims = verify_link(SECRET, sign_link(SECRET, LINK), NOW + timedelta(days=3650))
    assert claims.created_at == CREATED.replace(microsecond=123_000)
    assert claims.expires_at is None
    assert claims.is_for(CREATED)
    assert not claims.is_for(CREATED + timedelta(milliseconds=1))


def test_v2_documented_format() -> None:
    payload = b'["12","alice",1772452687123,"aresp"]'
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    tag = hmac.new(SECRET, f"v2.{encoded}".encode(), hashlib.sha256).digest()[:16]
    expected = f"v2.{encoded}.{base64.urlsafe_b64encode(tag).rstrip(b'=').decode()}"
    assert sign_link(SECRET, LINK) == expected


@given(link_strategy, st.data())
def test_changing_any_character_of_a_v2_link_invalidates_it(
    claims: LinkClaims, data: st.DataObject
) -> None:
    token = sign_link(SECRET, claims)
    index = data.draw(st.integers(0, len(token) - 1), label="index")
    replacement = data.draw(token_chars.filter(lambda c: c != token[index]), label="char")
    with pytest.raises(InvalidLink):
        verify_link(SECRET, token[:index] + replacement + token[index + 1 :], NOW)


def test_a_v1_link_still_acknowledges_until_it_expires() -> None:
    token = sign_ack(SECRET, CLAIMS)
    claims = verify_link(SECRET, token, NOW)
    assert claims == LinkClaims("12", "alice", frozenset({Action.ACKNOWLEDGE}), expires_at=LATER)
    assert claims.is_for(CREATED)  # it names no incident creation
    with pytest.raises(ExpiredLink):
        verify_link(SECRET, token, LATER)


def test_a_v1_payload_under_a_v2_tag_does_not_verify() -> None:
    _, payload, tag = sign_link(SECRET, LINK).split(".")
    with pytest.raises(InvalidLink, match="bad signature"):
        verify_link(SECRET, f"v1.{payload}.{tag}", NOW)


@pytest.mark.parametrize(
    "payload",
    [
        b'["12","alice",1772452687123]',
        b'["12","alice",1772452687123,""]',
        b'["12","alice",1772452687123,"x"]',
        b'["12","alice",1772452687123,"aa"]',
        b'["12","alice","1772452687123","a"]',
        b'["12","alice",1772452687123,["a"]]',
    ],
)
def test_signed_but_malformed_v2_payload(payload: bytes) -> None:
    with pytest.raises(InvalidLink, match="malformed"):
        verify_link(SECRET, signed("v2", payload), NOW)


def signed(version: str, payload: bytes) -> str:
    """A token of ``payload`` under a right tag, whatever the payload holds."""
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    tag = hmac.new(SECRET, f"{version}.{encoded}".encode(), hashlib.sha256).digest()[:16]
    return f"{version}.{encoded}.{base64.urlsafe_b64encode(tag).rstrip(b'=').decode()}"


def test_action_url_offers_only_the_actions_asked() -> None:
    url = action_url(
        "https://t.example/x", SECRET, "12", CREATED, "bob", frozenset({Action.SNOOZE})
    )
    assert url.startswith("https://t.example/x/ack/v2.")
    claims = verify_link(SECRET, url.rsplit("/", 1)[1], NOW)
    assert (claims.person, claims.actions) == ("bob", frozenset({Action.SNOOZE}))


status_claims = st.builds(
    StatusClaims,
    incident_id=ids,
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    person=ids,
    channel=st.sampled_from(["sms", "voice"]),
    tag=ids,
)


@given(status_claims)
def test_a_status_token_round_trips_at_whole_milliseconds(claims: StatusClaims) -> None:
    token = sign_status(SECRET, claims)
    assert token.startswith("s1.")
    assert verify_status(SECRET, token) == claims
    assert claims.created_at.microsecond % 1000 == 0


@given(status_claims, st.data())
def test_changing_any_character_of_a_status_token_invalidates_it(
    claims: StatusClaims, data: st.DataObject
) -> None:
    token = sign_status(SECRET, claims)
    i = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    other = data.draw(token_chars.filter(lambda c: c != token[i]))
    with pytest.raises(InvalidLink):
        verify_status(SECRET, token[:i] + other + token[i + 1 :])


def test_a_status_token_is_no_link_and_a_link_no_status_token() -> None:
    status = sign_status(SECRET, StatusClaims("12", CREATED, "alice", "sms", "page:0:0"))
    link = sign_link(SECRET, LinkClaims("12", "alice", EVERY_ACTION, created_at=CREATED))
    with pytest.raises(InvalidLink, match="unknown"):
        verify_link(SECRET, status, NOW)
    with pytest.raises(InvalidLink, match="unknown"):
        verify_status(SECRET, link)
    with pytest.raises(InvalidLink, match="bad signature"):
        verify_status(b"another key, just as long", status)


@pytest.mark.parametrize(
    "payload",
    [
        b'["12",1772452687123,"alice","sms"]',
        b'["12","1772452687123","alice","sms","page:0:0"]',
        b'["12",1772452687123,"alice",1,"page:0:0"]',
        b'{"incident": "12"}',
    ],
)
def test_signed_but_malformed_status_payload(payload: bytes) -> None:
    with pytest.raises(InvalidLink, match="malformed"):
        verify_status(SECRET, signed("s1", payload))
