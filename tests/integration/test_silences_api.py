"""Silences over HTTP as Alertmanager's API v2 has them: the real ``amtool`` adds, queries and
expires a silence against Tocsin, and bad requests get a clear 4xx."""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from router.silence_store import SilenceStore
from tests.conftest import ManualClock
from tests.integration.test_api import loaded
from tocsin.api_auth import Access, ApiAuthConfig
from tocsin.app import make_app
from tocsin.config import LoadedConfig
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.silences_api import MAX_BODY_BYTES, add_routes
from tocsin.tokens import Scope, TokenStore

AMTOOL = shutil.which("amtool")
__all__ = ["loaded"]  # the configuration of the incidents API's tests
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    app = web.Application()
    add_routes(app, SilenceStore(redis), clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def body(**changes: object) -> dict[str, object]:
    silence: dict[str, object] = {
        "matchers": [{"name": "service", "value": "payments", "isRegex": False}],
        "startsAt": "2026-03-02T12:00:00Z",
        "endsAt": "2026-03-02T14:00:00Z",
        "createdBy": "alice",
        "comment": "deploying payments",
    }
    silence.update(changes)
    return silence


async def test_create_get_list_and_expire(client: Client, clock: ManualClock) -> None:
    created = await client.post("/api/v2/silences", json=body())
    assert created.status == 200
    silence_id = (await created.json())["silenceID"]

    got = await (await client.get(f"/api/v2/silence/{silence_id}")).json()
    assert got["status"] == {"state": "active"}
    assert got["matchers"] == [
        {"name": "service", "value": "payments", "isRegex": False, "isEqual": True}
    ]
    assert (got["createdBy"], got["comment"]) == ("alice", "deploying payments")
    listed = await (
        await client.get("/api/v2/silences", params={"filter": "service=payments"})
    ).json()
    assert [s["id"] for s in listed] == [silence_id]
    other = await client.get("/api/v2/silences", params={"filter": "service=db"})
    assert await other.json() == []

    clock.advance(timedelta(minutes=5))
    assert (await client.delete(f"/api/v2/silence/{silence_id}")).status == 200
    expired = await (await client.get(f"/api/v2/silence/{silence_id}")).json()
    assert expired["status"] == {"state": "expired"}
    assert expired["endsAt"] == "2026-03-02T12:05:00Z"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"endsAt": "2026-03-02T11:00:00Z"}, "endsAt must not be before startsAt"),
        ({"endsAt": "2026-03-02T11:59:00Z", "startsAt": "2026-03-02T11:00:00Z"}, "in the future"),
        ({"matchers": []}, "matchers"),
        ({"matchers": [{"name": "a", "value": "", "isRegex": False}]}, "must not match the empty"),
        ({"matchers": [{"name": "a", "value": "(", "isRegex": True}]}, "invalid regex"),
        ({"createdBy": ""}, "createdBy"),
        ({"startsAt": "soon"}, "startsAt"),
    ],
)
async def test_a_bad_silence_is_400_saying_why(
    client: Client, changes: dict[str, object], message: str
) -> None:
    response = await client.post("/api/v2/silences", json=body(**changes))
    assert response.status == 400
    assert message in await response.json()


async def test_not_json_and_unknown_ids(client: Client) -> None:
    response = await client.post("/api/v2/silences", data=b"{not json")
    assert response.status == 400
    assert "invalid JSON" in await response.json()
    assert (await client.get("/api/v2/silence/nope")).status == 404
    assert (await client.delete("/api/v2/silence/nope")).status == 404
    assert (await client.post("/api/v2/silences", json=body(id="nope"))).status == 404
    bad_filter = await client.get("/api/v2/silences", params={"filter": "not a matcher"})
    assert bad_filter.status == 400


@pytest.mark.skipif(
    AMTOOL is None, reason="amtool is not installed (Debian: prometheus-alertmanager)"
)
async def test_amtool_adds_queries_and_expires_a_silence_on_tocsin(
    redis: Redis,
) -> None:
    app = web.Application()
    add_routes(app, SilenceStore(redis), lambda: datetime.now(UTC))
    async with TestServer(app, host="127.0.0.1") as server:
        url = f"--alertmanager.url=http://127.0.0.1:{server.port}"

        async def amtool(*args: str) -> str:
            assert AMTOOL is not None
            process = await asyncio.create_subprocess_exec(
                AMTOOL, url, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, err.decode()
            return out.decode()

        silence_id = (
            await amtool(
                "silence",
                "add",
                "alertname=DiskFull",
                'severity=~"crit.*"',
                "--comment=replacing disks",
                "--author=alice",
                "--duration=2h",
            )
        ).strip()
        [listed] = json.loads(await amtool("silence", "query", "-o", "json"))
        assert listed["id"] == silence_id
        assert listed["status"]["state"] == "active"
        assert {(m["name"], m["value"], m["isRegex"]) for m in listed["matchers"]} == {
            ("alertname", "DiskFull", False),
            ("severity", "crit.*", True),
        }
        assert "replacing disks" in await amtool("silence", "query", "alertname=DiskFull")

        await amtool("silence", "expire", silence_id)
        assert json.loads(await amtool("silence", "query", "-o", "json")) == []
        [expired] = json.loads(await amtool("silence", "query", "--expired", "-o", "json"))
        assert expired["status"]["state"] == "expired"


@pytest.mark.skipif(
    AMTOOL is None, reason="amtool is not installed (Debian: prometheus-alertmanager)"
)
async def test_amtool_sends_a_token_from_its_http_config_file(
    redis: Redis, loaded: LoadedConfig, tmp_path: Path
) -> None:
    auth = ApiAuthConfig(silences=Access.TOKEN)
    config = LoadedConfig(loaded.path, loaded.config.model_copy(update={"api_auth": auth}))
    runtime = Runtime(Settings(), config, redis, b"k" * 32, clock=lambda: datetime.now(UTC))
    token, _ = await TokenStore(redis).create("amtool", Scope.WRITE, datetime.now(UTC))
    # Prometheus's http_config, as amtool reads it, written as the README has it.
    http_config = tmp_path / "amtool-http.yml"
    http_config.write_text(f"authorization: {{credentials: {token}}}\n")
    async with TestServer(make_app(runtime), host="127.0.0.1") as server:
        url = f"--alertmanager.url=http://127.0.0.1:{server.port}"

        async def amtool(*args: str) -> tuple[int | None, str, str]:
            assert AMTOOL is not None
            process = await asyncio.create_subprocess_exec(
                AMTOOL, url, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            out, err = await asyncio.wait_for(process.communicate(), 30)
            return process.returncode, out.decode(), err.decode()

        add = ("silence", "add", "alertname=DiskFull", "--comment=disks", "--author=alice")
        refused, _, _ = await amtool(*add)
        assert refused != 0
        assert await SilenceStore(redis).all(datetime.now(UTC)) == []

        code, out, err = await amtool(f"--http.config.file={http_config}", *add)
        assert code == 0, err
        silence_id = out.strip()
        code, out, err = await amtool(
            f"--http.config.file={http_config}", "silence", "query", "-o", "json"
        )
        assert code == 0, err
        assert [s["id"] for s in json.loads(out)] == [silence_id]


async def test_under_api_v1_errors_are_said_as_the_rest_of_api_v1_says_them(
    client: Client,
) -> None:
    bad = await client.post("/api/v1/silences", json=body(createdBy=""))
    unknown = await client.get("/api/v1/silences/nope")
    gone = await client.delete("/api/v1/silences/nope")
    big = await client.post("/api/v1/silences", data=b" " * (MAX_BODY_BYTES + 1))

    assert bad.status == 400
    assert "createdBy" in (await bad.json())["error"]
    assert (unknown.status, gone.status, big.status) == (404, 404, 413)
    assert (await unknown.json())["error"] == (await gone.json())["error"]
    assert (await big.json()) == {"error": f"the body exceeds {MAX_BODY_BYTES} bytes"}
