"""Leases on running timer jobs against a real Valkey: a live worker keeps its job however
long it runs, a killed worker's job runs on another within the lease, and a worker cut off
from the store longer than the lease loses its job to another, which pages nobody twice.

A lease runs out on the store's clock, so these wait in real time; the leases are short
(a fraction of a second) and every wait is bounded."""

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from arq import func
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.utils import timestamp_ms
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from notifier import keys
from notifier.channels import DeliveryResult, Notification
from notifier.config import Person
from notifier.escalation import FIRST
from notifier.job_lease import LeasedWorker
from notifier.paging import Pager
from notifier.sending import Links
from notifier.worker import ArqScheduler, arq_worker
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import eventually
from tests.integration import lease_holder
from tests.integration.lease_holder import HOLDING, QUEUE
from tests.integration.test_paging import (
    DIRECTORY,
    PUBLIC_URL,
    ROUTING,
    SECRET,
    RecordingChannel,
    alert,
)
from tests.valkey_processes import Store
from tocsin.store import connect

LEASE = timedelta(milliseconds=500)
POLL = timedelta(milliseconds=20)
SLACK = 1.0
"""Seconds a loaded machine may add to ``LEASE`` and a poll before another worker starts a
job that is free."""


@pytest.fixture
async def pool(redis: Redis, valkey_url: str) -> AsyncIterator[ArqRedis]:
    client = connect(valkey_url)
    try:
        yield client
    finally:
        await client.aclose()


@dataclass
class Runs:
    """Who ran the job ``hold``; it holds on until ``over`` is set."""

    by: list[str] = field(default_factory=list)
    over: asyncio.Event = field(default_factory=asyncio.Event)


def holding_worker(pool: ArqRedis, name: str, runs: Runs) -> LeasedWorker:
    async def hold(ctx: dict[str, Any]) -> None:
        runs.by.append(name)
        await runs.over.wait()

    return LeasedWorker(
        [func(hold, name="hold")],
        queue_name=QUEUE,
        redis_pool=pool,
        handle_signals=False,
        poll_delay=POLL.total_seconds(),
        lease=LEASE,
    )


@contextlib.asynccontextmanager
async def polling(*workers: LeasedWorker) -> AsyncIterator[None]:
    """The workers poll their queue until the block ends; then they stop as arq's own
    shutdown does, their running jobs cancelled and handed back."""
    mains = [asyncio.create_task(worker.main()) for worker in workers]
    try:
        yield
    finally:
        for main in mains:
            main.cancel()
        jobs = [task for worker in workers for task in worker.tasks.values()]
        for task in jobs:
            task.cancel()
        await asyncio.gather(*mains, *jobs, return_exceptions=True)


async def test_a_live_worker_keeps_its_job_past_the_lease(pool: ArqRedis) -> None:
    runs = Runs()
    first, second = holding_worker(pool, "first", runs), holding_worker(pool, "second", runs)
    await pool.enqueue_job("hold", _job_id="held", _queue_name=QUEUE)

    async with polling(first):
        await eventually(lambda: runs.by == ["first"], within=5, what="the first worker's run")
        async with polling(second):
            # Several leases long: without renewals the second worker would start the job.
            await asyncio.sleep(4 * LEASE.total_seconds())
            assert runs.by == ["first"]
            left = await pool.pttl(in_progress_key_prefix + "held")
            assert 0 < left <= LEASE / timedelta(milliseconds=1)

            runs.over.set()
            await eventually(lambda: first.jobs_complete == 1, within=5, what="the run's end")
            assert await pool.exists(in_progress_key_prefix + "held") == 0
            assert await pool.zcard(QUEUE) == 0
            assert runs.by == ["first"]


async def test_a_worker_never_starts_again_a_job_it_still_runs(pool: ArqRedis) -> None:
    runs = Runs()
    worker = holding_worker(pool, "worker", runs)
    await pool.enqueue_job("hold", _job_id="held", _queue_name=QUEUE)

    async with polling(worker):
        await eventually(lambda: runs.by == ["worker"], within=5, what="the run")
        # As if the lease ran out while the store was away: the job is free.
        await pool.delete(in_progress_key_prefix + "held")
        await asyncio.sleep(10 * POLL.total_seconds())
        assert runs.by == ["worker"]

        runs.over.set()
        await eventually(lambda: worker.jobs_complete == 1, within=5, what="the run's end")
    assert worker.jobs_failed == 0


async def test_a_killed_workers_job_runs_on_another_within_the_lease(
    pool: ArqRedis, valkey_url: str
) -> None:
    runs = Runs()
    runs.over.set()  # here the job ends at once
    other = holding_worker(pool, "other", runs)
    await pool.enqueue_job("hold", _job_id="held", _queue_name=QUEUE)
    holder = lease_holder.start(valkey_url, LEASE)
    try:
        await eventually(
            lambda: pool.exists(HOLDING), within=20, what="the job running in the other process"
        )
        async with polling(other):
            await asyncio.sleep(4 * LEASE.total_seconds())
            assert runs.by == []  # the process renews its lease

            os.killpg(holder.pid, signal.SIGKILL)
            killed = time.monotonic()
            holder.wait(timeout=10)
            within = LEASE.total_seconds() + POLL.total_seconds() + SLACK
            await eventually(lambda: runs.by == ["other"], within=within, what="the job again")
            waited = time.monotonic() - killed
            await eventually(lambda: other.jobs_complete == 1, within=5, what="the run's end")
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)
    # Not before the lease ran out: the killed process had renewed it a moment before.
    assert waited >= LEASE.total_seconds() / 2


@dataclass
class HeldChannel(RecordingChannel):
    """Sends only once ``go`` is set, as a server that is slow to answer."""

    go: asyncio.Event = field(default_factory=asyncio.Event)
    sending: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        self.sending.set()
        await self.go.wait()
        return await super().send(person, note)


def pager(
    store: IncidentStore, pool: ArqRedis, clock: ManualClock, name: str, mail: RecordingChannel
) -> tuple[Pager, RecordingChannel]:
    hook = RecordingChannel("hook", lambda p: p.webhook is not None)
    links = Links(PUBLIC_URL, SECRET)
    scheduler = ArqScheduler(pool)
    channels = [mail, hook]
    return Pager(
        store, DIRECTORY, channels, links, scheduler, clock, CollectorRegistry(), name=name
    ), hook


def level_2_pages(*channels: RecordingChannel) -> list[tuple[str, str]]:
    return sorted(
        (channel.name, n.person)
        for channel in channels
        for n in channel.delivered
        if n.kind == "page" and n.level == 2
    )


async def test_a_worker_cut_off_longer_than_the_lease_loses_its_job_and_nobody_is_paged_twice(
    store_processes: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "notifier.job_lease")

    def renewals_logged(text: str) -> bool:
        return any(text in r.getMessage() for r in caplog.records if r.name == "notifier.job_lease")

    store_processes.start_servers(replica=False)
    primary = store_processes.servers["primary"]
    await eventually(lambda: store_processes.answers(store_processes.primary), what="Valkey")
    timeout = timedelta(milliseconds=300)
    pools = [connect(store_processes.url(), timeout=timeout) for _ in range(2)]
    store = IncidentStore(pools[0])
    mail_a = HeldChannel("mail", lambda p: p.email is not None)
    pager_a, hook_a = pager(store, pools[0], clock, "worker-a", mail_a)
    mail_b = RecordingChannel("mail", lambda p: p.email is not None)
    pager_b, hook_b = pager(IncidentStore(pools[1]), pools[1], clock, "worker-b", mail_b)
    first = arq_worker(pools[0], pager_a, poll_delay=POLL, lease=LEASE)
    second = arq_worker(pools[1], pager_b, poll_delay=POLL, lease=LEASE)
    try:
        change = await store.apply_alert(alert(clock(), "payments"), ROUTING)
        assert change.incident_id is not None
        incident_id = change.incident_id
        mail_a.go.set()
        await pager_a.open(incident_id)  # level 1: alice
        mail_a.go.clear()
        mail_a.sending.clear()
        # Level 1's acknowledgement timeout is over: its escalation is due.
        await pools[0].zadd(
            keys.ARQ_QUEUE, {keys.escalate_job_id(incident_id, FIRST): timestamp_ms()}
        )

        async with polling(first):
            # The first worker pages level 2 and waits on the mail server; then the store
            # stops answering for three leases.
            await asyncio.wait_for(mail_a.sending.wait(), 10)
            primary.signal(signal.SIGSTOP)
            await asyncio.sleep(3 * LEASE.total_seconds())
            primary.signal(signal.SIGCONT)
            await eventually(
                lambda: store_processes.answers(store_processes.primary), what="Valkey back"
            )

            async with polling(second):
                # The lease ran out: the second worker runs the escalation too, and sends
                # none of what the first is still sending.
                await eventually(lambda: second.jobs_complete == 1, within=5, what="the rerun")
                assert level_2_pages(mail_b, hook_b) == []
                # The first worker's renewals failed while the store was away, and go on.
                await eventually(lambda: renewals_logged("working again"), what="a renewal")
                assert renewals_logged("storage unavailable")

                mail_a.go.set()
                await eventually(lambda: first.jobs_complete == 1, within=5, what="the first run")

        assert level_2_pages(mail_a, hook_a, mail_b, hook_b) == [
            ("hook", "carol"),
            ("mail", "bob"),
        ]
    finally:
        for client in pools:
            await client.aclose()
