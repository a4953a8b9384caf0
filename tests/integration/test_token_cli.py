"""``tocsin token create|list|revoke`` against the real Valkey: a token printed once, kept
only as its hash, listed without it, and refused by the store once revoked."""

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.integration.test_api import DEPLOY
from tocsin import keys
from tocsin.cli import main
from tocsin.store import connect
from tocsin.tokens import TOKEN_PREFIX, Scope, TokenStore, digest

EXPIRES = timedelta(days=90)


@pytest.fixture(autouse=True)
def store(valkey_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """The commands' store, with no tokens, and nothing else from the shell's TOCSIN_*."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    client = redis.Redis.from_url(valkey_url)
    client.delete(keys.TOKENS, keys.TOKEN_NAMES)
    try:
        yield client
    finally:
        client.close()


def test_create_list_revoke(store: redis.Redis, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "ci-bot", "--scope", "write", "--expires", "90d"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith(TOKEN_PREFIX)
    assert "shown only now" in err
    # At rest: its hash, never the token.
    assert store.hget(keys.TOKEN_NAMES, "ci-bot") == digest(token).encode()
    stored = store.hgetall(keys.TOKENS)
    assert list(stored) == [digest(token).encode()]
    assert token.encode() not in b"".join(stored.values())

    assert main(["token", "create", "grafana", "--scope", "read"]) == 0
    capsys.readouterr()
    assert main(["token", "list"]) == 0
    out, _ = capsys.readouterr()
    ci_bot, grafana = out.splitlines()
    assert ci_bot.startswith("ci-bot  write  created ")
    assert "expires never" not in ci_bot
    assert ci_bot.endswith("last used never")
    assert grafana.startswith("grafana  read  created ")
    assert "expires never" in grafana
    assert token not in out

    assert main(["token", "revoke", "ci-bot"]) == 0
    assert capsys.readouterr().out == "token 'ci-bot' revoked\n"
    assert store.hget(keys.TOKEN_NAMES, "ci-bot") is None
    assert store.hexists(keys.TOKENS, digest(token)) == 0
    assert main(["token", "list"]) == 0
    assert capsys.readouterr().out.startswith("grafana  read")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "bad name", "--scope", "read"], "token name 'bad name': use 1 to 64"),
        (["create", "bot", "--scope", "read", "--expires", "soon"], "invalid duration 'soon'"),
        (["revoke", "nobody"], "no token named 'nobody'"),
    ],
)
def test_a_bad_token_command_says_why(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["token", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"tocsin: {message}")


def test_a_name_is_taken_until_revoked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "create", "bot", "--scope", "read"]) == 0
    first = capsys.readouterr().out.strip()

    assert main(["token", "create", "bot", "--scope", "write"]) == 2
    assert "a token named 'bot' exists: revoke it first" in capsys.readouterr().err

    assert main(["token", "revoke", "bot"]) == 0
    assert main(["token", "create", "bot", "--scope", "write"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] != first


def test_a_scope_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "create", "bot"])
    assert "--scope" in capsys.readouterr().err


STORE_COMMANDS = {
    "token": ["token", "list"],
    "silence": ["silence", "list"],
    "incident": ["incident", "resolve", "1", "--config", str(DEPLOY)],
}


@pytest.mark.parametrize("command", STORE_COMMANDS.values(), ids=STORE_COMMANDS)
def test_a_data_dir_without_a_running_up_says_so(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("TOCSIN_REDIS_URL")
    assert main([*command, "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "tocsin: TOCSIN_REDIS_URL is not set, and no running `tocsin up` was found in "
        f"{tmp_path} (--data-dir)\n"
    )


def test_list_says_which_tokens_expired(
    valkey_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def made_a_year_ago() -> None:
        client = connect(valkey_url)
        try:
            a_year_ago = datetime.now(UTC) - timedelta(days=365)
            await TokenStore(client).create("old", Scope.READ, a_year_ago, lifetime=EXPIRES)
        finally:
            await client.aclose()

    asyncio.run(made_a_year_ago())
    assert main(["token", "create", "new", "--scope", "read", "--expires", "90d"]) == 0
    capsys.readouterr()

    assert main(["token", "list"]) == 0
    new, old = capsys.readouterr().out.splitlines()
    assert old.endswith("last used never  EXPIRED")
    assert not new.endswith("EXPIRED")
