"""Signed session cookies and the CSRF tokens bound to them. Pure: no I/O, time passed in.

A session is ``person.expiry.nonce.mac``: the MAC (HMAC-SHA256 with the service secret, under
its own label so no other signed value of Tocsin can pass for one) covers the rest, so the
cookie needs no storage and cannot be altered. The CSRF token is a MAC of the session's
nonce: a form from another site cannot know it, and it dies with its session.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SESSION = b"tocsin-console-session\0"
_CSRF = b"tocsin-console-csrf\0"


class BadSession(ValueError):
    """Not a session this service made, or one that has expired."""


@dataclass(frozen=True)
class Session:
    person: str
    expires_at: datetime
    nonce: str

    def csrf(self, secret: bytes) -> str:
        return csrf_token(secret, f"session:{self.nonce}")


def new_session(person: str, now: datetime, lifetime: timedelta) -> Session:
    return Session(person, now + lifetime, secrets.token_urlsafe(16))


def sign(secret: bytes, session: Session) -> str:
    body = ".".join(
        (_b64(session.person.encode()), str(int(session.expires_at.timestamp())), session.nonce)
    )
    return f"{body}.{_mac(secret, _SESSION, body)}"


def verify(secret: bytes, cookie: str, now: datetime) -> Session:
    body, _, mac = cookie.rpartition(".")
    if not body or not hmac.compare_digest(mac, _mac(secret, _SESSION, body)):
        raise BadSession("not a session of this service")
    person, expiry, nonce = body.split(".")
    expires_at = datetime.fromtimestamp(int(expiry), UTC)
    if expires_at <= now:
        raise BadSession("the session has expired")
    return Session(base64.urlsafe_b64decode(person + "==").decode(), expires_at, nonce)


def csrf_token(secret: bytes, binding: str) -> str:
    """The token a form must send back; ``binding`` names what it belongs to (a session, or a
    person named by the trusted proxy)."""
    return _mac(secret, _CSRF, binding)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(secret: bytes, label: bytes, body: str) -> str:
    return _b64(hmac.new(secret, label + body.encode(), hashlib.sha256).digest())
