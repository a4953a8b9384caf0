"""Silences over HTTP as Alertmanager's API v2 has them: the real ``amtool`` adds, queries and
expires a silence against Tocsin, and bad requests get a clear 4xx."""

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from router.silence_store import SilenceStore
from tests.conftest import ManualClock
from tocsin.silences_api import SilencesApi, add_routes

AMTOOL = shutil.which("amtool")
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    app = web.Application()
    add_routes(app, SilencesApi(SilenceStore(redis), clock))
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
    add_routes(app, SilencesApi(SilenceStore(redis), lambda: datetime.now(UTC)))
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
