"""Paging and escalation against a real Valkey: a recording channel and scheduler stand in for
the outside world, and the test moves the clock."""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from ingest.models import Alert, AlertStatus
from notifier import keys
from notifier.backoff import MAX_TRIES, retry_delay
from notifier.channels import DeliveryResult, Notification
from notifier.config import EscalationPolicy, Level, Person, Target
from notifier.deliveries import SENDING_LEASE, Deliveries
from notifier.directory import Directory
from notifier.escalation import FIRST, Step
from notifier.paging import Pager, Scheduler
from notifier.sending import Links
from notifier.signing import EVERY_ACTION, InvalidLink, verify_link
from router.config import Route, RoutingConfig
from router.models import Incident, IncidentStatus, TimelineEvent, TimelineKind
from router.store import IncidentStore
from schedules.models import Layer, Rotation, Schedule
from schedules.weekly import WeeklyTimes
from tests.conftest import ManualClock

SECRET = b"s" * 32
PUBLIC_URL = "https://tocsin.test"

PEOPLE = {
    "alice": Person(name="Alice", email="alice@example.com", webhook="https://hooks.test/a"),
    "bob": Person(name="Bob", email="bob@example.com"),
    "carol": Person(name="Carol", webhook="https://hooks.test/c"),
    "dave": Person(name="Dave", email="dave@example.com"),
}
PRIMARY = Schedule(
    name="primary",
    timezone="UTC",
    rotation=Rotation(every=timedelta(weeks=1), handoff=datetime(2026, 3, 2, 9), members=["alice"]),
)


def level(*targets: str, ack_timeout: timedelta) -> Level:
    kinds = [t.split(":", 1) for t in targets]
    return Level(
        targets=[
            Target(kind="schedule" if k == "schedule" else "person", name=n) for k, n in kinds
        ],
        ack_timeout=ack_timeout,
    )


LEVEL_1_TIMEOUT = timedelta(minutes=5)
LEVEL_2_TIMEOUT = timedelta(minutes=10)
DIRECTORY = Directory(
    people=PEOPLE,
    schedules={"primary": PRIMARY},
    policies={
        "payments": EscalationPolicy(
            repeat=1,
            levels=[
                level("schedule:primary", ack_timeout=LEVEL_1_TIMEOUT),
                level("person:bob", "person:carol", ack_timeout=LEVEL_2_TIMEOUT),
            ],
        ),
        "database": EscalationPolicy(levels=[level("person:dave", ack_timeout=LEVEL_1_TIMEOUT)]),
    },
)
ROUTING = RoutingConfig(
    routes=[
        Route(name="payments", match={"service": "payments"}, policy="payments"),
        Route(name="database", match={"service": "db"}, policy="database"),
    ]
)


@dataclass
class RecordingChannel:
    """A real ``Channel`` that keeps what it delivered and fails when told to."""

    name: str
    reach: Callable[[Person], bool]
    delivered: list[Notification] = field(default_factory=list)
    attempts: list[Notification] = field(default_factory=list)
    failing: dict[str, tuple[bool, int]] = field(default_factory=dict)
    """person id -> (retryable, how many more sends fail; -1 for all)."""
    broken: bool = False
    """Raise instead of reporting, as a channel with a bug would."""

    def fail(self, person: str, *, retryable: bool, times: int = -1) -> None:
        self.failing[person] = (retryable, times)

    def reaches(self, person: Person) -> bool:
        return self.reach(person)

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        assert self.reach(person), "paged by a channel that does not reach them"
        assert person.name == note.person_name
        self.attempts.append(note)
        if self.broken:
            raise RuntimeError("bug in channel")
        retryable, times = self.failing.get(note.person, (False, 0))
        if times != 0:
            self.failing[note.person] = (retryable, times - 1)
            return DeliveryResult.failed("mailbox unavailable", retryable=retryable)
        self.delivered.append(note)
        return DeliveryResult.delivered("sent")

    async def aclose(self) -> None:
        pass

    def to(self, person: str, kind: str = "page") -> list[Notification]:
        return [n for n in self.delivered if n.person == person and n.kind == kind]


@dataclass(frozen=True)
class Scheduled:
    job: str
    step: Step
    incident_id: str
    job_id: str
    delay: timedelta
    attempt: int


@dataclass
class RecordingScheduler:
    """A real ``Scheduler`` that runs nothing: the test runs the jobs it asked for."""

    jobs: list[Scheduled] = field(default_factory=list)

    async def schedule(
        self,
        job: str,
        step: Step,
        incident_id: str,
        *,
        job_id: str,
        delay: timedelta,
        attempt: int = 0,
        person: str | None = None,
    ) -> None:
        self.jobs.append(Scheduled(job, step, incident_id, job_id, delay, attempt))


@dataclass
class World:
    pager: Pager
    store: IncidentStore
    mail: RecordingChannel
    hook: RecordingChannel
    scheduler: RecordingScheduler
    registry: CollectorRegistry
    clock: ManualClock

    @property
    def delivered(self) -> list[Notification]:
        return self.mail.delivered + self.hook.delivered

    async def incident(self, incident_id: str) -> Incident:
        incident = await self.store.get(incident_id)
        assert incident is not None
        return incident

    async def timeline(self, incident_id: str, *kinds: TimelineKind) -> list[TimelineEvent]:
        return [e for e in await self.store.timeline(incident_id) if e.kind in kinds]

    async def open(self, service: str = "payments") -> str:
        change = await self.store.apply_alert(alert(self.clock(), service), ROUTING)
        assert change.incident is not None
        return change.incident.id


def alert(at: datetime, service: str, status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(
        dedup_key=f"latency-{service}",
        status=status,
        summary=f"p99 latency high on {service}",
        labels={"service": service, "alertname": "HighLatency"},
        integration="prom",
        source="alertmanager",
        received_at=at,
    )


def pager_with(
    store: IncidentStore, scheduler: Scheduler, clock: ManualClock, registry: CollectorRegistry
) -> tuple[Pager, RecordingChannel, RecordingChannel]:
    """A pager over the test directory with a mail and a webhook channel that record."""
    mail = RecordingChannel("mail", lambda p: p.email is not None)
    hook = RecordingChannel("hook", lambda p: p.webhook is not None)
    links = Links(PUBLIC_URL, SECRET)
    pager = Pager(store, DIRECTORY, [mail, hook], links, scheduler, clock, registry)
    return pager, mail, hook


@pytest.fixture
def world(redis: Redis, clock: ManualClock) -> World:
    return make_world(redis, clock)


def make_world(redis: Redis, clock: ManualClock) -> World:
    store = IncidentStore(redis)
    scheduler = RecordingScheduler()
    registry = CollectorRegistry()
    pager, mail, hook = pager_with(store, scheduler, clock, registry)
    return World(pager, store, mail, hook, scheduler, registry, clock)


def escalation(incident_id: str, step: Step, delay: timedelta) -> Scheduled:
    job_id = keys.escalate_job_id(incident_id, step)
    return Scheduled("escalate", step, incident_id, job_id, delay, 0)


def retry(incident_id: str, step: Step, attempt: int) -> Scheduled:
    job_id = keys.retry_job_id(incident_id, step, attempt)
    return Scheduled(
        "retry_page", step, incident_id, job_id, backoff(incident_id, attempt), attempt
    )


def backoff(incident_id: str, attempt: int) -> timedelta:
    """The delay before the first level's retry ``attempt``."""
    delay = retry_delay(attempt, f"{incident_id}:{FIRST.key}", budget=LEVEL_1_TIMEOUT)
    assert delay is not None
    return delay


def sent(w: World) -> list[tuple[str, str, str, int | None]]:
    """(channel, kind, person, level) of every delivery, sorted."""
    return sorted(
        (channel.name, n.kind, n.person, n.level)
        for channel in (w.mail, w.hook)
        for n in channel.delivered
    )


def paged(
    events: list[TimelineEvent],
) -> list[tuple[str | None, str | None, int | None, int | None]]:
    return sorted((e.person, e.channel, e.level, e.round) for e in events)


async def test_open_pages_level_one_by_every_channel_that_reaches_them(world: World) -> None:
    incident_id = await world.open()
    world.clock.advance(timedelta(seconds=2))

    await world.pager.open(incident_id)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]
    note = world.mail.delivered[0]
    assert (note.incident_id, note.person_name, note.status) == (
        incident_id,
        "Alice",
        IncidentStatus.TRIGGERED,
    )
    assert note.title
    assert [a.summary for a in note.alerts] == ["p99 latency high on payments"]
    assert world.scheduler.jobs == [escalation(incident_id, FIRST, LEVEL_1_TIMEOUT)]
    assert world.scheduler.jobs[0].job_id == f"tocsin:escalate:{incident_id}:0:0"
    events = await world.timeline(incident_id, TimelineKind.PAGED)
    assert paged(events) == [("alice", "hook", 1, 0), ("alice", "mail", 1, 0)]
    assert {e.at for e in events} == {world.clock()}
    # Time from the alert to the first page, observed once.
    assert world.registry.get_sample_value("tocsin_alert_to_first_page_seconds_count") == 1
    assert world.registry.get_sample_value("tocsin_alert_to_first_page_seconds_sum") == 2.0
    assert (
        world.registry.get_sample_value(
            "tocsin_notifications_total", {"channel": "mail", "kind": "page", "result": "ok"}
        )
        == 1
    )
    # How long each channel took, one observation per delivery.
    for channel in ("mail", "hook"):
        labels = {"channel": channel}
        assert world.registry.get_sample_value("tocsin_delivery_seconds_count", labels) == 1


async def test_paging_twice_sends_nothing_twice(world: World) -> None:
    incident_id = await world.open()

    await world.pager.open(incident_id)
    await world.pager.page(incident_id, FIRST)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]
    assert len(await world.timeline(incident_id, TimelineKind.PAGED)) == 2
    assert world.registry.get_sample_value("tocsin_alert_to_first_page_seconds_count") == 1
    # The timer is asked for again; its fixed id makes that a no-op in the real scheduler.
    assert set(world.scheduler.jobs) == {escalation(incident_id, FIRST, LEVEL_1_TIMEOUT)}


async def test_two_runs_of_one_step_at_once_send_once(world: World) -> None:
    # The event and a retry job can run the same step at the same moment.
    incident_id = await world.open()

    await asyncio.gather(*(world.pager.page(incident_id, FIRST) for _ in range(5)))

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]
    assert len(await world.timeline(incident_id, TimelineKind.PAGED)) == 2


async def test_a_delivery_another_run_holds_is_retried_once_its_hold_is_over(
    world: World, redis: Redis
) -> None:
    incident_id = await world.open()
    mail = "page:0:0:alice:mail"
    # Another process took Alice's mail and died before sending it.
    assert await Deliveries(redis, "host-9102").take(incident_id, [mail]) == [True]

    await world.pager.page(incident_id, FIRST)

    assert sent(world) == [("hook", "page", "alice", 1)]
    assert not await world.timeline(incident_id, TimelineKind.PAGE_FAILED)
    retry_job = keys.retry_job_id(incident_id, Step(0, 0), 1)
    assert Scheduled("retry_page", FIRST, incident_id, retry_job, SENDING_LEASE, 1) in (
        world.scheduler.jobs
    )

    await redis.delete(keys.sending(incident_id, mail))  # the hold runs out
    await world.pager.page(incident_id, FIRST, attempt=1)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]


async def test_the_process_in_a_dead_ones_place_takes_its_deliveries_at_once(
    redis: Redis,
) -> None:
    mail = "page:0:0:alice:mail"
    assert await Deliveries(redis, "host-9102").take("1", [mail]) == [True]  # then it died

    assert await Deliveries(redis, "host-9103").take("1", [mail]) == [False]  # alive: its own
    replacement = Deliveries(redis, "host-9102")
    assert await replacement.take("1", [mail]) == [True]
    assert await replacement.take("1", [mail]) == [False]  # a second run of the same process


async def test_what_a_run_could_not_release_is_free_for_the_next_run(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = "page:0:0:alice:mail"
    deliveries = Deliveries(redis, "host-9102")
    assert await deliveries.take("1", [mail]) == [True]

    async def store_away(*names: str) -> int:
        raise ConnectionError("the store is away")

    monkeypatch.setattr(redis, "delete", store_away)
    with pytest.raises(ConnectionError):
        await deliveries.release("1", [mail])
    monkeypatch.undo()

    assert await deliveries.take("1", [mail]) == [True]


async def test_a_failed_delivery_is_free_to_be_retried(world: World) -> None:
    incident_id = await world.open()
    world.mail.fail("alice", retryable=True, times=1)
    await world.pager.open(incident_id)
    assert sent(world) == [("hook", "page", "alice", 1)]

    await world.pager.page(incident_id, FIRST, attempt=1)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]


async def test_escalate_pages_the_next_level_once(world: World) -> None:
    incident_id = await world.open()
    await world.pager.open(incident_id)
    world.clock.advance(LEVEL_1_TIMEOUT)

    await world.pager.escalate(incident_id, FIRST)
    await world.pager.escalate(incident_id, FIRST)

    assert sent(world) == [
        ("hook", "page", "alice", 1),
        ("hook", "page", "carol", 2),
        ("mail", "page", "alice", 1),
        ("mail", "page", "bob", 2),
    ]
    escalated = await world.timeline(incident_id, TimelineKind.ESCALATED)
    assert [(e.level, e.round, e.at) for e in escalated] == [(2, 0, world.clock())]
    assert escalated[0].detail == "no acknowledgement within 0:05:00"
    level_2 = await world.timeline(incident_id, TimelineKind.PAGED)
    assert paged([e for e in level_2 if e.level == 2]) == [
        ("bob", "mail", 2, 0),
        ("carol", "hook", 2, 0),
    ]
    assert world.scheduler.jobs[-1] == escalation(incident_id, Step(0, 1), LEVEL_2_TIMEOUT)
    assert {j.job_id for j in world.scheduler.jobs} == {
        keys.escalate_job_id(incident_id, Step(0, 0)),
        keys.escalate_job_id(incident_id, Step(0, 1)),
    }


async def test_escalate_after_acknowledge_sends_nothing(world: World) -> None:
    incident_id = await world.open()
    await world.pager.open(incident_id)
    await world.store.acknowledge(incident_id, "alice", world.clock())
    scheduled = list(world.scheduler.jobs)
    world.clock.advance(LEVEL_1_TIMEOUT)

    await world.pager.escalate(incident_id, FIRST)
    await world.pager.page(incident_id, Step(0, 1), attempt=1)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]
    assert world.scheduler.jobs == scheduled
    assert await world.timeline(incident_id, TimelineKind.ESCALATED) == []
    assert (await world.incident(incident_id)).status is IncidentStatus.ACKNOWLEDGED


async def test_after_the_last_level_the_policy_starts_over(world: World) -> None:
    incident_id = await world.open()
    await world.pager.open(incident_id)
    await world.pager.escalate(incident_id, FIRST)
    world.clock.advance(LEVEL_2_TIMEOUT)

    await world.pager.escalate(incident_id, Step(0, 1))

    assert world.mail.to("alice") == [
        world.mail.delivered[0],
        world.mail.delivered[-1],
    ]
    assert [n.level for n in world.mail.to("alice")] == [1, 1]
    escalated = await world.timeline(incident_id, TimelineKind.ESCALATED)
    assert [(e.level, e.round) for e in escalated] == [(2, 0), (1, 1)]
    repaged = [e for e in await world.timeline(incident_id, TimelineKind.PAGED) if e.round == 1]
    assert paged(repaged) == [("alice", "hook", 1, 1), ("alice", "mail", 1, 1)]
    assert world.scheduler.jobs[-1] == escalation(incident_id, Step(1, 0), LEVEL_1_TIMEOUT)


async def test_after_the_last_repeat_the_policy_is_exhausted_once(world: World) -> None:
    incident_id = await world.open()
    await world.pager.open(incident_id)
    for step in (FIRST, Step(0, 1), Step(1, 0)):
        await world.pager.escalate(incident_id, step)
    before = sent(world)
    scheduled = len(world.scheduler.jobs)
    world.clock.advance(timedelta(hours=1))

    await world.pager.escalate(incident_id, Step(1, 1))
    await world.pager.escalate(incident_id, Step(1, 1))

    assert sent(world) == before
    assert len(before) == 8  # alice twice by two channels, bob and carol twice by one
    assert len(world.scheduler.jobs) == scheduled
    exhausted = await world.timeline(incident_id, TimelineKind.POLICY_EXHAUSTED)
    assert [(e.at, e.level, e.round) for e in exhausted] == [(world.clock(), None, None)]
    assert len(await world.timeline(incident_id, TimelineKind.ESCALATED)) == 3
    assert (await world.incident(incident_id)).status is IncidentStatus.TRIGGERED


async def test_a_single_level_policy_is_exhausted_after_its_level(world: World) -> None:
    incident_id = await world.open("db")
    await world.pager.open(incident_id)
    assert sent(world) == [("mail", "page", "dave", 1)]

    await world.pager.escalate(incident_id, FIRST)

    assert sent(world) == [("mail", "page", "dave", 1)]
    assert len(await world.timeline(incident_id, TimelineKind.POLICY_EXHAUSTED)) == 1
    assert world.scheduler.jobs == [escalation(incident_id, FIRST, LEVEL_1_TIMEOUT)]


async def test_a_retryable_failure_is_retried_until_the_limit(world: World) -> None:
    world.hook.fail("alice", retryable=True)
    incident_id = await world.open()

    await world.pager.open(incident_id)

    assert sent(world) == [("mail", "page", "alice", 1)]
    failed = await world.timeline(incident_id, TimelineKind.PAGE_FAILED)
    assert [(e.person, e.channel, e.detail) for e in failed] == [
        ("alice", "hook", "mailbox unavailable")
    ]
    assert world.scheduler.jobs == [
        retry(incident_id, FIRST, 1),
        escalation(incident_id, FIRST, LEVEL_1_TIMEOUT),
    ]

    # The retry jobs run, as the scheduler would run them: only the failed send is retried.
    for attempt in range(1, MAX_TRIES):
        world.clock.advance(backoff(incident_id, attempt))
        await world.pager.page(incident_id, FIRST, attempt)

    assert sent(world) == [("mail", "page", "alice", 1)]
    assert len(world.hook.attempts) == MAX_TRIES
    retries = [j for j in world.scheduler.jobs if j.job == "retry_page"]
    assert retries == [retry(incident_id, FIRST, a) for a in range(1, MAX_TRIES)]
    # The first failure and the last are written down, the tries between only counted.
    failed = await world.timeline(incident_id, TimelineKind.PAGE_FAILED)
    assert [e.detail for e in failed] == [
        "mailbox unavailable",
        f"mailbox unavailable (try {MAX_TRIES})",
    ]
    # Alice was reached by mail: nobody is unreachable, the level waits for its timer.
    assert not await world.timeline(incident_id, TimelineKind.UNREACHABLE)
    assert {j for j in world.scheduler.jobs if j.job == "escalate"} == {
        escalation(incident_id, FIRST, LEVEL_1_TIMEOUT)
    }
    # The first page was by mail at once; a later success is not "first page" latency.
    assert world.registry.get_sample_value("tocsin_alert_to_first_page_seconds_count") == 1


async def test_a_page_that_reached_everyone_reads_no_earlier_deliveries(
    world: World, redis: Redis
) -> None:
    """Earlier runs matter only for someone this run did not reach: one who was reached now
    is not unreachable whatever came before, so the page reads nothing more."""
    incident_id = await world.open()
    world.mail.fail("alice", retryable=False)  # reached by the webhook all the same
    await redis.config_resetstat()

    await world.pager.open(incident_id)

    assert sent(world) == [("hook", "page", "alice", 1)]
    # The one hash read is of the silences, which can change at any time.
    assert await calls(redis, "hgetall") == 1
    assert not await world.timeline(incident_id, TimelineKind.UNREACHABLE)


async def calls(redis: Redis, command: str) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_a_retry_that_gets_through_stops_retrying(world: World) -> None:
    world.hook.fail("alice", retryable=True, times=1)
    incident_id = await world.open()
    await world.pager.open(incident_id)
    world.clock.advance(backoff(incident_id, 1))

    await world.pager.page(incident_id, FIRST, 1)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]
    assert [j.attempt for j in world.scheduler.jobs if j.job == "retry_page"] == [1]
    assert paged(await world.timeline(incident_id, TimelineKind.PAGED)) == [
        ("alice", "hook", 1, 0),
        ("alice", "mail", 1, 0),
    ]


async def test_a_level_nobody_could_reach_escalates_at_once(world: World) -> None:
    world.mail.fail("alice", retryable=False)
    world.hook.fail("alice", retryable=False)
    incident_id = await world.open()

    await world.pager.open(incident_id)

    # No retry of a permanent failure; level 2 is paged without waiting for level 1's timer.
    assert sent(world) == [("hook", "page", "carol", 2), ("mail", "page", "bob", 2)]
    assert len(await world.timeline(incident_id, TimelineKind.PAGE_FAILED)) == 2
    unreachable = await world.timeline(incident_id, TimelineKind.UNREACHABLE)
    assert [(e.person, e.level, e.detail) for e in unreachable] == [
        ("alice", 1, "every way failed: hook, mail")
    ]
    escalated = await world.timeline(incident_id, TimelineKind.ESCALATED)
    assert [(e.level, e.detail) for e in escalated] == [(2, "nobody at level 1 could be reached")]
    assert [j.job for j in world.scheduler.jobs] == ["escalate", "escalate"]
    assert world.registry.get_sample_value("tocsin_alert_to_first_page_seconds_count") == 0
    assert (
        world.registry.get_sample_value(
            "tocsin_notifications_total", {"channel": "hook", "kind": "page", "result": "failed"}
        )
        == 1
    )

    # Level 1's timer runs later: the escalation is recorded once, nobody paged twice.
    await world.pager.escalate(incident_id, FIRST)
    await world.pager.page(incident_id, FIRST, 1)
    assert len(sent(world)) == 2
    assert len(await world.timeline(incident_id, TimelineKind.ESCALATED)) == 1
    assert len(await world.timeline(incident_id, TimelineKind.UNREACHABLE)) == 1


async def test_a_level_whose_schedule_has_a_gap_escalates_at_once(
    redis: Redis, clock: ManualClock
) -> None:
    evenings = Layer(
        every=timedelta(weeks=1),
        handoff=datetime(2026, 3, 2, 9),
        members=["alice"],
        restrictions=[WeeklyTimes(start="18:00", end="23:00")],
    )
    gap = Schedule(name="primary", timezone="UTC", layers=[evenings])  # nobody at noon
    world = make_world(redis, clock)
    world.pager.directory = replace(DIRECTORY, schedules={"primary": gap})
    incident_id = await world.open()

    await world.pager.open(incident_id)

    assert sent(world) == [("hook", "page", "carol", 2), ("mail", "page", "bob", 2)]
    escalated = await world.timeline(incident_id, TimelineKind.ESCALATED)
    assert [(e.level, e.detail) for e in escalated] == [
        (2, "level 1 pages nobody (a gap in its schedules)")
    ]


async def test_someone_reached_keeps_the_level_waiting_for_its_timer(world: World) -> None:
    world.mail.fail("bob", retryable=False)
    incident_id = await world.open()
    await world.pager.open(incident_id)

    await world.pager.escalate(incident_id, FIRST)

    # Bob could not be reached, Carol was: level 2 waits for its acknowledgement.
    unreachable = await world.timeline(incident_id, TimelineKind.UNREACHABLE)
    assert [(e.person, e.level) for e in unreachable] == [("bob", 2)]
    assert len(await world.timeline(incident_id, TimelineKind.ESCALATED)) == 1
    assert world.scheduler.jobs[-1] == escalation(incident_id, Step(0, 1), LEVEL_2_TIMEOUT)


async def test_a_channel_that_raises_is_a_failed_send_not_a_failed_page(world: World) -> None:
    world.hook.broken = True
    incident_id = await world.open()

    await world.pager.open(incident_id)
    await world.pager.open(incident_id)  # the event, redelivered

    # Mail got through once; the escalation timer still started.
    assert sent(world) == [("mail", "page", "alice", 1)]
    assert world.scheduler.jobs[0] == escalation(incident_id, FIRST, LEVEL_1_TIMEOUT)
    failed = await world.timeline(incident_id, TimelineKind.PAGE_FAILED)
    assert [(e.person, e.channel) for e in failed] == [("alice", "hook")] * 2
    assert failed[0].detail is not None
    assert "bug in channel" in failed[0].detail
    assert all(j.job == "escalate" for j in world.scheduler.jobs)


async def test_resolved_tells_exactly_the_people_paged_once(world: World, redis: Redis) -> None:
    world.hook.fail("carol", retryable=False)  # carol is never reached
    incident_id = await world.open()
    await world.pager.open(incident_id)
    await world.pager.escalate(incident_id, FIRST)
    pages = sent(world)
    world.clock.advance(timedelta(minutes=3))
    change = await world.store.apply_alert(
        alert(world.clock(), "payments", AlertStatus.RESOLVED), ROUTING
    )
    assert change.incident is not None
    assert change.incident.status is IncidentStatus.RESOLVED

    await world.pager.resolved(incident_id)
    await world.pager.resolved(incident_id)

    notices = [s for s in sent(world) if s not in pages]
    assert notices == [
        ("hook", "resolved", "alice", None),
        ("mail", "resolved", "alice", None),
        ("mail", "resolved", "bob", None),
    ]
    assert all(n.ack_url is None for n in world.delivered if n.kind == "resolved")
    assert all(n.status is IncidentStatus.RESOLVED for n in world.delivered if n.kind == "resolved")
    events = await world.timeline(incident_id, TimelineKind.RESOLVED_NOTICE)
    assert sorted((e.person, e.channel, e.at) for e in events) == [
        ("alice", "hook", world.clock()),
        ("alice", "mail", world.clock()),
        ("bob", "mail", world.clock()),
    ]
    # Nothing pages after the resolution, whatever timer fires late.
    await world.pager.escalate(incident_id, Step(0, 1))
    await world.pager.page(incident_id, FIRST, attempt=1)
    assert [s for s in sent(world) if s not in pages] == notices


async def test_the_ack_link_is_signed_for_the_person_paged(world: World) -> None:
    incident_id = await world.open()
    await world.pager.open(incident_id)
    await world.pager.escalate(incident_id, FIRST)
    now = world.clock()
    incident = await world.incident(incident_id)

    for note in world.delivered:
        assert note.ack_url is not None
        prefix = f"{PUBLIC_URL}/ack/"
        assert note.ack_url.startswith(prefix + "v2.")
        claims = verify_link(SECRET, note.ack_url.removeprefix(prefix), now)
        assert (claims.incident_id, claims.person) == (incident_id, note.person)
        # Bound to this incident, not to any other that gets its id; no fixed expiry.
        assert claims.is_for(incident.created_at)
        assert not claims.is_for(incident.created_at + timedelta(milliseconds=1))
        assert (claims.expires_at, claims.actions) == (None, EVERY_ACTION)
        with pytest.raises(InvalidLink):
            verify_link(b"another secret, same length!!!!!", note.ack_url.removeprefix(prefix), now)
    assert {n.person for n in world.delivered} == {"alice", "bob", "carol"}
    # Alice's two channels carry the same link; bob's is his own.
    alice = {n.ack_url for n in world.delivered if n.person == "alice"}
    bob = {n.ack_url for n in world.delivered if n.person == "bob"}
    assert len(alice) == 1
    assert len(bob) == 1
    assert alice != bob


async def test_paging_a_missing_incident_does_nothing(world: World) -> None:
    await world.pager.open("404")
    await world.pager.escalate("404", FIRST)
    await world.pager.resolved("404")

    assert world.delivered == []
    assert world.scheduler.jobs == []
