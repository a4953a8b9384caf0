"""Signed acknowledge links: ``/ack/{token}`` where the token names an incident, a person and an
expiry, under an HMAC-SHA256 tag. Pure: no I/O, and the time is passed in.

Token format, version 1::

    v1.<payload>.<tag>

``payload`` is base64url (no padding) of the compact JSON array ``[incident_id, person,
expires_at_unix_seconds]``; ``tag`` is base64url of the first 16 bytes of
HMAC-SHA256(secret, ``"v1." + payload``). The tag covers the version too, so a token cannot be
replayed under another format. Each token has exactly one accepted spelling: a non-canonical
base64 variant of a valid token is rejected, so flipping any character invalidates it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["AckClaims", "ExpiredLink", "InvalidLink", "ack_url", "sign_ack", "verify_ack"]

VERSION = "v1"
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


def sign_ack(secret: bytes, claims: AckClaims) -> str:
    payload = json.dumps(
        [claims.incident_id, claims.person, int(claims.expires_at.timestamp())],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    signed = f"{VERSION}.{_encode(payload.encode())}"
    return f"{signed}.{_encode(_tag(secret, signed))}"


def verify_ack(secret: bytes, token: str, now: datetime) -> AckClaims:
    """The claims of a genuine token that has not expired at ``now``.

    The boundary is exclusive: at exactly ``expires_at`` the link has expired. Raises
    ``ExpiredLink`` for a genuine but expired token, ``InvalidLink`` for anything else wrong;
    the signature is checked before the payload is even parsed.
    """
    version, _, rest = token.partition(".")
    if version != VERSION:
        raise InvalidLink("unknown link format")
    payload_b64, _, tag_b64 = rest.partition(".")
    tag = _decode(tag_b64)
    if not hmac.compare_digest(tag, _tag(secret, f"{VERSION}.{payload_b64}")):
        raise InvalidLink("bad signature")
    claims = _parse_claims(_decode(payload_b64))
    if now >= claims.expires_at:
        raise ExpiredLink(claims)
    return claims


def ack_url(base_url: str, token: str) -> str:
    """The absolute link to put in a notification, for ``base_url`` like
    ``https://tocsin.example.com`` (a path prefix is kept)."""
    return f"{base_url.rstrip('/')}/ack/{token}"


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
