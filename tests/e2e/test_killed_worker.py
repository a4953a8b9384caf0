"""A worker killed with SIGKILL in the middle of an escalation: another worker pages the next
level within seconds, not once arq's 45 s hold on the job is over.

Alice escalates by hand from her page. The worker running the escalation first tells Carol,
also paged at level 1, and Carol's chat server hangs. While that worker lives it keeps the
job, however long the wait; once it is killed, the second worker runs the escalation again
and pages Bob (level 2). The notice to Carol is not sent twice: it is in flight."""

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from notifier.job_lease import LEASE
from router.models import TimelineKind
from router.store import IncidentStore
from tests.e2e.conftest import alertmanager_payload, eventually, free_port
from tests.e2e.processes import RoleProcess, all_ready, started

WEBHOOK = "/v1/webhooks/alertmanager/s3cret"
PAGED_WITHIN = 20.0
"""Seconds from the kill to Bob's page, at most: a lease, a poll and a generous margin for a
loaded machine; arq's own hold kept the job 45 s."""
KEPT_FOR = LEASE.total_seconds() + 1.5
"""Seconds the first worker keeps the job before it is killed: past its lease, so only its
renewals keep it; within the 10 s a webhook send may take, after which it would page Bob
itself."""


@dataclass
class HangingSink:
    """Records every webhook POST; one of kind ``escalated`` to ``/carol`` never answers."""

    url: str
    received: list[tuple[str, dict[str, Any], float]] = field(default_factory=list)
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    def at(self, path: str, kind: str) -> list[float]:
        """When each POST of ``kind`` to ``path`` arrived (``time.monotonic()``)."""
        return [when for p, body, when in self.received if p == path and body["kind"] == kind]

    def first(self, path: str, kind: str) -> dict[str, Any]:
        return next(body for p, body, _ in self.received if p == path and body["kind"] == kind)


@pytest.fixture
async def sink() -> AsyncIterator[HangingSink]:
    port = free_port()
    recorder = HangingSink(f"http://127.0.0.1:{port}")

    async def record(request: web.Request) -> web.Response:
        body = await request.json()
        recorder.received.append((request.path, body, time.monotonic()))
        if request.path == "/carol" and body["kind"] == "escalated":
            recorder.hanging.set()
            await asyncio.Event().wait()  # until the sender gives up or dies
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield recorder
    finally:
        await runner.cleanup()


def write_config(directory: Path, sink_url: str) -> Path:
    path = directory / "tocsin.yaml"
    path.write_text(
        f"""
integrations:
  - {{name: prod-am, type: alertmanager, token: s3cret}}
people:
  alice: {{name: Alice, webhook: "{sink_url}/alice"}}
  bob: {{name: Bob, webhook: "{sink_url}/bob"}}
  carol: {{name: Carol, webhook: "{sink_url}/carol"}}
escalation_policies:
  payments:
    levels:
      - {{targets: [person:alice, person:carol], ack_timeout: 10m}}
      - {{targets: [person:bob], ack_timeout: 10m}}
routes:
  - {{match: {{}}, policy: payments}}
"""
    )
    return path


@pytest.fixture
def fleet(
    tmp_path: Path, valkey_url: str, redis: Redis, sink: HangingSink
) -> Iterator[list[RoleProcess]]:
    env = {"TOCSIN_REDIS_URL": valkey_url, "TOCSIN_SECRET_KEY": "k" * 32}
    config = write_config(tmp_path, sink.url)
    with started(["web", "router", "worker", "worker"], config, tmp_path, env) as processes:
        yield processes


def signal_group(process: RoleProcess, sig: signal.Signals) -> None:
    assert process.process is not None
    os.killpg(process.process.pid, sig)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_killed_workers_escalation_pages_from_another_worker_within_seconds(
    fleet: list[RoleProcess], sink: HangingSink, redis: Redis
) -> None:
    web_role, _, first, second = fleet
    await eventually(lambda: all_ready(fleet), within=30, interval=0.2, what="every process")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.post(web_role.url + WEBHOOK, json=alertmanager_payload("firing")) as got:
            assert got.status == 202
        await eventually(lambda: sink.at("/alice", "page") != [], what="Alice's page")
        page = sink.first("/alice", "page")

        async def level_1_recorded() -> bool:
            """The page action asks the timeline which level was paged last."""
            events = await IncidentStore(redis).timeline(page["incident_id"])
            paged = {e.person for e in events if e.kind is TimelineKind.PAGED}
            return paged == {"alice", "carol"}

        await eventually(level_1_recorded, what="level 1's pages recorded")

        # The second worker is paused, so the escalation is the first one's.
        signal_group(second, signal.SIGSTOP)
        try:
            link = web_role.url + urlsplit(page["ack_url"]).path
            async with http.post(link, data={"action": "escalate"}) as got:
                assert got.status == 200, await got.text()
            await asyncio.wait_for(sink.hanging.wait(), 10)
            hung = time.monotonic()
        finally:
            signal_group(second, signal.SIGCONT)

    # Both workers poll; the first keeps the job past its lease by renewing it.
    await asyncio.sleep(max(0.0, hung + KEPT_FOR - time.monotonic()))
    assert sink.at("/bob", "page") == []

    first.kill()
    killed = time.monotonic()
    await eventually(lambda: sink.at("/bob", "page") != [], within=PAGED_WITHIN, what="Bob")
    paged_after = sink.at("/bob", "page")[0] - killed
    print(f"\nBob paged {paged_after:.1f}s after the worker escalating was killed")
    assert paged_after < PAGED_WITHIN
    # The notice in flight to Carol is not sent again, and Bob is paged once.
    assert len(sink.at("/carol", "escalated")) == 1
    assert len(sink.at("/bob", "page")) == 1
