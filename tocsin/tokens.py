"""API tokens: bearer credentials for ``/api/v1`` (and, when configured, the silence API and
``/metrics``), made and revoked with ``tocsin token``.

A token is shown once, when it is created; the store keeps only its SHA-256. That is enough
for these tokens: they are 32 random bytes, so no one can guess one or find one from its
hash, and a slow password hash (argon2, bcrypt) would only protect low-entropy secrets that
people choose. Looking a token up by its hash also keeps the check's timing from telling a
caller anything about a real token: what the store compares is a hash the caller cannot
steer towards one.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from tocsin import keys

TOKEN_PREFIX = "tcs_"
"""Says what a leaked string is (secret scanners match on it), and which header it belongs in."""
TOKEN_BYTES = 32
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}$")
"""``TOKEN_PREFIX`` and 32 bytes in URL-safe base64 without padding."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LAST_USED_EVERY = timedelta(minutes=1)
"""A token's last use is written at most this often: checking a token stays one read."""

_CREATE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
_REVOKE = """
local digest = redis.call('HGET', KEYS[1], ARGV[1])
if not digest then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], digest)
return 1
"""
_TOUCH = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
"""Only while the name still holds this token: a last use never brings back a revoked one."""


class Scope(StrEnum):
    READ = "read"
    """Incidents, explain, silences and metrics: what a dashboard or a script reads."""
    WRITE = "write"
    """Also acting: resolving, acknowledging, silencing. It implies read."""

    def allows(self, needed: "Scope") -> bool:
        return self is Scope.WRITE or needed is Scope.READ


class ApiToken(BaseModel):
    """What the store keeps about a token; never the token itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def person(self) -> str:
        """Who acts with it, in an incident's story."""
        return f"token:{self.name}"


class TokenExists(ValueError):
    pass


class TokenRefused(Exception):
    """Not a token the API takes; the message says why (never what was sent)."""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(
            f"token name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


class TokenStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create = redis.register_script(_CREATE)
        self._revoke = redis.register_script(_REVOKE)
        self._touch = redis.register_script(_TOUCH)

    async def create(
        self, name: str, scope: Scope, now: datetime, *, lifetime: timedelta | None = None
    ) -> tuple[str, ApiToken]:
        """The new token (to show once) and what is kept of it; ``TokenExists`` when the
        name is taken (revoke it first)."""
        record = ApiToken(
            name=check_name(name),
            scope=scope,
            created_at=now,
            expires_at=None if lifetime is None else now + lifetime,
        )
        token = new_token()
        done = await self._create(
            keys=[keys.TOKEN_NAMES, keys.TOKENS],
            args=[name, digest(token), record.model_dump_json()],
        )
        if not done:
            raise TokenExists(f"a token named {name!r} exists: revoke it first")
        return token, record

    async def all(self) -> list[ApiToken]:
        """By name."""
        stored = await self.redis.hvals(keys.TOKENS)  # type: ignore[misc]
        tokens = [ApiToken.model_validate_json(raw) for raw in stored]
        return sorted(tokens, key=lambda token: token.name)

    async def revoke(self, name: str) -> bool:
        """``False`` when there is no token of that name."""
        return bool(await self._revoke(keys=[keys.TOKEN_NAMES, keys.TOKENS], args=[name]))

    async def check(self, token: str, now: datetime) -> ApiToken:
        """The token's record, its last use noted; ``TokenRefused`` when it is malformed,
        unknown (never made, or revoked) or expired."""
        if not _TOKEN.match(token):
            raise TokenRefused(f"not a Tocsin API token (they start with {TOKEN_PREFIX})")
        hashed = digest(token)
        raw = await self.redis.hget(keys.TOKENS, hashed)  # type: ignore[misc]
        if raw is None:
            raise TokenRefused("unknown or revoked token")
        record = ApiToken.model_validate_json(raw)
        if record.expired(now):
            raise TokenRefused("the token has expired")
        last = record.last_used_at
        if last is None or now - last >= LAST_USED_EVERY:
            used = record.model_copy(update={"last_used_at": now})
            await self._touch(
                keys=[keys.TOKEN_NAMES, keys.TOKENS],
                args=[record.name, hashed, used.model_dump_json()],
            )
        return record
