"""``tocsin ack``, ``tocsin resolve`` and ``tocsin severity`` against a running server's API
on 127.0.0.1 (the
real app, webhook, router and Valkey): what they print and their exit codes, for success and
for each way the API or the network says no."""

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from router.consumer import Router
from tests.conftest import ManualClock
from tests.e2e.conftest import free_port
from tests.integration.test_api import Client, client, get_json, loaded, router, runtime, send
from tests.integration.test_incident_actions_api import act
from tocsin.cli import main
from tocsin.tokens import Scope, TokenStore

__all__ = ["client", "loaded", "router", "runtime"]  # the fixtures of the incidents API's tests

Captured = pytest.CaptureFixture[str]
Patch = pytest.MonkeyPatch


@pytest.fixture
async def served(client: Client, router: Router, monkeypatch: Patch) -> Client:
    """The server, with incident 1, where the commands look for it (and no token yet)."""
    await send(client, router)
    monkeypatch.setenv("TOCSIN_API_URL", str(client.make_url("/")))
    monkeypatch.delenv("TOCSIN_API_TOKEN", raising=False)
    return client


async def run(*argv: str) -> int:
    """The command in a thread of its own, as from a shell: the server answers meanwhile."""
    return await asyncio.to_thread(main, list(argv))


async def token_for(redis: Redis, clock: ManualClock, scope: Scope) -> str:
    token, _ = await TokenStore(redis).create(f"{scope}-cli", scope, clock())
    return token


async def test_ack_and_resolve_through_the_api(
    served: Client, redis: Redis, clock: ManualClock, monkeypatch: Patch, capsys: Captured
) -> None:
    monkeypatch.setenv("TOCSIN_API_TOKEN", await token_for(redis, clock, Scope.WRITE))

    assert await run("ack", "1") == 0
    clock.advance(timedelta(minutes=1))
    assert await run("ack", "1") == 0
    assert await run("resolve", "1", "--by", "bob") == 0

    assert capsys.readouterr().out.splitlines() == [
        "incident 1: acknowledged",
        "incident 1: already acknowledged",
        "incident 1: resolved",
    ]
    incident = await get_json(served, "/api/v1/incidents/1")
    assert (incident["acknowledged_by"], incident["resolved_by"]) == ("token:write-cli", "bob")


async def test_severity_through_the_api(
    served: Client, redis: Redis, clock: ManualClock, monkeypatch: Patch, capsys: Captured
) -> None:
    monkeypatch.setenv("TOCSIN_API_TOKEN", await token_for(redis, clock, Scope.WRITE))

    assert await run("severity", "1", "SEV3", "--by", "bob") == 0
    assert await run("severity", "1", "SEV3") == 0
    assert await run("severity", "1", "SEV2") == 0

    assert capsys.readouterr().out.splitlines() == [
        "incident 1: Lowered to SEV3.",
        "incident 1: Already SEV3.",
        "incident 1: Raised to SEV2: paged again from level 1.",
    ]
    assert (await get_json(served, "/api/v1/incidents/1"))["severity"] == "SEV2"


async def test_each_refusal_is_one_line_and_exit_2(
    served: Client, redis: Redis, clock: ManualClock, monkeypatch: Patch, capsys: Captured
) -> None:
    await act(served, "1", "resolve")
    writer = await token_for(redis, clock, Scope.WRITE)
    reader = await token_for(redis, clock, Scope.READ)
    cases = [
        ("", ["ack", "1"], "tocsin: set TOCSIN_API_TOKEN to a write token"),
        ("tcs_ nope", ["ack", "1"], "tocsin: TOCSIN_API_TOKEN is not a token"),
        ("tcs_unknown", ["ack", "1"], "tocsin: the API refused TOCSIN_API_TOKEN: not a Tocsin"),
        (reader, ["ack", "1"], "tocsin: TOCSIN_API_TOKEN may only read: this needs a write token"),
        (writer, ["ack", "7"], "tocsin: no incident '7' (or it was resolved and has expired)"),
        (writer, ["ack", "1"], "tocsin: incident 1: the incident is resolved"),
        (writer, ["resolve", "1", "--by", "eve"], "tocsin: incident 1: by: 'eve' is not a person"),
        (writer, ["severity", "1", "SEV4"], "tocsin: incident 1: Already resolved by token:"),
        (
            writer,
            ["ack", "1", "--url", f"http://127.0.0.1:{free_port()}"],
            "tocsin: cannot reach the API at http://127.0.0.1:",
        ),
        (
            writer,
            ["ack", "1", "--url", "ftp://x"],
            "tocsin: --url: 'ftp://x' is not an http(s) URL",
        ),
        (writer, ["ack", "1", "--url", "http://[::1"], "tocsin: --url: 'http://[::1' is not"),
    ]
    for token, argv, message in cases:
        monkeypatch.setenv("TOCSIN_API_TOKEN", token)

        assert await run(*argv) == 2, argv

        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith(message), (argv, err)
        assert err.count("\n") == 1, err
