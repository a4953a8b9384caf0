"""SIGTERM to each role in turn while alerts arrive steadily, as a rolling deploy does: the
role says it is not ready, finishes what it holds and exits 0 within its grace period,
without a stack trace; started again, nothing is lost and nothing is sent twice: every
alert answered 202 is in an incident, every incident paged once per level."""

import asyncio
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from tests.e2e.conftest import (
    Sender,
    Sink,
    alert_keys,
    alertmanager_payload,
    eventually,
    incidents,
    nothing_left,
    probe,
    read_token,
    write_config,
)
from tests.e2e.processes import RoleProcess, all_ready, started

GRACE = 5
WEB_EXITS_WITHIN = GRACE + 1
"""A web may wait its whole grace for a connection aiohttp accepted as it closed (and never
reads); then it closes the store connection and exits. The others answer only probes and
give those a second, so they exit within the grace."""
RATE = 25
"""Webhooks a second, one alert each."""
ALERTS_PER_GROUP = 5
"""So incidents open all along, and every stop finds pages and escalations under way."""
BETWEEN_STOPS = 50
"""Alerts accepted before each stop and after the last restart."""
MAX_ALERTS = 5000
ACK_TIMEOUT = 2


@dataclass(frozen=True)
class Stopped:
    role: str
    code: int | None
    seconds: float
    readiness: list[int | None]
    """``/readyz`` answers from the SIGTERM to the exit (``None``: nothing listening)."""


@pytest.fixture
def roles(tmp_path: Path, valkey_url: str, redis: Redis, sink: Sink) -> Iterator[list[RoleProcess]]:
    config = write_config(
        tmp_path, smtp_port=None, sink_url=sink.url, ack_timeout=f"{ACK_TIMEOUT}s"
    )
    env = {
        "TOCSIN_REDIS_URL": valkey_url,
        "TOCSIN_SECRET_KEY": "k" * 32,
        "TOCSIN_SHUTDOWN_GRACE": str(GRACE),
    }
    with started(["router", "worker", "web"], config, tmp_path, env) as processes:
        yield processes


async def steady(sender: Sender, stop: asyncio.Event, sent: list[str]) -> None:
    """One alert every 1/RATE s until ``stop``, each sent (and resent) on its own, so one
    that is refused holds up none of the others."""
    sends = []
    for n in range(MAX_ALERTS):
        if stop.is_set():
            break
        fingerprint = f"a{n}"
        cluster = f"c{n // ALERTS_PER_GROUP}"
        payload = alertmanager_payload(
            "firing", alertname="Steady", cluster=cluster, fingerprint=fingerprint
        )
        sends.append(asyncio.create_task(sender.send(payload)))
        sent.append(fingerprint)
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*sends)


async def accepted_more(sender: Sender, count: int) -> None:
    target = sender.accepted + count
    await eventually(lambda: sender.accepted >= target, what=f"{count} more alerts accepted")


async def sigterm(process: RoleProcess) -> Stopped:
    assert process.process is not None
    popen = process.process
    began = time.monotonic()
    popen.send_signal(signal.SIGTERM)
    readiness: list[int | None] = []

    async def exited() -> bool:
        if popen.poll() is not None:
            return True
        readiness.append(await probe(process.url))
        return False

    await eventually(exited, within=GRACE + 5, what=f"{process.name} to exit")
    return Stopped(process.role, popen.returncode, time.monotonic() - began, readiness)


@pytest.mark.slow
async def test_each_role_stops_cleanly_under_load_and_loses_nothing(
    tmp_path: Path, roles: list[RoleProcess], sink: Sink, redis: Redis
) -> None:
    began = time.monotonic()
    await eventually(lambda: all_ready(roles), within=30, interval=0.2, what="every role ready")
    web = next(p for p in roles if p.role == "web")
    stop = asyncio.Event()
    sent: list[str] = []
    stops: list[Stopped] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        sender = Sender(http, [web.url])
        sending = asyncio.create_task(steady(sender, stop, sent))
        try:
            for process in roles:
                await accepted_more(sender, BETWEEN_STOPS)
                stops.append(await sigterm(process))
                process.start()
                await eventually(process.ready, within=15, what=f"{process.name} again")
            await accepted_more(sender, BETWEEN_STOPS)
        finally:
            stop.set()
            await sending

    await eventually(lambda: nothing_left(redis), within=30, interval=0.2, what="quiet")
    api = await read_token(redis)
    opened = await incidents(web.url, api, at_most=MAX_ALERTS)
    pages = sink.pages()
    summary = (
        f"sigterm: alerts={sender.accepted} (resent {sender.resent}: 503 {sender.refused}, "
        f"no answer {sender.unreachable}), incidents={len(opened)}, "
        f"pages={sum(len(c) for c in pages.values())}, stops="
        + ", ".join(
            f"{s.role} exit {s.code} in {s.seconds:.2f}s "
            f"(readyz {'503 seen' if 503 in s.readiness else 'closed at once'})"
            for s in stops
        )
        + f", wall={time.monotonic() - began:.1f}s"
    )
    print(f"\n{summary}")
    (tmp_path / "sigterm-summary.txt").write_text(summary + "\n")

    for stopped in stops:
        assert stopped.code == 0, stopped
        assert stopped.seconds < (WEB_EXITS_WITHIN if stopped.role == "web" else GRACE), stopped
        # Never ready again once told to stop (the first probe may beat the signal handler).
        assert 200 not in stopped.readiness[1:], stopped
    assert sender.accepted == len(sent)
    assert await alert_keys(web.url, api, [i["id"] for i in opened]) == set(sent)
    assert len(opened) == len({f"c{n // ALERTS_PER_GROUP}" for n in range(len(sent))})
    assert sorted(pages) == sorted(
        (i["id"], level, person) for i in opened for level, person in ((1, "alice"), (2, "bob"))
    )
    assert [target for target, copies in pages.items() if len(copies) > 1] == []
    assert {p.name: p.tracebacks() for p in roles} == {p.name: 0 for p in roles}
