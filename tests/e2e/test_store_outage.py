"""The store goes away under a running service, hangs, or is not there yet when a role
starts: no role exits, webhooks and probes answer 503 at once, and everything resumes when
the store is back, the escalation that fell due meanwhile included. Tocsin runs as real
processes against an external Valkey started from deploy/valkey/ (AOF on)."""

import asyncio
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import pytest
from arq.jobs import Job, JobStatus

from notifier import keys as notifier_keys
from notifier.escalation import FIRST
from tests.e2e.conftest import (
    WEBHOOK,
    Mailbox,
    Sink,
    alertmanager_payload,
    eventually,
    free_port,
    write_config,
)
from tests.e2e.store_outages import (
    SECRET_KEY,
    Answer,
    ready,
    request,
    serving,
    status,
    tocsin_roles,
)
from tests.valkey_processes import Store
from tocsin.store import connect

ACK_TIMEOUT = 4.0
HUNG_STORE_LIMIT = 5.0
"""The longest a webhook or a probe may take to answer while the store hangs: a load
balancer's or Alertmanager's timeout is commonly 10 s, a probe's 1 to 5 s."""
PROBES = 5
CONCURRENT_WEBHOOKS = 8


@pytest.fixture
def config(tmp_path: Path, mailbox: Mailbox, sink: Sink) -> Path:
    return write_config(
        tmp_path, smtp_port=mailbox.port, sink_url=sink.url, ack_timeout=f"{int(ACK_TIMEOUT)}s"
    )


async def started(store: Store) -> Store:
    await store.start_primary()
    return store


def log_messages(path: Path) -> list[str]:
    """Each line of a text log without its time stamp."""
    return [line.split(": ", 1)[1] for line in path.read_text().splitlines()]


async def fire(url: str, alertname: str) -> Answer:
    """A new alert, its own incident; its pages carry ``alertname`` as their title."""
    body = alertmanager_payload("firing", alertname=alertname, fingerprint=alertname)
    body["alerts"][0]["annotations"]["summary"] = alertname
    return await request("POST", url + WEBHOOK, body)


def titles(sink: Sink, person: str) -> list[str]:
    return [page["title"] for page in sink.at(f"/{person}", "page")]


async def escalation_timer_set(store: Store, incident_id: str) -> bool:
    redis = connect(store.url())
    try:
        job_id = notifier_keys.escalate_job_id(incident_id, FIRST)
        job = Job(job_id, redis, _queue_name=notifier_keys.ARQ_QUEUE)
        return await job.status() is JobStatus.deferred
    finally:
        await redis.aclose()


async def on_disk(store: Store) -> None:
    """Everything written so far is in the append-only file: deploy/valkey fsyncs it every
    second, so a crash loses up to a second of writes, and this test is about a crash after
    the timer was stored. One write, then the wait for it to be fsynced (the file is written
    in order, so everything before it is on disk too)."""
    redis = connect(store.url())
    try:
        await redis.set("test:fsync-mark", "1")
        local, _ = await redis.execute_command("WAITAOF", 1, 0, 5000)
        assert local == 1, "the store did not fsync within 5 s"
    finally:
        await redis.aclose()


@asynccontextmanager
async def tocsin_up(
    directory: Path, store: Store, config: Path
) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """``tocsin up`` on the external store, ready; its process and URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["up", "--config", str(config), "--port", str(port)]
    with tocsin_roles([command], cwd=directory, env={"TOCSIN_REDIS_URL": store.url()}) as [up]:
        await eventually(partial(ready, url), what="tocsin up to be ready")
        yield up, url


def assert_refused_for_now(answer: Answer) -> None:
    assert answer.status == 503, answer
    assert answer.headers["Retry-After"] == "5"


async def test_a_store_crash_delays_the_escalation_and_loses_nothing(
    tmp_path: Path, store_processes: Store, config: Path, sink: Sink
) -> None:
    store = await started(store_processes)
    async with tocsin_up(tmp_path, store, config) as (up, url):
        assert (await fire(url, "HighLatency")).status == 202
        await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="level 1 page")
        paged_at = time.monotonic()
        # The crash comes once the page is done with, its timer set: a crash before that
        # rightly has the page handled again when the store is back.
        await eventually(lambda: escalation_timer_set(store, "1"), what="the escalation timer")
        await on_disk(store)

        store.servers["primary"].kill()
        assert_refused_for_now(await fire(url, "DiskFull"))
        assert await status(url + "/readyz") == 503
        assert await status(url + "/healthz") == 200
        # The outage lasts past the moment the escalation falls due, so the timer has to
        # survive it rather than fire before it.
        await asyncio.sleep(max(0.0, paged_at + ACK_TIMEOUT - time.monotonic()))
        assert not sink.at("/bob", "page")
        store.servers["primary"].start()
        restarted_at = time.monotonic()

        await eventually(
            lambda: len(sink.at("/bob", "page")) == 1,
            within=3 * ACK_TIMEOUT,
            what="the level 2 page after the store is back",
        )
        print(f"store crash: level 2 paged {time.monotonic() - restarted_at:.2f} s after restart")
        assert up.poll() is None, "tocsin up exited during the outage"
        await eventually(lambda: ready(url), what="ready again")
        lines = log_messages(tmp_path / "tocsin-up.log")
        assert sum(line.startswith("not ready:") for line in lines) == 1, lines
        assert (await fire(url, "QueueBacklog")).status == 202
        await eventually(lambda: "QueueBacklog" in titles(sink, "alice"), what="a new alert's page")
        assert len(sink.at("/bob", "page")) == 1


async def test_a_hung_store_is_answered_with_503_at_once(
    tmp_path: Path, store_processes: Store, config: Path, sink: Sink
) -> None:
    store = await started(store_processes)
    async with tocsin_up(tmp_path, store, config) as (up, url):
        store.servers["primary"].signal(signal.SIGSTOP)
        # Senders do not queue politely: several webhooks and a probe arrive at once.
        *webhooks, probe, alive = await asyncio.gather(
            *(fire(url, f"Hung{n}") for n in range(CONCURRENT_WEBHOOKS)),
            request("GET", url + "/readyz"),
            request("GET", url + "/healthz"),
        )
        slowest = max(webhooks, key=lambda answer: answer.seconds)
        print(
            f"hung store: {len(webhooks)} webhooks 503 in at most {slowest.seconds:.2f} s, "
            f"/readyz 503 in {probe.seconds:.2f} s"
        )
        for webhook in webhooks:
            assert_refused_for_now(webhook)
            assert webhook.seconds < HUNG_STORE_LIMIT
        assert probe.status == 503
        assert probe.seconds < HUNG_STORE_LIMIT
        assert alive.status == 200

        store.servers["primary"].signal(signal.SIGCONT)
        await eventually(lambda: ready(url), what="ready again")
        assert (await fire(url, "DiskFull")).status == 202
        await eventually(
            lambda: "DiskFull" in titles(sink, "alice"),
            what="the page of an alert sent after the store resumed",
        )
        assert up.poll() is None


async def test_roles_started_before_the_store_wait_for_it(
    tmp_path: Path, store_processes: Store, config: Path, sink: Sink
) -> None:
    store = store_processes  # its port is chosen; nothing listens there yet
    ports = {role: free_port() for role in ("web", "router", "worker")}
    urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}
    commands = [[role, "--config", str(config), "--port", str(p)] for role, p in ports.items()]
    env = {"TOCSIN_REDIS_URL": store.url(), "TOCSIN_SECRET_KEY": SECRET_KEY}
    with tocsin_roles(commands, cwd=tmp_path, env=env) as processes:
        for url in urls.values():
            await eventually(partial(serving, url), what="the role to serve its probes")
        # Probes keep coming for as long as the store is away (a load balancer's every few
        # seconds): each is answered 503 and none adds a line to the log.
        for _ in range(PROBES):
            for url in urls.values():
                assert await status(url + "/readyz") == 503
        assert all(p.poll() is None for p in processes)
        for role in ports:
            lines = log_messages(tmp_path / f"tocsin-{role}.log")
            said = [line for line in lines if "cannot reach the store" in line]
            assert len(said) == 1, f"{role}: {lines}"
            assert said[0].startswith(
                f"cannot reach the store at redis://127.0.0.1:{store.primary}/0 (TOCSIN_REDIS_URL)"
            )
            assert len(set(lines)) == len(lines), f"{role} repeats itself: {lines}"

        await started(store)
        for url in urls.values():
            await eventually(partial(ready, url), what="the role to be ready once the store is")
        assert (await fire(urls["web"], "HighLatency")).status == 202
        await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="the page")
        assert all(p.poll() is None for p in processes)
        for role in ports:
            assert "Traceback" not in (tmp_path / f"tocsin-{role}.log").read_text(), role
