"""Signed session cookies, the CSRF tokens bound to them, and sign-in links. Pure: no I/O,
time passed in.

A session is ``person.expiry.nonce.mac``: the MAC (HMAC-SHA256 with the service secret, under
its own label so no other signed value of Tocsin can pass for one) covers the rest, so the
cookie needs no storage and cannot be altered. The CSRF token is a MAC of the session's
nonce: a form from another site cannot know it, and it dies with its session.

A sign-in link's token has the same shape under another label (the purpose "sign-in"): it
names its person and expiry, and its nonce is what the store remembers so it works once.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SESSION = b"tocsin-console-session\0"
_CSRF = b"tocsin-console-csrf\0"
_SIGN_IN_LINK = b"tocsin-console-sign-in-link\0"


class BadSession(ValueError):
    """Not a session (or sign-in link) this service made, or one that has expired."""


class Expired(BadSession):
    """Genuine, but past its expiry: worth saying so, where a forgery gets no detail."""


@dataclass(frozen=True)
class Session:
    person: str
    expires_at: datetime
    nonce: str

    def csrf(self, secret: bytes) -> str:
        return csrf_token(secret, f"session:{self.nonce}")


def new_session(person: str, now: datetime, lifetime: timedelta) -> Session:
    """A session, or a sign-in link's claims (the same three fields)."""
    return Session(person, now + lifetime, secrets.token_urlsafe(16))


def sign(secret: bytes, session: Session) -> str:
    return _seal(secret, _SESSION, session)


def verify(secret: bytes, cookie: str, now: datetime) -> Session:
    return _open(secret, _SESSION, cookie, now)


def sign_link(secret: bytes, link: Session) -> str:
    """The token of a sign-in link: URL-safe as it is."""
    return _seal(secret, _SIGN_IN_LINK, link)


def verify_link(secret: bytes, token: str, now: datetime) -> Session:
    """Raises ``Expired`` for a genuine link past its time, ``BadSession`` for anything else
    wrong; never another error, whatever the token holds."""
    try:
        return _open(secret, _SIGN_IN_LINK, token, now)
    except BadSession:
        raise
    except ValueError:  # a valid MAC over a malformed body: not one we signed
        raise BadSession("not a sign-in link of this service") from None


def csrf_token(secret: bytes, binding: str) -> str:
    """The token a form must send back; ``binding`` names what it belongs to (a session, or a
    person named by the trusted proxy)."""
    return _mac(secret, _CSRF, binding)


def _seal(secret: bytes, label: bytes, claims: Session) -> str:
    body = ".".join(
        (_b64(claims.person.encode()), str(int(claims.expires_at.timestamp())), claims.nonce)
    )
    return f"{body}.{_mac(secret, label, body)}"


def _open(secret: bytes, label: bytes, sealed: str, now: datetime) -> Session:
    body, _, mac = sealed.rpartition(".")
    if not body or not hmac.compare_digest(mac.encode(), _mac(secret, label, body).encode()):
        raise BadSession("not a session of this service")
    person, expiry, nonce = body.split(".")
    expires_at = datetime.fromtimestamp(int(expiry), UTC)
    if expires_at <= now:
        raise Expired("the session has expired")
    return Session(base64.urlsafe_b64decode(person + "==").decode(), expires_at, nonce)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(secret: bytes, label: bytes, body: str) -> str:
    return _b64(hmac.new(secret, label + body.encode(), hashlib.sha256).digest())
