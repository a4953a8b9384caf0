"""Who may use the API, on the web role's app against the real Valkey: every ``/api/v1``
route with no token, a malformed header, an unknown, expired or revoked token, a read token
and a write token; the switches that put the silence API and ``/metrics`` behind tokens; a
token's last use; and no token in any log line."""

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from router.consumer import Router
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload, free_port
from tests.integration.test_api import Client, loaded, router, runtime, send, serve
from tocsin.api_auth import Access, ApiAuthConfig
from tocsin.config import LoadedConfig
from tocsin.health import health_app
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.store import connect
from tocsin.tokens import Scope, TokenStore, new_token

__all__ = ["loaded", "router", "runtime"]  # the fixtures of the incidents API's tests

SILENCE = {
    "matchers": [{"name": "service", "value": "payments", "isRegex": False}],
    "startsAt": "2026-03-02T12:00:00Z",
    "endsAt": "2026-03-02T14:00:00Z",
    "createdBy": "alice",
    "comment": "deploying payments",
}


EXPLAIN = {"integration": "prod-am", "payload": alertmanager_payload("firing")}
ENDPOINTS = {
    "list": ("GET", "/api/v1/incidents", None, Scope.READ),
    "get": ("GET", "/api/v1/incidents/1", None, Scope.READ),
    "explain": ("POST", "/api/v1/explain", EXPLAIN, Scope.READ),
    "oncall": ("GET", "/api/v1/oncall", None, Scope.READ),
    "schedules": ("GET", "/api/v1/schedules", None, Scope.READ),
    "schedule": ("GET", "/api/v1/schedules/payments-primary", None, Scope.READ),
    "shifts": ("GET", "/api/v1/people/alice/shifts", None, Scope.READ),
    "acknowledge": ("POST", "/api/v1/incidents/1/acknowledge", None, Scope.WRITE),
    "resolve": ("POST", "/api/v1/incidents/1/resolve", None, Scope.WRITE),
    "snooze": ("POST", "/api/v1/incidents/1/snooze", {"minutes": 15}, Scope.WRITE),
    "reassign": ("POST", "/api/v1/incidents/1/reassign", {"to": "bob"}, Scope.WRITE),
    "severity": ("POST", "/api/v1/incidents/1/severity", {"severity": "SEV2"}, Scope.WRITE),
    "notes": ("POST", "/api/v1/incidents/1/notes", {"text": "looking"}, Scope.WRITE),
    "silences": ("GET", "/api/v1/silences", None, Scope.READ),
    "silence": ("POST", "/api/v1/silences", SILENCE, Scope.WRITE),
}


@pytest.fixture
async def anonymous(runtime: Runtime, router: Router) -> AsyncIterator[Client]:
    """A client that sends no token, and incident 1 to ask about."""
    async with serve(runtime) as client:
        await send(client, router)
        yield client


async def call(
    client: Client, endpoint: str, authorization: str | None
) -> tuple[int, dict[str, str], Any]:
    method, path, body, _ = ENDPOINTS[endpoint]
    headers = {} if authorization is None else {"Authorization": authorization}
    async with client.request(method, path, json=body, headers=headers) as response:
        assert response.content_type == "application/json"
        return response.status, dict(response.headers), await response.json()


async def made(redis: Redis, clock: ManualClock, scope: Scope, **options: Any) -> str:
    token, _ = await TokenStore(redis).create(f"{scope}-bot", scope, clock(), **options)
    return token


REFUSED = {
    "no header": (None, "Bearer", "an API token is needed"),
    "another scheme": ("Basic YWxpY2U6czNjcmV0", "Bearer", "an API token is needed"),
    "bearer without a token": ("Bearer ", "Bearer", "an API token is needed"),
    "not a token": ("Bearer s3cret", 'Bearer error="invalid_token"', "not a Tocsin API token"),
    "unknown token": (f"Bearer {new_token()}", 'Bearer error="invalid_token"', "unknown"),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("authorization", "challenge", "message"), REFUSED.values(), ids=REFUSED)
async def test_without_a_good_token_every_route_is_401(
    anonymous: Client, endpoint: str, authorization: str | None, challenge: str, message: str
) -> None:
    status, headers, body = await call(anonymous, endpoint, authorization)

    assert (status, headers["WWW-Authenticate"]) == (401, challenge)
    assert message in body["error"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_an_expired_token_is_401(
    anonymous: Client, redis: Redis, clock: ManualClock, endpoint: str
) -> None:
    token = await made(redis, clock, Scope.WRITE, lifetime=timedelta(hours=1))
    clock.advance(timedelta(minutes=59, seconds=59))
    assert (await call(anonymous, endpoint, f"Bearer {token}"))[0] == 200

    clock.advance(timedelta(seconds=1))
    status, headers, body = await call(anonymous, endpoint, f"Bearer {token}")

    assert (status, body) == (401, {"error": "the token has expired"})
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_revoked_token_is_401_at_once(
    anonymous: Client, redis: Redis, clock: ManualClock, endpoint: str
) -> None:
    token = await made(redis, clock, Scope.WRITE)
    assert await TokenStore(redis).revoke("write-bot")

    status, _, body = await call(anonymous, endpoint, f"Bearer {token}")

    assert (status, body) == (401, {"error": "unknown or revoked token"})


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("scope", Scope)
async def test_read_tokens_read_and_write_tokens_also_act(
    anonymous: Client, redis: Redis, clock: ManualClock, endpoint: str, scope: Scope
) -> None:
    token = await made(redis, clock, scope)

    status, headers, body = await call(anonymous, endpoint, f"bearer {token}")

    if scope.allows(ENDPOINTS[endpoint][3]):
        assert status == 200, body
    else:
        assert (status, body) == (403, {"error": "this needs a write token"})
        assert headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'


async def test_a_tokens_last_use_is_written_at_most_once_a_minute(
    anonymous: Client, redis: Redis, clock: ManualClock
) -> None:
    token = await made(redis, clock, Scope.READ)
    store = TokenStore(redis)
    start = clock()

    async def last_used() -> object:
        [record] = await store.all()
        return record.last_used_at

    assert await last_used() is None
    await call(anonymous, "list", f"Bearer {token}")
    assert await last_used() == start
    clock.advance(timedelta(seconds=59))
    await call(anonymous, "list", f"Bearer {token}")
    assert await last_used() == start
    clock.advance(timedelta(seconds=1))
    await call(anonymous, "list", f"Bearer {token}")
    assert await last_used() == clock()


async def test_answers_are_counted_by_route_and_status(
    anonymous: Client, redis: Redis, clock: ManualClock
) -> None:
    token = await made(redis, clock, Scope.READ)
    await call(anonymous, "get", None)
    await call(anonymous, "get", f"Bearer {token}")
    await call(anonymous, "resolve", f"Bearer {token}")

    text = await (await anonymous.get("/metrics")).text()

    for route, status in [("/api/v1/incidents/{id}", 401), ("/api/v1/incidents/{id}", 200)]:
        assert f'tocsin_api_requests_total{{route="{route}",status="{status}"}} 1.0' in text
    resolve = "/api/v1/incidents/{id}/resolve"
    assert f'tocsin_api_requests_total{{route="{resolve}",status="403"}} 1.0' in text


# --- the silence API and /metrics: open unless api_auth says token ------------------------


def connect_nowhere() -> Any:
    return connect(f"redis://127.0.0.1:{free_port()}")


@pytest.fixture
def locked(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> Runtime:
    """A web role whose configuration puts silences and metrics behind tokens."""
    auth = ApiAuthConfig(silences=Access.TOKEN, metrics=Access.TOKEN)
    config = LoadedConfig(loaded.path, loaded.config.model_copy(update={"api_auth": auth}))
    return Runtime(Settings(), config, redis, b"k" * 32, clock=clock)


async def test_silences_and_metrics_are_open_by_default(runtime: Runtime) -> None:
    async with serve(runtime) as client:
        assert (await client.post("/api/v2/silences", json=SILENCE)).status == 200
        assert (await client.get("/api/v2/silences")).status == 200
        assert (await client.get("/metrics")).status == 200


async def test_with_api_auth_token_silences_need_a_token(
    locked: Runtime, redis: Redis, clock: ManualClock
) -> None:
    read = {"Authorization": f"Bearer {await made(redis, clock, Scope.READ)}"}
    write = {"Authorization": f"Bearer {await made(redis, clock, Scope.WRITE)}"}
    async with serve(locked) as client:
        assert (await client.get("/api/v2/silences")).status == 401
        assert (await client.post("/api/v2/silences", json=SILENCE)).status == 401
        assert (await client.post("/api/v2/silences", json=SILENCE, headers=read)).status == 403
        created = await client.post("/api/v2/silences", json=SILENCE, headers=write)
        assert created.status == 200
        silence_id = (await created.json())["silenceID"]
        assert (await client.get("/api/v2/silences", headers=read)).status == 200
        assert (await client.get(f"/api/v2/silence/{silence_id}", headers=read)).status == 200
        assert (await client.delete(f"/api/v2/silence/{silence_id}", headers=read)).status == 403
        assert (await client.delete(f"/api/v2/silence/{silence_id}", headers=write)).status == 200
        # What stops the ringing never needs a token.
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/readyz")).status == 200


async def test_silences_under_api_v1_need_a_token_while_v2_stays_open(
    runtime: Runtime, redis: Redis, clock: ManualClock
) -> None:
    read = {"Authorization": f"Bearer {await made(redis, clock, Scope.READ)}"}
    write = {"Authorization": f"Bearer {await made(redis, clock, Scope.WRITE)}"}
    async with serve(runtime) as client:
        assert (await client.post("/api/v1/silences", json=SILENCE)).status == 401
        assert (await client.post("/api/v1/silences", json=SILENCE, headers=read)).status == 403
        created = await client.post("/api/v1/silences", json=SILENCE, headers=write)
        silence_id = (await created.json())["silenceID"]
        one = f"/api/v1/silences/{silence_id}"
        assert (await client.get(one)).status == 401
        got = await client.get(one, headers=read)
        # The same silence, as the Alertmanager-shaped API answers it.
        assert await got.json() == await (await client.get(f"/api/v2/silence/{silence_id}")).json()
        assert (await client.delete(one, headers=read)).status == 403
        assert (await client.delete(one)).status == 401
        assert (await client.delete(one, headers=write)).status == 200
        listed = await (await client.get("/api/v1/silences", headers=read)).json()
        assert [(s["id"], s["status"]) for s in listed] == [(silence_id, {"state": "expired"})]


async def test_with_api_auth_token_metrics_need_a_read_token_on_every_role(
    locked: Runtime, redis: Redis, clock: ManualClock
) -> None:
    read = {"Authorization": f"Bearer {await made(redis, clock, Scope.READ)}"}
    async with serve(locked) as web_role, TestClient(TestServer(health_app(locked))) as router:
        for client in (web_role, router):
            refused = await client.get("/metrics")
            assert (refused.status, refused.headers["WWW-Authenticate"]) == (401, "Bearer")
            allowed = await client.get("/metrics", headers=read)
            assert allowed.status == 200
            assert "tocsin_" in await allowed.text()
            assert (await client.get("/healthz")).status == 200


# --- secrets stay out of the logs ---------------------------------------------------------


async def test_no_token_appears_in_any_log_line(
    runtime: Runtime,
    router: Router,
    redis: Redis,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await made(redis, clock, Scope.READ)
    unknown = new_token()
    async with serve(runtime) as client:
        await send(client, router)
        for endpoint in ENDPOINTS:  # allowed, refused for its scope, or not known
            for given in (token, unknown):
                await call(client, endpoint, f"Bearer {given}")
    away = Runtime(Settings(), runtime.config.current, connect_nowhere(), b"k" * 32, clock=clock)
    try:
        async with serve(away) as client:
            assert (await call(client, "list", f"Bearer {token}"))[0] == 503
    finally:
        await away.redis.aclose()

    assert "aiohttp.access" in {record.name for record in caplog.records}
    assert "storage unavailable" in caplog.text
    for secret in (token, unknown, token[len("tcs_") :]):
        assert secret not in caplog.text
