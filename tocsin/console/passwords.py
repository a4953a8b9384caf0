"""Console passwords (argon2id hashes in Redis) and the count of failed sign-ins that slows
down guessing. Hashing takes tens of milliseconds on purpose: it runs off the event loop."""

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from tocsin.console import keys
from tocsin.console.attempts import Attempts

MIN_LENGTH = 10
MAX_FAILURES = 5
"""Failed sign-ins allowed per person and address within ``FAILURE_WINDOW``."""
FAILURE_WINDOW = timedelta(minutes=15)

_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    pass


class Passwords:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.failures = Attempts(redis, keys.failed_logins, MAX_FAILURES, FAILURE_WINDOW)

    async def set(self, person: str, password: str) -> None:
        if len(password) < MIN_LENGTH:
            raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        await cast(Awaitable[int], self.redis.hset(keys.PASSWORDS, person, hashed))

    async def check(self, person: str, password: str) -> bool:
        stored = await cast(Awaitable[bytes | None], self.redis.hget(keys.PASSWORDS, person))
        if stored is None:
            return False
        try:
            return await asyncio.to_thread(_HASHER.verify, stored.decode(), password)
        except (VerificationError, InvalidHashError):
            return False
