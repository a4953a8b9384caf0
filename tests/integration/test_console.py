"""The console as ``tocsin web`` serves it, against the real Valkey, with incidents made by
the real webhook and router: who may see and do what (sessions, passwords, CSRF, the trusted
proxy), that every action records who did it, and that alert text is shown, never run."""

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.stream import alert_stream
from router import keys
from router.config import Severity
from router.consumer import Router
from router.models import IncidentStatus, TimelineKind
from router.silence_store import SilenceStore
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import alertmanager_payload
from tests.integration.test_api import DEPLOY, WEBHOOK, send
from tocsin.app import make_app
from tocsin.config import LoadedConfig, load_config
from tocsin.console.config import ConsoleConfig
from tocsin.console.passwords import MAX_FAILURES, Passwords
from tocsin.runtime import Runtime
from tocsin.settings import Settings

Client = TestClient[web.Request, web.Application]
PASSWORD = "correct horse battery"
PAGES = [
    "/",
    "/incidents/1",
    "/incidents/1/postmortem.md",
    "/oncall",
    "/people/me",
    "/people/bob",
    "/silences",
    "/reports",
    "/reports/incidents.svg",
]


@pytest.fixture(scope="module")
def loaded() -> LoadedConfig:
    return load_config(DEPLOY)


@pytest.fixture
async def router(redis: Redis, loaded: LoadedConfig, clock: ManualClock) -> Router:
    await alert_stream(redis).ensure_group(keys.CONSUMER_GROUP)
    return Router(redis, loaded.routing, "test-router", CollectorRegistry(), clock)


def with_console(loaded: LoadedConfig, **console: Any) -> LoadedConfig:
    config = loaded.config.model_copy(update={"console": ConsoleConfig(**console)})
    return replace(loaded, config=config)


async def serving(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    runtime = Runtime(Settings(), loaded, redis, b"console-signing-key", clock=clock)
    async with TestClient(TestServer(make_app(runtime))) as client:
        yield client


@pytest.fixture
async def client(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    await Passwords(redis).set("alice", PASSWORD)
    async for served in serving(loaded, redis, clock):
        yield served


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


async def sign_in(client: Client, person: str = "alice", password: str = PASSWORD) -> Any:
    form = await client.get("/login")
    token = csrf_of(await form.text())
    return await client.post(
        "/login",
        data={"person": person, "password": password, "csrf": token, "next": "/"},
        allow_redirects=False,
    )


async def page(client: Client, path: str) -> str:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/html"
    return await response.text()


async def post_form(client: Client, path: str, data: dict[str, str], from_page: str) -> Any:
    data = {"csrf": csrf_of(await page(client, from_page)), **data}
    return await client.post(path, data=data, allow_redirects=False)


# --- who may see -------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_a_page_without_a_session_redirects_to_sign_in(client: Client, path: str) -> None:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/login?next=")


async def test_sign_in_comes_back_to_the_page_asked_for(client: Client) -> None:
    response = await client.get("/incidents/7?cursor=50", allow_redirects=False)
    form = await client.get(response.headers["Location"])
    html = await form.text()
    assert 'name="next" value="/incidents/7?cursor=50"' in html
    data = {"person": "alice", "password": PASSWORD, "csrf": csrf_of(html)}
    data["next"] = "/incidents/7?cursor=50"
    signed_in = await client.post("/login", data=data, allow_redirects=False)
    assert signed_in.headers["Location"] == "/incidents/7?cursor=50"
    data["csrf"] = csrf_of(await (await client.get("/login")).text())
    data["next"] = "//evil.example/"
    elsewhere = await client.post("/login", data=data, allow_redirects=False)
    assert elsewhere.headers["Location"] == "/"


async def test_an_action_without_a_session_redirects_and_changes_nothing(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)
    response = await client.post(
        "/incidents/1/act", data={"action": "acknowledge"}, allow_redirects=False
    )
    assert response.status == 303
    incident = await IncidentStore(redis).get("1")
    assert incident is not None
    assert incident.status is IncidentStatus.TRIGGERED


async def test_sign_in_sets_a_session_cookie_that_opens_the_pages(client: Client) -> None:
    response = await sign_in(client)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.cookies["tocsin_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 12 * 3600
    for path in ["/", "/oncall", "/silences"]:
        assert "alice" in await page(client, path)


async def test_a_wrong_password_or_an_unknown_person_is_refused(client: Client) -> None:
    for person, password in [("alice", "not the password"), ("mallory", PASSWORD)]:
        response = await sign_in(client, person, password)
        assert response.status == 401
        assert "Wrong name or password." in await response.text()
        assert "tocsin_session" not in response.cookies
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_sign_in_is_refused_after_repeated_failures_even_with_the_password(
    client: Client,
) -> None:
    for _ in range(MAX_FAILURES):
        assert (await sign_in(client, "alice", "guess")).status == 401
    response = await sign_in(client)
    assert response.status == 429
    assert "Too many failed sign-ins" in await response.text()


async def test_sign_in_without_its_form_token_is_refused(client: Client) -> None:
    await client.get("/login")
    response = await client.post(
        "/login", data={"person": "alice", "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 403


async def test_an_expired_session_redirects_to_sign_in(client: Client, clock: ManualClock) -> None:
    await sign_in(client)
    clock.advance(timedelta(hours=12))
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/"


async def test_an_altered_session_cookie_is_not_a_session(client: Client) -> None:
    response = await sign_in(client)
    value = response.cookies["tocsin_session"].value
    _, rest = value.split(".", 1)
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({"tocsin_session": "Ym9i." + rest})  # "bob"
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_sign_out_ends_the_session(client: Client) -> None:
    await sign_in(client)
    response = await post_form(client, "/logout", {}, "/")
    assert response.status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303


# --- CSRF --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged", "forgé"])
async def test_a_form_without_its_csrf_token_is_refused(
    client: Client, router: Router, redis: Redis, token: str | None
) -> None:
    await send(client, router)
    await sign_in(client)
    data = {"action": "acknowledge"} | ({} if token is None else {"csrf": token})
    for path, body in [
        ("/incidents/1/act", data),
        ("/incidents/1/act", {**data, "action": "severity", "severity": "SEV4"}),
        ("/incidents/1/note", {**data, "note": "x"}),
        ("/silences", {**data, "matchers": "service=payments", "duration": "1h"}),
    ]:
        assert (await client.post(path, data=body, allow_redirects=False)).status == 403
    incident = await IncidentStore(redis).get("1")
    assert incident is not None
    assert (incident.status, incident.severity) == (IncidentStatus.TRIGGERED, Severity.SEV1)
    assert await SilenceStore(redis).all(incident.created_at) == []


# --- the trusted proxy -------------------------------------------------------------------


async def test_the_proxy_header_names_the_person_from_a_trusted_address(
    loaded: LoadedConfig, redis: Redis, clock: ManualClock
) -> None:
    trusting = with_console(
        loaded, trusted_proxy_header="X-Forwarded-User", trusted_proxies=["127.0.0.0/8"]
    )
    async for client in serving(trusting, redis, clock):
        client.session.headers["X-Forwarded-User"] = "bob"
        assert "bob" in await page(client, "/oncall")
        client.session.headers["X-Forwarded-User"] = "mallory"
        response = await client.get("/", allow_redirects=False)
        assert response.status == 403
        assert "'mallory' is not a person" in await response.text()


async def test_the_proxy_header_from_an_untrusted_address_is_ignored(
    loaded: LoadedConfig, redis: Redis, clock: ManualClock
) -> None:
    elsewhere = with_console(
        loaded, trusted_proxy_header="X-Forwarded-User", trusted_proxies=["10.0.0.0/8"]
    )
    async for client in serving(elsewhere, redis, clock):
        client.session.headers["X-Forwarded-User"] = "bob"
        response = await client.get("/", allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login")


async def test_without_a_proxy_configured_the_header_is_ignored(client: Client) -> None:
    client.session.headers["X-Forwarded-User"] = "bob"
    assert (await client.get("/", allow_redirects=False)).status == 303


# --- acting, and who did it --------------------------------------------------------------


async def test_acting_records_the_signed_in_person(
    client: Client, router: Router, redis: Redis
) -> None:
    await send(client, router)
    await sign_in(client)
    response = await post_form(
        client, "/incidents/1/act", {"action": "acknowledge"}, "/incidents/1"
    )
    assert response.status == 303
    assert response.headers["Location"] == "/incidents/1?done=acknowledge"
    assert "Acknowledged: paging has stopped." in await page(
        client, "/incidents/1?done=acknowledge"
    )

    response = await post_form(
        client, "/incidents/1/note", {"note": "rolled back deploy 42"}, "/incidents/1"
    )
    assert response.status == 303
    response = await post_form(client, "/incidents/1/act", {"action": "resolve"}, "/incidents/1")
    assert response.status == 303

    store = IncidentStore(redis)
    incident = await store.get("1")
    assert incident is not None
    assert incident.acknowledged_by == "alice"
    assert incident.resolved_by == "alice"
    [note] = [e for e in await store.timeline("1") if e.kind is TimelineKind.NOTE]
    assert (note.person, note.detail) == ("alice", "rolled back deploy 42")
    shown = await page(client, "/incidents/1")
    assert "rolled back deploy 42" in shown
    assert "Acknowledge</button>" not in shown  # a resolved incident offers no buttons


async def test_acting_twice_says_it_was_done_already(client: Client, router: Router) -> None:
    await send(client, router)
    await sign_in(client)
    await post_form(client, "/incidents/1/act", {"action": "acknowledge"}, "/incidents/1")
    token = csrf_of(await page(client, "/"))
    response = await client.post(
        "/incidents/1/act", data={"action": "acknowledge", "csrf": token}, allow_redirects=False
    )
    assert response.status == 200
    assert "Already acknowledged by Alice" in await response.text()


async def test_a_form_no_page_sends_is_a_400_page(client: Client, router: Router) -> None:
    await send(client, router)
    await sign_in(client)
    for data in [{"action": "explode"}, {"action": "snooze", "minutes": "9999"}]:
        response = await post_form(client, "/incidents/1/act", data, "/incidents/1")
        assert response.status == 400
        assert response.content_type == "text/html"
    response = await post_form(client, "/incidents/1/note", {"note": " "}, "/incidents/1")
    assert response.status == 400
    assert (await client.get("/incidents/999", allow_redirects=False)).status == 404


async def test_silence_from_an_incident(
    client: Client, router: Router, redis: Redis, clock: ManualClock
) -> None:
    await send(client, router)
    await sign_in(client)
    incident_page = await page(client, "/incidents/1")
    found = re.search(r'href="(/silences\?[^"]+)"', incident_page)
    assert found is not None
    form = await page(client, found.group(1).replace("&amp;", "&"))
    assert "alertname=&#34;HighLatency&#34;" in form
    assert "cluster=&#34;eu1&#34;" in form

    response = await post_form(
        client,
        "/silences",
        {
            "matchers": 'alertname="HighLatency"\ncluster="eu1"',
            "duration": "2h",
            "comment": "deploying",
        },
        "/silences",
    )
    assert response.status == 303
    silences = SilenceStore(redis)
    [silence] = await silences.all(clock())
    assert silence.created_by == "alice"
    assert [(m.name, m.value) for m in silence.matchers] == [
        ("alertname", "HighLatency"),
        ("cluster", "eu1"),
    ]
    response = await post_form(client, f"/silences/{silence.id}/expire", {}, "/silences")
    assert response.status == 303
    assert "expired" in await page(client, "/silences?done=expired")


async def test_a_bad_silence_form_says_what_is_wrong(client: Client) -> None:
    await sign_in(client)
    cases = {"": "at least one matcher", "what?": "is not a matcher", 'a=~""': "empty string"}
    for matchers, problem in cases.items():
        data = {"matchers": matchers, "duration": "1h"}
        response = await post_form(client, "/silences", data, "/silences")
        assert response.status == 400
        assert problem in await response.text()
    data = {"matchers": "a=b", "duration": "soon"}
    response = await post_form(client, "/silences", data, "/silences")
    assert "invalid duration" in await response.text()


# --- alert text is shown, never run ------------------------------------------------------

HOSTILE = '"><img src=x onerror=alert(1)>'


async def test_labels_and_annotations_are_escaped(
    client: Client, router: Router, redis: Redis
) -> None:
    payload = alertmanager_payload("firing")
    alert = payload["alerts"][0]
    alert["labels"]["alertname"] = "<script>alert(1)</script>"
    alert["labels"]["pod"] = HOSTILE
    alert["annotations"] = {
        "summary": "<script>alert(2)</script>",
        "description": HOSTILE,
        "runbook_url": "javascript:alert(3)",
        "dashboard": 'https://grafana.example/d/1?x="><script>alert(4)</script>',
    }
    alert["generatorURL"] = "data:text/html,<script>alert(5)</script>"
    response = await client.post(WEBHOOK, json=payload)
    assert response.status == 202
    assert await router.step() == 1
    await sign_in(client)

    for path in ["/", "/incidents/1", "/silences?matcher=" + HOSTILE]:
        html = await page(client, path)
        assert "<script>" not in html
        assert "<img" not in html
        assert "javascript:" not in html.split("<body>", 1)[1].replace(
            "javascript:alert(3)</dd>", ""
        )
    html = await page(client, "/incidents/1")
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
    assert 'href="data:' not in html
    assert 'href="https://grafana.example/d/1?x=&#34;&gt;&lt;script&gt;' in html


# --- what the pages show -----------------------------------------------------------------


async def test_open_incidents_first_and_the_filters(
    client: Client, router: Router, clock: ManualClock
) -> None:
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    clock.advance(timedelta(minutes=5))
    await send(client, router, alertname="ErrorRate", fingerprint="f2")
    await sign_in(client)
    await post_form(client, "/incidents/2/act", {"action": "resolve"}, "/incidents/2")
    clock.advance(timedelta(minutes=90))

    html = await page(client, "/")
    assert html.index("#1 p99") < html.index("#2 p99")  # open before resolved, though older
    assert "1h 35m ago" in html
    assert '<meta http-equiv="refresh"' in html
    assert "#2 p99" not in await page(client, "/?status=triggered")
    assert "#1 p99" not in await page(client, "/?status=resolved")
    assert "#1 p99" in await page(client, "/?severity=SEV1&route=route-1")
    assert "No incidents match these filters." in await page(client, "/?severity=SEV4")
    assert "No incidents match" in await page(client, "/?service=search")


async def test_alerts_fifty_to_a_page(client: Client, router: Router) -> None:
    payload = alertmanager_payload("firing")
    [alert] = payload["alerts"]
    payload["alerts"] = [
        {**alert, "fingerprint": f"f{n}", "labels": {**alert["labels"], "pod": f"pod-{n}"}}
        for n in range(51)
    ]
    response = await client.post(WEBHOOK, json=payload)
    assert response.status == 202
    while await router.step():
        pass
    await sign_in(client)
    first = await page(client, "/incidents/1")
    assert first.count("<dt>pod</dt>") == 50
    assert 'href="/incidents/1?cursor=50"' in first
    rest = await page(client, "/incidents/1?cursor=50")
    assert rest.count("<dt>pod</dt>") == 1
    assert "cursor=" not in rest.split("First alerts")[1]
