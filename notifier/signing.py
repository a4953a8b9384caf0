"""Signed incident links: ``/ack/{token}`` where the token names an incident, a person and
what the link lets them do, under an HMAC-SHA256 tag. Pure: no I/O, and the time is passed in.

Token format, version 2 (what pages carry)::

    v2.<payload>.<tag>

``payload`` is base64url (no padding) of the compact JSON array ``[incident_id, person,
created_at_unix_ms, actions]``: ``created_at`` is the incident's, so a link cannot act on
another incident that got the same id (after the store lost writes); ``actions`` is a string
of one letter per action the link allows (``a`` acknowledge, ``r`` resolve, ``e`` escalate
now, ``s`` snooze, ``p`` reassign). A v2 link has no expiry of its own: it is valid while
its incident is open and for a grace period after it resolved, which only the store knows
(``notifier.ack_web``).

Version 1 (``[incident_id, person, expires_at_unix_seconds]``, acknowledge only) is no longer
signed but still accepted until each link's own expiry.

Status tokens (``s1.<payload>.<tag>``) are not links a person opens: they name one delivery,
``[incident_id, created_at_unix_ms, person, channel, delivery_tag]``, for a provider to
report on once it knows whether the delivery reached the phone (``notifier.twilio_status``).
Their own version keeps one from being taken for a link, or a link for one.

``tag`` is base64url of the first 16 bytes of HMAC-SHA256(secret, ``"<version>." +
payload``). The tag covers the version too, so a token cannot be replayed under another
format. Each token has exactly one accepted spelling: a non-canonical base64 variant of a
valid token is rejected, so flipping any character invalidates it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ingest.clock import epoch_ms, from_epoch_ms

__all__ = [
    "EVERY_ACTION",
    "AckClaims",
    "Action",
    "ExpiredLink",
    "InvalidLink",
    "LinkClaims",
    "StatusClaims",
    "ack_url",
    "action_url",
    "link_token",
    "sign_ack",
    "sign_link",
    "sign_status",
    "verify_ack",
    "verify_link",
    "verify_status",
]

VERSION = "v1"
VERSION_2 = "v2"
STATUS_VERSION = "s1"
_TAG_BYTES = 16
"""A 128-bit tag is unforgeable in practice and keeps links short enough for SMS and chat."""
MIN_SECRET_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class InvalidLink(ValueError):
    """Tampered, malformed, or signed with another key."""


class ExpiredLink(InvalidLink):
    """Genuine, but past its expiry. A subclass so code that only rejects bad links still
    rejects expired ones."""

    def __init__(self, claims: "AckClaims") -> None:
        super().__init__(f"link expired at {claims.expires_at.isoformat()}")
        self.claims = claims

    @property
    def expired_at(self) -> datetime:
        return self.claims.expires_at


@dataclass(frozen=True)
class AckClaims:
    incident_id: str
    person: str
    """The person's id (their key in the ``people`` section)."""
    expires_at: datetime
    """Aware; kept in UTC at whole seconds (the token's precision), so claims round-trip
    exactly. The link is valid strictly before this instant."""

    def __post_init__(self) -> None:
        if self.expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        normalized = self.expires_at.astimezone(UTC).replace(microsecond=0)
        object.__setattr__(self, "expires_at", normalized)


class Action(StrEnum):
    """What a link lets its person do to the incident."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ESCALATE = "escalate"
    SNOOZE = "snooze"
    REASSIGN = "reassign"


EVERY_ACTION = frozenset(Action)
_LETTERS = {
    Action.ACKNOWLEDGE: "a",
    Action.RESOLVE: "r",
    Action.ESCALATE: "e",
    Action.SNOOZE: "s",
    Action.REASSIGN: "p",
}
_ACTIONS = {letter: action for action, letter in _LETTERS.items()}


@dataclass(frozen=True)
class LinkClaims:
    """What a genuine link of either version says."""

    incident_id: str
    person: str
    actions: frozenset[Action]
    created_at: datetime | None = None
    """The incident's (v2, at whole milliseconds, UTC); ``None`` for a v1 link."""
    expires_at: datetime | None = None
    """The link's own expiry (v1); ``None`` for a v2 link, which lasts as its incident does."""

    def __post_init__(self) -> None:
        if not self.actions:
            raise ValueError("a link allows at least one action")
        if self.created_at is not None:
            if self.created_at.utcoffset() is None:
                raise ValueError("created_at must be timezone-aware")
            object.__setattr__(self, "created_at", _whole_ms(self.created_at))

    def is_for(self, created_at: datetime) -> bool:
        """Whether the link was signed for the incident created at ``created_at`` (a v1
        link names no creation time: it is taken for whichever incident has its id)."""
        return self.created_at is None or self.created_at == _whole_ms(created_at)


def sign_link(secret: bytes, claims: LinkClaims) -> str:
    """A v2 token; the claims need the incident's ``created_at``."""
    if claims.created_at is None:
        raise ValueError("a link names its incident's created_at")
    letters = "".join(_LETTERS[action] for action in Action if action in claims.actions)
    fields = [claims.incident_id, claims.person, epoch_ms(claims.created_at), letters]
    return _sign(secret, VERSION_2, fields)


def verify_link(secret: bytes, token: str, now: datetime) -> LinkClaims:
    """The claims of a genuine link, v2 or an unexpired v1 (which only acknowledges).
    Raises as ``verify_ack`` does; whether a v2 link's incident still takes it is for the
    caller to check against the store."""
    version, _, rest = token.partition(".")
    if version == VERSION:
        v1 = verify_ack(secret, token, now)
        return LinkClaims(
            v1.incident_id, v1.person, frozenset({Action.ACKNOWLEDGE}), expires_at=v1.expires_at
        )
    if version != VERSION_2:
        raise InvalidLink("unknown link format")
    return _parse_link(_signed_payload(secret, VERSION_2, rest))


def action_url(
    base_url: str,
    secret: bytes,
    incident_id: str,
    created_at: datetime,
    person: str,
    actions: frozenset[Action] = EVERY_ACTION,
) -> str:
    """The link to an incident's page for ``person``, offering only ``actions``: a chat
    button for one action links to a page with that one button (opening it acts on
    nothing; the button on the page does)."""
    claims = LinkClaims(incident_id, person, actions, created_at=created_at)
    return ack_url(base_url, sign_link(secret, claims))


@dataclass(frozen=True)
class StatusClaims:
    """One delivery, as a status token names it."""

    incident_id: str
    created_at: datetime
    """The incident's, at whole milliseconds, UTC."""
    person: str
    channel: str
    tag: str
    """What the delivery is recorded under (``notifier.sending``)."""

    def __post_init__(self) -> None:
        if self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        object.__setattr__(self, "created_at", _whole_ms(self.created_at))


def sign_status(secret: bytes, claims: StatusClaims) -> str:
    created_ms = epoch_ms(claims.created_at)
    fields = [claims.incident_id, created_ms, claims.person, claims.channel, claims.tag]
    return _sign(secret, STATUS_VERSION, fields)


def verify_status(secret: bytes, token: str) -> StatusClaims:
    """The claims of a genuine status token; raises ``InvalidLink`` for anything else. It
    has no expiry: what it reports on is recorded once, and only while its incident is."""
    version, _, rest = token.partition(".")
    if version != STATUS_VERSION:
        raise InvalidLink("unknown token format")
    payload = _signed_payload(secret, STATUS_VERSION, rest)
    try:
        incident_id, created_ms, person, channel, delivery = json.loads(payload)
        if not all(isinstance(t, str) for t in (incident_id, person, channel, delivery)):
            raise TypeError("names must be strings")
        if type(created_ms) is not int:
            raise TypeError("created_at must be an integer")
        return StatusClaims(incident_id, from_epoch_ms(created_ms), person, channel, delivery)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidLink("malformed token") from exc


def sign_ack(secret: bytes, claims: AckClaims) -> str:
    """A v1 token, as pages carried before v2."""
    fields = [claims.incident_id, claims.person, int(claims.expires_at.timestamp())]
    return _sign(secret, VERSION, fields)


def verify_ack(secret: bytes, token: str, now: datetime) -> AckClaims:
    """The claims of a genuine token that has not expired at ``now``.

    The boundary is exclusive: at exactly ``expires_at`` the link has expired. Raises
    ``ExpiredLink`` for a genuine but expired token, ``InvalidLink`` for anything else wrong;
    the signature is checked before the payload is even parsed.
    """
    version, _, rest = token.partition(".")
    if version != VERSION:
        raise InvalidLink("unknown link format")
    claims = _parse_claims(_signed_payload(secret, VERSION, rest))
    if now >= claims.expires_at:
        raise ExpiredLink(claims)
    return claims


def ack_url(base_url: str, token: str) -> str:
    """The absolute link to put in a notification, for ``base_url`` like
    ``https://tocsin.example.com`` (a path prefix is kept)."""
    return f"{base_url.rstrip('/')}{_ACK_PATH}{token}"


def link_token(url: str) -> str:
    """The token of a link ``ack_url`` made: what a phone call's menu carries instead."""
    return url.rpartition(_ACK_PATH)[2]


_ACK_PATH = "/ack/"


def _whole_ms(at: datetime) -> datetime:
    return from_epoch_ms(epoch_ms(at))


def _sign(secret: bytes, version: str, fields: list[object]) -> str:
    payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    signed = f"{version}.{_encode(payload.encode())}"
    return f"{signed}.{_encode(_tag(secret, signed))}"


def _signed_payload(secret: bytes, version: str, rest: str) -> bytes:
    """The payload of a token of ``version`` (``rest`` follows its ``<version>.``), once
    its tag is found right: before the payload is even parsed."""
    payload_b64, _, tag_b64 = rest.partition(".")
    tag = _decode(tag_b64)
    if not hmac.compare_digest(tag, _tag(secret, f"{version}.{payload_b64}")):
        raise InvalidLink("bad signature")
    return _decode(payload_b64)


def _tag(secret: bytes, signed: str) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the link secret must be at least {MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, signed.encode(), hashlib.sha256).digest()[:_TAG_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    # The stdlib decoder skips stray characters and ignores the unused low bits of the last
    # one; insisting on the canonical spelling gives every token exactly one valid form.
    if not _B64URL.fullmatch(text):
        raise InvalidLink("malformed link")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidLink("malformed link") from exc
    if _encode(data) != text:
        raise InvalidLink("malformed link")
    return data


def _parse_claims(payload: bytes) -> AckClaims:
    # Only reached with a valid tag, i.e. a payload we signed; still checked so that a leaked
    # or misconfigured key cannot turn a bad payload into a crash.
    try:
        incident_id, person, expires = json.loads(payload)
        if not (isinstance(incident_id, str) and isinstance(person, str)):
            raise TypeError("ids must be strings")
        if type(expires) is not int:
            raise TypeError("expiry must be an integer")
        return AckClaims(incident_id, person, datetime.fromtimestamp(expires, UTC))
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidLink("malformed link") from exc


def _parse_link(payload: bytes) -> LinkClaims:
    try:
        incident_id, person, created_ms, letters = json.loads(payload)
        if not (isinstance(incident_id, str) and isinstance(person, str)):
            raise TypeError("ids must be strings")
        if type(created_ms) is not int or not isinstance(letters, str):
            raise TypeError("created_at must be an integer, actions a string")
        actions = frozenset(_ACTIONS[letter] for letter in letters)
        if len(actions) != len(letters):
            raise ValueError("an action named twice")
        return LinkClaims(incident_id, person, actions, created_at=from_epoch_ms(created_ms))
    except (ValueError, TypeError, KeyError, OverflowError, OSError) as exc:
        raise InvalidLink("malformed link") from exc
