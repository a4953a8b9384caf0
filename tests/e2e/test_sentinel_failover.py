"""The Valkey primary is killed (SIGKILL) while alerts arrive steadily. Tocsin's web, router
and worker find the primary through three Sentinels, with ``TOCSIN_DURABILITY=replica``.
Sentinel promotes the replica and every role follows it; the killed server is started again,
as its supervisor would, and Sentinel makes it the new replica. Every alert answered 202
ends up in an incident and paged; the 503s and the stall are measured and reported."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from tests.e2e.conftest import Sink, eventually, free_port
from tests.e2e.processes import token_from_the_cli
from tests.e2e.store_outages import (
    GENERIC_WEBHOOK,
    SECRET_KEY,
    Answer,
    generic_alert,
    ready,
    request,
    tocsin_roles,
    watched_by_sentinels,
    write_paging_config,
)
from tests.valkey_processes import Store

RATE = 20.0
"""Alerts a second, each a new incident."""
MAX_ALERTS = 2000
"""Bounds the sender whatever happens: 100 s at RATE."""
WARM_UP = 10
"""Alerts paged before the crash: the roles are working, not just ready."""
AFTER_RECOVERY = 20
"""Alerts accepted after the first 202 that follows the crash, before the sender stops."""
FAILOVER_WITHIN = 40.0
"""Sentinel calls the primary down after 5 s (deploy/valkey/sentinel.conf) and promotes the
replica within a few more; the killed server then waits its turn to be made the replica."""
LIST_PAGE = 500


@dataclass
class Sent:
    title: str
    at: float
    answer: Answer | None = None

    def is_(self, status: int) -> bool:
        return self.answer is not None and self.answer.status == status


@dataclass
class Sender:
    """Posts a new alert every 1/RATE s without waiting for the answers to earlier ones, as
    a monitoring system does."""

    url: str
    sent: list[Sent] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        posts: list[asyncio.Task[None]] = []
        start = time.monotonic()
        for n in range(MAX_ALERTS):
            if self.stop.is_set():
                break
            await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
            item = Sent(f"alert {n}", time.monotonic())
            self.sent.append(item)
            posts.append(asyncio.create_task(self._post(item)))
        await asyncio.gather(*posts)

    async def _post(self, item: Sent) -> None:
        item.answer = await request("POST", self.url, generic_alert(item.title))

    def answered(self, status: int, *, after: float = 0.0) -> list[Sent]:
        return [item for item in self.sent if item.at > after and item.is_(status)]


def paged(sink: Sink) -> set[str]:
    return {page["title"] for page in sink.at("/oncall", "page")}


async def incident_titles(url: str, headers: dict[str, str]) -> set[str]:
    titles: set[str] = set()
    for offset in range(0, MAX_ALERTS + LIST_PAGE, LIST_PAGE):
        page = f"{url}/api/v1/incidents?limit={LIST_PAGE}&offset={offset}"
        answer = await request("GET", page, headers=headers)
        assert answer.status == 200, answer
        incidents = json.loads(answer.body)["incidents"]
        titles |= {incident["title"] for incident in incidents}
        if len(incidents) < LIST_PAGE:
            break
    return titles


async def moment(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], *, within: float, what: str
) -> float:
    """When ``check`` first held (to the 20 ms of ``eventually``'s polling)."""
    await eventually(check, within=within, what=what)
    return time.monotonic()


async def promoted(store: Store) -> bool:
    return await store.primary_port() == store.replica


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_primary_killed_mid_stream_loses_no_accepted_alert(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, store_processes: Store, sink: Sink
) -> None:
    store = store_processes
    await watched_by_sentinels(store)

    config = write_paging_config(tmp_path, sink.url)
    ports = {role: free_port() for role in ("web", "router", "worker")}
    urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}
    commands = [[role, "--config", str(config), "--port", str(p)] for role, p in ports.items()]
    env = {
        "TOCSIN_REDIS_URL": store.sentinel_url(),
        "TOCSIN_DURABILITY": "replica",
        "TOCSIN_SECRET_KEY": SECRET_KEY,
    }
    api = await token_from_the_cli(tmp_path, env=env)
    with tocsin_roles(commands, cwd=tmp_path, env=env) as processes:
        for url in urls.values():
            await eventually(partial(ready, url), what="every role to be ready")
        sender = Sender(urls["web"] + GENERIC_WEBHOOK)
        sending = asyncio.create_task(sender.run())
        try:
            await eventually(lambda: len(paged(sink)) >= WARM_UP, what="pages before the crash")

            store.servers["primary"].kill()
            killed_at = time.monotonic()
            before_kill = {item.title for item in sender.sent}
            first_page = asyncio.create_task(
                moment(
                    lambda: bool(paged(sink) - before_kill),
                    within=FAILOVER_WITHIN,
                    what="the page of an alert sent after the crash",
                )
            )
            promoted_at = await moment(
                partial(promoted, store), within=FAILOVER_WITHIN, what="the replica's promotion"
            )
            # Restarted on its files, it comes back a primary with what it had; Sentinel
            # turns it into the new primary's replica, and replica durability can be met.
            store.servers["primary"].start()
            first_page_at = await first_page
            await eventually(
                lambda: bool(sender.answered(202, after=killed_at)),
                within=FAILOVER_WITHIN,
                what="a 202 for an alert sent after the crash",
            )
            recovered = sender.answered(202, after=killed_at)[0]
            await eventually(
                lambda: len(sender.answered(202, after=recovered.at)) >= AFTER_RECOVERY,
                what="alerts accepted after the recovery",
            )
        finally:
            sender.stop.set()
            await sending

        accepted = {item.title for item in sender.answered(202)}
        # The router and worker finish what is on the stream at their own pace.
        try:
            await eventually(
                lambda: accepted <= paged(sink), within=30, what="every accepted alert paged"
            )
        finally:
            in_incidents = await incident_titles(urls["web"], api)
            lost = sorted(accepted - in_incidents)
            unpaged = sorted(accepted - paged(sink))
            refused = [item for item in sender.sent if item.is_(503)]
            not_durable = [i for i in refused if i.answer and "not stored durably" in i.answer.body]
            assert recovered.answer is not None
            summary = (
                f"failover: {len(sender.sent)} alerts sent at {RATE:.0f}/s, "
                f"{len(accepted)} accepted (202), {len(refused)} refused (503: "
                f"{len(refused) - len(not_durable)} store unavailable, {len(not_durable)} not "
                f"durable), {len(lost)} accepted but lost; replica promoted "
                f"{promoted_at - killed_at:.1f} s after the kill; first page of a new alert "
                f"{first_page_at - killed_at:.1f} s after it, first 202 "
                f"{recovered.at + recovered.answer.seconds - killed_at:.1f} s after it"
            )
            print(summary)
            with (tmp_path_factory.getbasetemp() / "failover-summary.txt").open("a") as out:
                out.write(summary + "\n")
        assert not lost, f"accepted (202) but in no incident: {lost}"
        assert not unpaged, f"accepted (202) but never paged: {unpaged}"
        others = [item for item in sender.sent if not (item.is_(202) or item.is_(503))]
        assert not others, f"answers neither 202 nor 503: {[i.answer for i in others[:5]]}"
        assert all(process.poll() is None for process in processes)
