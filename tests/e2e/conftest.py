"""The parts users bring: an SMTP server, an HTTP sink for webhooks, a config on disk."""

import asyncio
import contextlib
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from playwright.async_api import Browser
from redis.asyncio import Redis

from ingest.keys import ALERT_STREAM
from notifier import keys as notifier_keys
from router import keys as router_keys
from tests.e2e.browsers import chromium
from tocsin.config import load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, Running, running
from tocsin.settings import Settings
from tocsin.tokens import Scope, TokenStore

WEBHOOK = "/v1/webhooks/alertmanager/s3cret"
RESEND_FIRST = 0.1
RESEND_MAX = 1.0
MAX_SENDS = 60
"""Tries per webhook: with the backoff above, about a minute of refusals."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 15,
    what: str = "condition",
    interval: float = 0.02,
) -> None:
    """Wait for something the service does on its own time (an escalation timer in another
    process, a page in flight): observe it, never sleep a guessed duration."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def probe(url: str, path: str = "/readyz") -> int | None:
    """The status a role answers on ``path``; ``None`` when nothing answers in time (a
    connection accepted as a server closes may never be answered)."""
    timeout = aiohttp.ClientTimeout(total=2)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(url + path) as response,
        ):
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


@dataclass
class Sender:
    """Posts webhooks as Alertmanager does: one refused (503) or not delivered (connection
    refused, dropped, timed out) is sent again after a growing pause, until accepted. Each
    send goes to the next web process in turn, as through a load balancer."""

    http: aiohttp.ClientSession
    urls: Sequence[str]
    accepted: int = 0
    """Alerts answered with a 202."""
    refused: int = 0
    """Answers 503."""
    unreachable: int = 0
    """Sends that got no answer."""

    @property
    def resent(self) -> int:
        return self.refused + self.unreachable

    async def send(self, payload: dict[str, Any], turn: int = 0) -> None:
        for attempt in range(MAX_SENDS):
            url = self.urls[(turn + attempt) % len(self.urls)] + WEBHOOK
            try:
                async with self.http.post(url, json=payload) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                self.unreachable += 1
            else:
                if status == 202:
                    self.accepted += len(payload["alerts"])
                    return
                assert status == 503, f"webhook answered {status}"
                self.refused += 1
            await asyncio.sleep(min(RESEND_MAX, RESEND_FIRST * 2**attempt))
        raise AssertionError(f"webhook not accepted after {MAX_SENDS} sends")


@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.content)  # type: ignore[arg-type]
        message["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-Rcpt"]]


def link_after(message: Message, label: str) -> str:
    """The URL written after ``label: `` in a mail's plain-text part."""
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found = re.search(rf"{re.escape(label)}: (\S+)", payload.decode())
            assert found is not None, payload
            return found.group(1)
    raise AssertionError("no text part")


class Received(NamedTuple):
    path: str
    body: dict[str, Any]
    when: float
    """``time.monotonic()`` on arrival, to line deliveries up with what a test did."""


Pages = dict[tuple[str, int, str], list[Received]]
"""Every copy of each page delivered, by (incident, level, person)."""


@dataclass
class Sink:
    """Records every webhook POST, by path."""

    url: str
    received: list[Received] = field(default_factory=list)

    def at(self, path: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            r.body
            for r in self.received
            if r.path == path and (kind is None or r.body["kind"] == kind)
        ]

    def pages(self) -> Pages:
        pages: Pages = {}
        for received in self.received:
            body = received.body
            if body["kind"] == "page":
                target = (body["incident_id"], body["level"], body["person"])
                pages.setdefault(target, []).append(received)
        return pages


async def nothing_left(redis: Redis) -> bool:
    """Every alert applied, every incident event acted on, every timer run: no page is
    still to come."""
    for stream, group in (
        (ALERT_STREAM, router_keys.CONSUMER_GROUP),
        (router_keys.EVENT_STREAM, notifier_keys.EVENTS_GROUP),
    ):
        last = (await redis.xinfo_stream(stream))["last-generated-id"]
        [info] = [g for g in await redis.xinfo_groups(stream) if g["name"] == group.encode()]
        if info["pending"] or info["last-delivered-id"] != last:
            return False
    return await redis.zcard(notifier_keys.ARQ_QUEUE) == 0


async def read_token(redis: Redis) -> dict[str, str]:
    """Headers for ``/api/v1`` with a new read token, as ``tocsin token create`` makes one."""
    name = f"e2e-{secrets.token_hex(4)}"
    token, _ = await TokenStore(redis).create(name, Scope.READ, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


async def incidents(url: str, headers: dict[str, str], *, at_most: int) -> list[dict[str, Any]]:
    """From ``GET /api/v1/incidents``, a page at a time."""
    found: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(headers=headers) as http:
        for offset in range(0, at_most, 100):
            async with http.get(f"{url}/api/v1/incidents?limit=100&offset={offset}") as got:
                assert got.status == 200
                page = (await got.json())["incidents"]
            found += page
            if len(page) < 100:
                break
    return found


async def alert_keys(url: str, headers: dict[str, str], incident_ids: Iterable[str]) -> set[str]:
    """The dedup keys of every alert of the incidents, from ``GET /api/v1/incidents/{id}``."""
    found: set[str] = set()
    async with aiohttp.ClientSession(headers=headers) as http:
        for incident_id in incident_ids:
            cursor = 0
            for _ in range(100):  # pages of 1,000 alerts: far more than a test sends
                path = f"/api/v1/incidents/{incident_id}?alerts_limit=1000&alerts_cursor={cursor}"
                async with http.get(url + path) as got:
                    assert got.status == 200
                    body = await got.json()
                found |= {alert["dedup_key"] for alert in body["alerts"]}
                cursor = body["alerts_next_cursor"]
                if cursor is None:
                    break
    return found


@contextlib.contextmanager
def receiving_mail() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that keeps what it is sent, until the block ends."""
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with receiving_mail() as box:
        yield box


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    port = free_port()
    recorder = Sink(f"http://127.0.0.1:{port}")

    async def record(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        recorder.received.append(Received(request.path, body, time.monotonic()))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield recorder
    finally:
        await runner.cleanup()


def write_config(
    directory: Path,
    *,
    smtp_port: int | None,
    sink_url: str,
    ack_timeout: str,
    storm_limit: int | None = None,
) -> Path:
    """Alice is on call (level 1), Bob is level 2; both have a webhook, and email when
    ``smtp_port`` is given. ``storm_limit`` caps the new incidents a minute of the payments
    route."""
    (directory / "schedules").mkdir()
    (directory / "schedules" / "primary.yaml").write_text(
        "name: primary\ntimezone: Europe/Berlin\n"
        'rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice]}\n'
    )
    email = {"alice": "", "bob": ""}
    smtp = ""
    if smtp_port is not None:
        email = {name: f"email: {name}@example.com, " for name in email}
        smtp = f"smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tocsin@example.com}}"
    storm = "" if storm_limit is None else f", storm_limit: {storm_limit}"
    path = directory / "tocsin.yaml"
    path.write_text(
        f"""
integrations:
  - {{name: prod-am, type: alertmanager, token: s3cret}}
  - {{name: custom, type: generic, token: t0ken}}
people:
  alice: {{name: Alice, {email["alice"]}webhook: "{sink_url}/alice"}}
  bob: {{name: Bob, {email["bob"]}webhook: "{sink_url}/bob"}}
schedules_dir: schedules
escalation_policies:
  payments:
    levels:
      - {{targets: [schedule:primary], ack_timeout: {ack_timeout}}}
      - {{targets: [person:bob], ack_timeout: {ack_timeout}}}
routes:
  - {{match: {{service: payments}}, policy: payments, group_by: [alertname, cluster]{storm}}}
  - {{match: {{}}, policy: payments}}
severity:
  - {{match: {{severity: critical}}, level: SEV1}}
  - {{match: {{}}, level: SEV2}}
{smtp}
"""
    )
    return path


def alertmanager_payload(
    status: str, *, alertname: str = "HighLatency", fingerprint: str = "f1", cluster: str = "eu1"
) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "service": "payments",
        "cluster": cluster,
        "severity": "critical",
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "status": status,
        "receiver": "tocsin",
        "groupLabels": {"alertname": alertname},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "p99 latency above 2s on payments"},
                "startsAt": "2026-03-02T11:59:00Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-03-02T12:30:00Z",
                "generatorURL": "http://prometheus.example:9090/graph",
                "fingerprint": fingerprint,
            }
        ],
    }


@pytest.fixture
async def service(
    tmp_path: Path, redis: Redis, valkey_url: str, mailbox: Mailbox, sink: Sink
) -> AsyncIterator[Running]:
    """The whole service in this process (web, router, worker), with ack timeouts of 1 s."""
    config = write_config(tmp_path, smtp_port=mailbox.port, sink_url=sink.url, ack_timeout="1s")
    async with every_role(config, redis, valkey_url) as svc:
        yield svc


@contextlib.asynccontextmanager
async def every_role(config: Path, redis: Redis, valkey_url: str) -> AsyncIterator[Running]:
    """The whole service in this process on a free port, its timers polled every 50 ms."""
    settings = Settings(
        config_path=config,
        port=free_port(),
        redis_url=valkey_url,
        escalation_poll=timedelta(milliseconds=50),
    )
    runtime = Runtime(settings, load_config(config), redis, b"k" * 32)
    async with running(runtime, list(Role)) as svc:
        yield svc


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as launched:
        yield launched
