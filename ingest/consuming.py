"""Consuming a stream entry by entry, so that no entry can stop the others and no store
outage can stop the consumer.

- Each entry is handled on its own. One that fails stays pending and is retried after a
  pause while the entries behind it go on; one that fails ``max_deliveries`` times, or with
  an error that cannot get better (its data is wrong), or that does not even parse, moves to
  the stage's dead letters with its error.
- A store outage (connection refused, timeout, failover) is not the entry's fault: the step
  stops, its entries stay pending, and the loop waits with a growing pause and resumes when
  the store is back. Nothing exits.

A stage reads a batch and handles it whole (the router: a batch costs few round trips), or,
with ``Overlapping``, keeps reading while earlier entries are still being handled and
acknowledges each as soon as it is done: the stage that pages must not let one slow channel
hold back the next incident's first page.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import BaseModel
from redis.exceptions import ConnectionError as StoreConnectionError
from redis.exceptions import ReadOnlyError, ResponseError, WatchError
from redis.exceptions import TimeoutError as StoreTimeoutError

from ingest.clock import Clock
from ingest.deadletters import DeadLetters
from ingest.in_flight import InFlight
from ingest.stream import Entry, TypedStream

M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

MAX_DELIVERIES = 5
BATCH = 100
"""Entries read at once; a batch is handled in as few round trips as the stage can."""
READ_ROOM = 4
"""Overlapping, a read waits for a ``READ_ROOM``-th of the entries in flight to end, so a
full consumer reads a few at a time; one that is not full reads at once."""
RECOVERY_EVERY = timedelta(seconds=1)
"""How often a consumer looks for its own failed entries and for abandoned ones."""
RETRY_AFTER = timedelta(seconds=2)
"""Pause before a failed entry is handed out again."""
BACKOFF_FIRST = timedelta(milliseconds=250)
BACKOFF_MAX = timedelta(seconds=5)

_STORE_OUTAGES = (
    StoreConnectionError,  # refused, reset, BusyLoadingError (a restarted store loading)
    StoreTimeoutError,
    ReadOnlyError,  # a primary demoted by a failover, until the client follows the new one
    OSError,
    TimeoutError,
)
_CANNOT_GET_BETTER = (ValueError, TypeError, ArithmeticError)
"""The entry's data is wrong (ValidationError, OverflowError, ...): retrying changes nothing."""


def store_outage(error: BaseException) -> bool:
    if isinstance(error, WatchError):
        # redis-py reports a connection lost while keys are watched (arq claiming a job) as
        # a conflict, raised while handling the connection error.
        return error.__context__ is not None and store_outage(error.__context__)
    return isinstance(error, _STORE_OUTAGES)


Handler = Callable[[M, str], Awaitable[None]]
"""Handles one entry's model, given its id; raises to leave it pending."""
Outcomes = list[BaseException | None]
BatchHandler = Callable[[Sequence[Entry[M]]], Awaitable[Outcomes]]
"""Handles readable entries together (one round trip for a batch): for each, ``None`` when
handled, else its error. A store outage may also be raised for the whole batch."""


@dataclass(frozen=True)
class Overlapping(Generic[M]):
    """Hand entries to ``handle`` while more are read: at most ``limit`` in flight, the
    entries of one key (an incident) in turn and in stream order (see ``in_flight``)."""

    handle: Handler[M]
    key: Callable[[M], str]
    limit: int


Buried = Callable[[Entry[M], str], Awaitable[None]]
"""Told after an entry went to the dead letters, with the error (to alert someone)."""


class StreamConsumer(Generic[M]):
    def __init__(
        self,
        stream: TypedStream[M],
        group: str,
        consumer: str,
        handle: BatchHandler[M] | Overlapping[M],
        dead_letters: DeadLetters,
        clock: Clock,
        registry: CollectorRegistry,
        *,
        stage: str,
        buried: Buried[M] | None = None,
        block: timedelta = timedelta(seconds=1),
        max_deliveries: int = MAX_DELIVERIES,
        retry_after: timedelta = RETRY_AFTER,
        claim_idle: timedelta = timedelta(seconds=60),
        batch: int = BATCH,
    ) -> None:
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.handle = handle
        self.dead_letters = dead_letters
        self.clock = clock
        self.stage = stage
        self.buried = buried
        self.block = block
        self.max_deliveries = max_deliveries
        self.retry_after = retry_after
        self.claim_idle = claim_idle
        self.batch = batch
        self._group_ready = False
        self._next_recovery = datetime.min.replace(tzinfo=UTC)
        self._in_flight = (
            InFlight(self._one, handle.key, limit=handle.limit)
            if isinstance(handle, Overlapping)
            else None
        )
        self._done = 0
        """Entries done with (handled or buried) since a step last said how many."""
        self._halted: BaseException | None = None
        """What stopped the entries in flight (the store went away): raised by the next step."""
        metrics = _metrics(registry)
        self._dead, self._lag = metrics.dead, metrics.lag
        self._dead.labels(stage)
        self._lag.labels(stage)

    async def run(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(*_STORE_OUTAGES):  # else the first step tries again
            await self._ensure_group()
        what = f"{self.stage} ({self.consumer}): reading {self.stream.key}"
        if self._in_flight is None:
            await consume(stop, self.step, what=what)
            return
        try:
            await consume(stop, functools.partial(self._overlap, stop), what=what)
            # No more reading; what is in flight finishes within the stop's grace period.
            with contextlib.suppress(Exception):  # what failed stays pending
                await self.drain()
        finally:
            await self._in_flight.cancel()

    async def step(self) -> int:
        """Handle one batch; returns how many entries are done with (handled or buried).
        Overlapping: start the entries read (once fewer than the limit are in flight) and
        return how many were done with since the last step or ``drain``."""
        if self._in_flight is not None:
            return await self._overlap(None)
        ready = await self._read(self.batch)
        assert not isinstance(self.handle, Overlapping)
        outcomes = await self.handle(ready) if ready else []
        handled = [entry.id for entry, error in zip(ready, outcomes, strict=True) if error is None]
        # Even when the store went away mid-batch: what is done must not be redone.
        with contextlib.suppress(*_STORE_OUTAGES):
            await self.stream.ack(self.group, handled)
        outage = next((e for e in outcomes if e is not None and store_outage(e)), None)
        if outage is not None:
            raise outage
        for entry, failure in zip(ready, outcomes, strict=True):
            if failure is not None and self._gives_up(entry, failure):
                await self._bury(entry, f"{type(failure).__name__}: {failure}")
                self._done += 1
        return self._said_done(len(handled))

    async def drain(self) -> int:
        """Wait for the entries in flight; returns how many entries were done with since the
        last step. Raises what stopped them (a store outage); those entries stay pending."""
        assert self._in_flight is not None
        await self._in_flight.wait_all()
        halted, self._halted = self._halted, None
        if halted is not None:
            raise halted
        return self._said_done(0)

    async def _overlap(self, stop: asyncio.Event | None) -> int:
        assert self._in_flight is not None
        # While it is full, reading as each entry ends would read one at a time: a read (and
        # an acknowledgement) per entry, nearly doubling the cost of an entry in a backlog.
        await self._in_flight.wait_for_room(max(self._in_flight.limit // READ_ROOM, 1))
        if self._halted is None and not (stop is not None and stop.is_set()):
            busy = self._in_flight.ids
            ready = await self._read(min(self.batch, self._in_flight.room), busy=busy)
            self._in_flight.start(ready)
        if self._halted is not None:
            # The store went away: take nothing new, let what is in flight end, then let
            # the loop wait for the store.
            return await self.drain()
        return self._said_done(0)

    async def _one(self, entry: Entry[M]) -> None:
        """Handle one entry in flight and settle it: acknowledged, left pending to be
        retried, or buried. Keeps its errors: the next step raises what halted it."""
        assert isinstance(self.handle, Overlapping)
        assert entry.model is not None
        if self._halted is not None:
            return  # it would fail the same way; it stays pending
        try:
            await self.handle.handle(entry.model, entry.id)
        except Exception as error:
            failure: Exception | None = error
        else:
            failure = None
        try:
            if failure is None:
                await self.stream.ack(self.group, [entry.id])
                self._done += 1
            elif store_outage(failure):
                raise failure
            elif self._gives_up(entry, failure):
                await self._bury(entry, f"{type(failure).__name__}: {failure}")
                self._done += 1
        except Exception as error:
            self._halted = self._halted or error

    async def _read(self, count: int, *, busy: Collection[str] = frozenset()) -> list[Entry[M]]:
        """Up to ``count`` entries to handle; buries those not worth trying."""
        await self._ensure_group()
        try:
            now = self.clock()
            recover = now >= self._next_recovery
            entries = await self.stream.read(
                self.group,
                self.consumer,
                count=count,
                block=self.block,
                retry_after=self.retry_after,
                claim_idle=self.claim_idle,
                recover=recover,
                busy=busy,
            )
            if recover:
                # Failed and abandoned entries wait that long anyway: looking for them on
                # every read would only add round trips.
                self._next_recovery = now + min(self.retry_after, RECOVERY_EVERY)
        except ResponseError as error:
            if "NOGROUP" in str(error):
                # The store came back without our data (restarted with no persistence, or
                # flushed): create the group again rather than fail forever.
                self._group_ready = False
            raise
        self._lag.labels(self.stage).set(_lag(entries, now))
        ready = []
        for entry in entries:
            reason = self._hopeless(entry)
            if reason is None:
                ready.append(entry)
            else:
                await self._bury(entry, reason)
                self._done += 1
        return ready

    def _said_done(self, more: int) -> int:
        done, self._done = self._done + more, 0
        return done

    async def _ensure_group(self) -> None:
        if not self._group_ready:
            await self.stream.ensure_group(self.group)
            self._group_ready = True

    def _hopeless(self, entry: Entry[M]) -> str | None:
        """Why the entry goes to the dead letters without being tried, if it does."""
        if entry.model is None:
            return f"unreadable entry: {entry.error}"
        if entry.deliveries > self.max_deliveries:
            # Handed out this often without an acknowledgement: it failed every time, or it
            # takes down whoever handles it.
            return f"handed out {entry.deliveries - 1} times without being handled"
        return None

    def _gives_up(self, entry: Entry[M], error: BaseException) -> bool:
        """Whether a failed entry is buried now, or left pending to be retried."""
        last = isinstance(error, _CANNOT_GET_BETTER) or entry.deliveries >= self.max_deliveries
        log.error(
            "%s: entry %s failed (try %d of %d)%s",
            self.stage,
            entry.id,
            entry.deliveries,
            self.max_deliveries,
            "" if last else f"; retrying in {self.retry_after}",
            exc_info=error,
        )
        return last

    async def _bury(self, entry: Entry[M], reason: str) -> None:
        dead_id = await self.dead_letters.bury(
            self.stream.key, self.group, entry, reason, self.clock()
        )
        self._dead.labels(self.stage).inc()
        log.error(
            "%s: entry %s moved to the dead letters as %s (%s); replay with "
            "`tocsin dead-letters replay %s`",
            self.stage,
            entry.id,
            dead_id,
            reason,
            dead_id,
        )
        if self.buried is not None:
            await self.buried(entry, reason)


def _lag(entries: Sequence[Entry[M]], now: datetime) -> float:
    """How old the newest entry read was, in seconds: its id is the time it was added (ms).
    A consumer that keeps up reads entries moments old, or none (0); one that falls behind
    reads ever older ones. Never below 0, whatever the clocks say."""
    if not entries:
        return 0.0
    added_ms = max(int(entry.id.partition("-")[0]) for entry in entries)
    return max(now.timestamp() - added_ms / 1000, 0.0)


@dataclass(frozen=True)
class _Metrics:
    dead: Counter
    lag: Gauge


_METRICS: "WeakKeyDictionary[CollectorRegistry, _Metrics]" = WeakKeyDictionary()


def _metrics(registry: CollectorRegistry) -> _Metrics:
    """One set per registry: the router and the notifier of one process share it."""
    if registry not in _METRICS:
        _METRICS[registry] = _Metrics(
            dead=Counter(
                "tocsin_dead_letters",
                "Entries moved to the dead letters, by stage.",
                ["stage"],
                registry=registry,
            ),
            lag=Gauge(
                "tocsin_stream_lag_seconds",
                "Age of the newest entry a stage last read from its stream (0: none waiting).",
                ["stage"],
                registry=registry,
            ),
        )
    return _METRICS[registry]


async def consume(
    stop: asyncio.Event,
    step: Callable[[], Awaitable[object]],
    *,
    what: str,
    backoff_first: timedelta = BACKOFF_FIRST,
    backoff_max: timedelta = BACKOFF_MAX,
) -> None:
    """Run ``step`` until ``stop``. After a failed step, pause (doubling up to
    ``backoff_max`` while failures go on), so a store outage of any length neither ends the
    process nor spins; say once when it starts failing and once when it recovers."""
    failures = 0
    while not stop.is_set():
        try:
            await step()
        except Exception as error:
            if not store_outage(error):
                log.exception("%s failed; retrying", what)
            elif not failures:
                log.warning("%s: storage unavailable (%s); waiting for it", what, error)
            pause = min(backoff_max, backoff_first * 2**failures)
            failures = min(failures + 1, 30)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause.total_seconds())
        else:
            if failures:
                log.info("%s: working again", what)
            failures = 0
