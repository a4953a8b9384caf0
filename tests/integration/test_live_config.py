"""Webhooks, heartbeats, the API's and the console's sign-in rules follow an edited
``tocsin.yaml`` in a running web process, as ``tocsin web`` serves it: against the real
Valkey, over real HTTP, the edit taken up as SIGHUP takes it up (``ConfigHolder.reload``)
or as the file watch does. Nothing waits for a timer the test could drive."""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from ingest.heartbeat_store import HeartbeatStore
from ingest.keys import rate_bucket
from ingest.models import Alert, AlertStatus
from notifier.channels.webhook import signature_headers
from notifier.signing import action_url
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload, eventually, free_port
from tests.integration.test_console import csrf_of
from tocsin.app import make_app
from tocsin.config import load_config
from tocsin.reloading import watch
from tocsin.runtime import Runtime
from tocsin.service import Role, running
from tocsin.settings import Settings

Client = TestClient[web.Request, web.Application]

ROOT = """\
integrations:
%s
people:
  alice: {name: Alice, webhook: "%s"}
escalation_policies:
  ops: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {match: {}, policy: ops}
"""
AM = "  - {name: am, type: alertmanager, token: old-token}"
PAYLOAD = alertmanager_payload("firing")
DAY = timedelta(days=1)


HOOK = "https://hooks.test/alice"


def write(path: Path, integrations: str = AM, extra: str = "", hook: str = HOOK) -> Path:
    path.write_text(ROOT % (integrations, hook) + extra)
    return path


@dataclass
class Live:
    path: Path
    runtime: Runtime
    client: Client
    hook: str = HOOK

    def edit(self, integrations: str = AM, extra: str = "") -> bool:
        """Save an edit and take it up as SIGHUP does; whether it was."""
        write(self.path, integrations, extra, self.hook)
        return self.runtime.config.reload()

    async def post(self, token: str, payload: object = PAYLOAD) -> int:
        response = await self.client.post(f"/v1/webhooks/alertmanager/{token}", json=payload)
        return response.status


@pytest.fixture
async def live(tmp_path: Path, redis: Redis, clock: ManualClock) -> AsyncIterator[Live]:
    path = write(tmp_path / "tocsin.yaml")
    runtime = Runtime(Settings(config_path=path), load_config(path), redis, b"k" * 32, clock=clock)
    async with TestClient(TestServer(make_app(runtime))) as client:
        yield Live(path, runtime, client)


async def test_a_new_integration_is_accepted_and_a_removed_one_refused(live: Live) -> None:
    assert live.edit("  - {name: am-eu, type: alertmanager, token: eu-token}")

    assert await live.post("eu-token") == 202
    assert await live.post("old-token") == 404
    metrics = await (await live.client.get("/metrics")).text()
    # Its series exist from the reload on, so rate() over it works at once.
    assert 'tocsin_alerts_received_total{integration="am-eu",source="alertmanager"} 1.0' in metrics


async def test_a_rotated_token_works_at_once_and_the_old_one_is_refused(live: Live) -> None:
    assert await live.post("old-token") == 202
    assert live.edit("  - {name: am, type: alertmanager, token: new-token}")

    assert await live.post("new-token") == 202
    assert await live.post("old-token") == 404
    by_header = await live.client.post(
        "/v1/webhooks/alertmanager", json=PAYLOAD, headers={"Authorization": "Bearer new-token"}
    )
    assert by_header.status == 202


async def test_a_signature_asked_for_by_an_edit_is_checked_from_the_next_request(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AM_HMAC", "hmac-secret")
    signed = "  - {name: am, type: alertmanager, token: old-token, hmac_secret: env:AM_HMAC}"
    assert live.edit(signed)

    assert await live.post("old-token") == 401


async def test_an_edited_rate_limit_applies_to_the_bucket_the_integration_has(
    live: Live,
) -> None:
    limited = "  - {name: am, type: alertmanager, token: old-token, rate_limit: %s}"
    assert live.edit(limited % "{per_second: 0.001, burst: 5}")
    assert await live.post("old-token") == 202  # four left in the bucket

    assert live.edit(limited % "{per_second: 0.001, burst: 1}")
    # The lower burst caps what was left: one more, then the limit.
    assert await live.post("old-token") == 202
    assert await live.post("old-token") == 429

    assert live.edit()  # no limit at all
    assert await live.post("old-token") == 202


async def test_a_pagerduty_routing_key_added_by_an_edit_is_accepted(live: Live) -> None:
    event = {
        "routing_key": "pd-key",
        "event_action": "trigger",
        "payload": {"summary": "Disk full", "source": "db1", "severity": "critical"},
    }
    before = await live.client.post("/v2/enqueue", json=event)
    assert before.status == 400  # PagerDuty's answer to a key it does not know

    assert live.edit(AM + "\n  - {name: pd, type: pagerduty, token: pd-key}")
    after = await live.client.post("/v2/enqueue", json=event)
    assert after.status == 202, await after.text()
    changes = await live.client.get("/api/v1/changes", params={"integration": "pd"})
    assert changes.status == 401  # known now; the API still needs its token


async def test_pings_follow_the_heartbeats_an_edit_adds_and_removes(live: Live) -> None:
    nightly = "  - {name: nightly, type: heartbeat, token: hb-nightly, interval: 1d}"
    assert (await live.client.get("/v1/heartbeats/hb-nightly")).status == 404

    assert live.edit(AM + "\n" + nightly)
    ping = await live.client.get("/v1/heartbeats/hb-nightly")
    assert ping.status == 200
    assert (await ping.json())["heartbeat"] == "nightly"

    assert live.edit()
    assert (await live.client.get("/v1/heartbeats/hb-nightly")).status == 404


async def test_api_auth_switched_on_refuses_the_next_request_without_a_token(
    live: Live,
) -> None:
    assert (await live.client.get("/metrics")).status == 200
    assert (await live.client.get("/api/v2/silences")).status == 200

    assert live.edit(extra="api_auth: {metrics: token, silences: token}\n")

    assert (await live.client.get("/metrics")).status == 401
    assert (await live.client.get("/api/v2/silences")).status == 401
    # An edit that would open them again, refused for a typo elsewhere, opens nothing.
    assert not live.edit("  - {name: am, type: alertmanagr, token: old-token}")
    assert (await live.client.get("/metrics")).status == 401


async def test_a_trusted_proxy_added_by_an_edit_signs_people_in(live: Live) -> None:
    named = {"X-Forwarded-User": "alice"}
    before = await live.client.get("/oncall", headers=named, allow_redirects=False)
    assert before.status == 303  # to /login

    proxy = "console: {trusted_proxy_header: X-Forwarded-User, trusted_proxies: [127.0.0.0/8]}\n"
    assert live.edit(extra=proxy)

    after = await live.client.get("/oncall", headers=named, allow_redirects=False)
    assert after.status == 200


async def test_an_invalid_edit_keeps_every_token_as_it_was(live: Live) -> None:
    rotated = "  - {name: am, type: alertmanager, token: new-token}"
    broken = "api_auth: {metrics: tokn}\n"  # a typo: all of the edit is refused
    assert not live.edit(rotated, extra=broken)

    assert await live.post("old-token") == 202
    assert await live.post("new-token") == 404
    assert (await live.client.get("/metrics")).status == 200


async def test_a_request_in_flight_finishes_with_the_configuration_it_started_with(
    live: Live, redis: Redis
) -> None:
    limited = "  - {name: am, type: alertmanager, token: old-token, rate_limit: %s}"
    assert live.edit(limited % "{per_second: 100, burst: 100}")
    rest_of_body = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        body = json.dumps(PAYLOAD).encode()
        yield body[:10]
        await rest_of_body.wait()
        yield body[10:]

    sending = asyncio.create_task(
        live.client.post(
            "/v1/webhooks/alertmanager/old-token",
            data=slow_body(),
            headers={"Content-Type": "application/json"},
        )
    )
    # Its token checked and its limit taken: the handler now waits for the body.
    await eventually(lambda: redis.exists(rate_bucket("am")), what="the request admitted")
    assert live.edit("  - {name: am, type: alertmanager, token: new-token}")
    rest_of_body.set()

    assert (await sending).status == 202
    assert await live.post("old-token") == 404


async def test_requests_during_reloads_each_see_one_whole_configuration(live: Live) -> None:
    configs = [
        "  - {name: am, type: alertmanager, token: old-token}",
        "  - {name: am, type: alertmanager, token: new-token, rate_limit: "
        "{per_second: 1000, burst: 1000}}",
    ]

    async def reloads() -> None:
        for turn in range(1, 10):  # the first config runs already
            assert live.edit(configs[turn % 2])
            await asyncio.sleep(0)  # let requests run between reloads

    posts = [live.post(token) for _ in range(50) for token in ("old-token", "new-token")]
    statuses, _ = await asyncio.gather(asyncio.gather(*posts), reloads())

    # A token is accepted or unknown, never half of each: no 500 from a torn configuration.
    assert set(statuses) <= {202, 404}
    assert statuses.count(202) >= 50  # every request's token was in one of the two
    assert await live.post("new-token") == 202  # the last edit's


async def test_an_edit_saved_under_a_running_app_is_taken_up_by_the_file_watch(
    live: Live,
) -> None:
    stop = asyncio.Event()
    watching = asyncio.create_task(watch(live.runtime.config, stop))
    try:
        await asyncio.sleep(0.2)  # the watch in place before the file changes
        write(live.path, "  - {name: am, type: alertmanager, token: saved-token}")

        async def taken_up() -> bool:
            return await live.post("saved-token") == 202

        await eventually(taken_up, within=5, what="the saved token accepted")
        assert await live.post("old-token") == 404
    finally:
        stop.set()
        await watching


async def test_the_checker_follows_the_heartbeats_an_edit_adds_and_removes(
    tmp_path: Path, redis: Redis, clock: ManualClock
) -> None:
    backup = "  - {name: backup, type: heartbeat, token: hb-backup, interval: 5m}"
    nightly = "  - {name: nightly, type: heartbeat, token: hb-nightly, interval: 5m}"
    path = write(tmp_path / "tocsin.yaml", backup)
    settings = Settings(config_path=path, port=free_port())
    runtime = Runtime(settings, load_config(path), redis, b"k" * 32, clock=clock)
    store = HeartbeatStore(redis)

    async def started(*names: str) -> bool:
        return set((await store.state()).last_pings) == set(names)

    async def missed(*names: str) -> bool:
        return (await store.state()).missed == set(names)

    async with running(runtime, [Role.WEB]):
        await eventually(lambda: started("backup"), what="backup's clock started")
        write(path, nightly)
        assert runtime.config.reload()
        await eventually(lambda: started("backup", "nightly"), what="nightly's clock started")

        clock.advance(timedelta(minutes=7))  # past both: 5m and the default grace, 1m
        await eventually(lambda: missed("nightly"), what="nightly missed")
    # The check that found nightly missed did not check backup any more.
    assert await missed("nightly")


async def test_an_edited_ack_link_grace_applies_to_links_already_sent(
    live: Live, redis: Redis, clock: ManualClock
) -> None:
    store = IncidentStore(redis)
    alert = Alert(
        dedup_key="disk",
        status=AlertStatus.FIRING,
        summary="Disk full",
        integration="am",
        source="alertmanager",
        received_at=clock(),
    )
    change = await store.apply_alert(alert, live.runtime.config.current.routing)
    assert change.incident_id is not None
    _, incident = await store.resolve(change.incident_id, "alice", clock(), retention=DAY)
    assert incident is not None
    link = action_url("", live.runtime.secret, incident.id, incident.created_at, "alice")
    clock.advance(timedelta(minutes=90))
    assert (await live.client.get(link)).status == 403  # past the default grace, 1h

    assert live.edit(extra="ack_link_grace: 2h\n")

    assert (await live.client.get(link)).status == 200


Received = list[tuple[bytes, Mapping[str, str]]]


@pytest.fixture
async def hook() -> AsyncIterator[tuple[str, Received]]:
    """Alice's webhook: its URL, and every request it got."""
    received: Received = []

    async def receive(request: web.Request) -> web.Response:
        received.append((await request.read(), request.headers))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/alice", receive)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("/alice")), received


def signed_with(secret: bytes, request: tuple[bytes, Mapping[str, str]]) -> bool:
    body, headers = request
    expected = signature_headers(secret, int(headers["X-Tocsin-Timestamp"]), body)
    return headers["X-Tocsin-Signature"] == expected["X-Tocsin-Signature"]


async def test_sign_in_links_and_their_webhook_secret_follow_an_edit(
    tmp_path: Path, redis: Redis, clock: ManualClock, hook: tuple[str, Received]
) -> None:
    url, received = hook
    path = write(tmp_path / "tocsin.yaml", hook=url)
    runtime = Runtime(Settings(), load_config(path), redis, b"k" * 32, clock=clock)
    async with TestClient(TestServer(make_app(runtime))) as client:
        live = Live(path, runtime, client, url)
        assert await ask_link(client) == 404  # no sign-in links yet
        rotated = "console: {magic_links: true}\nwebhook_secret: rotated-secret\n"
        assert live.edit(extra=rotated)

        assert await ask_link(client) == 200
        await eventually(lambda: len(received) == 1, what="the sign-in link")
    assert json.loads(received[0][0])["kind"] == "sign_in_link"
    assert signed_with(b"rotated-secret", received[0])


async def test_pages_are_signed_with_the_webhook_secret_an_edit_sets(
    tmp_path: Path, redis: Redis, valkey_url: str, hook: tuple[str, Received]
) -> None:
    url, received = hook
    path = write(tmp_path / "tocsin.yaml", extra="webhook_secret: first-secret\n", hook=url)
    settings = Settings(config_path=path, port=free_port(), redis_url=valkey_url)
    runtime = Runtime(settings, load_config(path), redis, b"k" * 32)
    async with running(runtime, list(Role)) as state, aiohttp.ClientSession() as http:
        webhook = f"{state.url}/v1/webhooks/alertmanager/old-token"
        first = await http.post(webhook, json=alertmanager_payload("firing", alertname="A"))
        assert first.status == 202
        await eventually(lambda: len(received) == 1, what="the first page")
        write(path, extra="webhook_secret: second-secret\n", hook=url)
        assert runtime.config.reload()

        second = alertmanager_payload("firing", alertname="B", fingerprint="f2")
        assert (await http.post(webhook, json=second)).status == 202
        await eventually(lambda: len(received) == 2, what="the second page")
    assert signed_with(b"first-secret", received[0])
    assert signed_with(b"second-secret", received[1])


async def ask_link(client: Client) -> int:
    token = csrf_of(await (await client.get("/login")).text())
    data = {"person": "alice", "csrf": token, "next": "/"}
    return (await client.post("/login/link", data=data, allow_redirects=False)).status
