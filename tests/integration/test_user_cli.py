"""``tocsin user set-password`` against the real Valkey: the password it reads signs the
person in, only its hash is stored, and a person not configured or a short password is
refused with one line saying so."""

import asyncio
import io
import os
from collections.abc import Iterator

import pytest
import redis

from tests.integration.test_api import DEPLOY
from tocsin.cli import main
from tocsin.console import keys
from tocsin.console.passwords import Passwords
from tocsin.store import connect

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def store(valkey_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    for name in list(os.environ):
        if name.startswith("TOCSIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    client = redis.Redis.from_url(valkey_url)
    client.delete(keys.PASSWORDS)
    try:
        yield client
    finally:
        client.close()


def set_password(monkeypatch: pytest.MonkeyPatch, person: str, typed: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))
    return main(["user", "set-password", person, "--config", str(DEPLOY)])


def test_the_password_set_is_stored_as_its_hash(
    store: redis.Redis, valkey_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert set_password(monkeypatch, "alice", PASSWORD) == 0
    stored = store.hget(keys.PASSWORDS, "alice")
    assert stored is not None
    assert stored.startswith(b"$argon2id$")
    assert PASSWORD.encode() not in stored
    assert asyncio.run(checked(valkey_url)) == [True, False, False]


async def checked(url: str) -> list[bool]:
    """How the console's sign-in takes the password, a wrong one, and a person without."""
    client = connect(url)
    try:
        passwords = Passwords(client)
        return [
            await passwords.check("alice", PASSWORD),
            await passwords.check("alice", PASSWORD + "!"),
            await passwords.check("bob", PASSWORD),
        ]
    finally:
        await client.aclose()


def test_an_unknown_person_or_a_short_password_is_refused(
    store: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set_password(monkeypatch, "mallory", PASSWORD) == 2
    assert "'mallory' is not a person in" in capsys.readouterr().err
    assert set_password(monkeypatch, "alice", "short") == 2
    assert "at least 10 characters" in capsys.readouterr().err
    assert store.hlen(keys.PASSWORDS) == 0
