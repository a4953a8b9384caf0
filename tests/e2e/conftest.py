"""The parts users bring: an SMTP server, an HTTP sink for webhooks, a config on disk."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.asyncio import Redis

from tocsin.config import load_config
from tocsin.runtime import Runtime
from tocsin.service import Role, Running, running
from tocsin.settings import Settings

WEBHOOK = "/v1/webhooks/alertmanager/s3cret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    within: float = 15,
    what: str = "condition",
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
        await asyncio.sleep(0.02)


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


@dataclass
class Sink:
    """Records every webhook POST, by path."""

    url: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def at(self, path: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [b for p, b in self.received if p == path and (kind is None or b["kind"] == kind)]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    port = free_port()
    recorder = Sink(f"http://127.0.0.1:{port}")

    async def record(request: web.Request) -> web.Response:
        recorder.received.append((request.path, json.loads(await request.read())))
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


def write_config(directory: Path, *, smtp_port: int, sink_url: str, ack_timeout: str) -> Path:
    """Alice is on call (level 1), Bob is level 2; both have email and a webhook."""
    (directory / "schedules").mkdir()
    (directory / "schedules" / "primary.yaml").write_text(
        "name: primary\ntimezone: Europe/Berlin\n"
        'rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [alice]}\n'
    )
    path = directory / "tocsin.yaml"
    path.write_text(
        f"""
integrations:
  - {{name: prod-am, type: alertmanager, token: s3cret}}
  - {{name: custom, type: generic, token: t0ken}}
people:
  alice: {{name: Alice, email: alice@example.com, webhook: "{sink_url}/alice"}}
  bob: {{name: Bob, email: bob@example.com, webhook: "{sink_url}/bob"}}
schedules_dir: schedules
escalation_policies:
  payments:
    levels:
      - {{targets: [schedule:primary], ack_timeout: {ack_timeout}}}
      - {{targets: [person:bob], ack_timeout: {ack_timeout}}}
routes:
  - {{match: {{service: payments}}, policy: payments, group_by: [alertname, cluster]}}
  - {{match: {{}}, policy: payments}}
severity:
  - {{match: {{severity: critical}}, level: SEV1}}
  - {{match: {{}}, level: SEV2}}
smtp: {{host: 127.0.0.1, port: {smtp_port}, from: tocsin@example.com}}
"""
    )
    return path


def alertmanager_payload(
    status: str, *, alertname: str = "HighLatency", fingerprint: str = "f1"
) -> dict[str, Any]:
    labels = {
        "alertname": alertname,
        "service": "payments",
        "cluster": "eu1",
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
    port = free_port()
    config = write_config(tmp_path, smtp_port=mailbox.port, sink_url=sink.url, ack_timeout="1s")
    settings = Settings(
        config_path=config,
        port=port,
        redis_url=valkey_url,
        escalation_poll=timedelta(milliseconds=50),
    )
    runtime = Runtime(settings, load_config(config), redis, b"k" * 32)
    async with running(runtime, list(Role)) as svc:
        yield svc
