"""Group commit: the appends of concurrent webhooks written to the stream together.

One append per request pays a round trip, a script call and, with ``TOCSIN_DURABILITY``, a
``WAIT`` each; under load the web process spends more time on those than on the requests.
Each web process has one ``GroupCommit``: when nothing is being written, a request's alerts
are written at once (no timer, so an idle service adds no latency); while a write is in
flight, the requests that arrive meanwhile gather and go together in the next one, up to
``max_batch`` entries. A busy service thus writes bigger batches, not more of them.

A 202 still means "committed": each request waits for the write that holds its alerts. A
batch is one script (``TypedStream.append_serialized``), so it lands whole or not at all,
and when it fails every request in it gets the error (a 503): none is acknowledged while
another in its batch is not. A request's alerts stay together and in their order. A request
that stops waiting (its sender went away) is dropped if its batch has not started; if it has,
its alerts are stored, which the sender's resend deduplicates.
"""

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from ingest.stream import TypedStream

M = TypeVar("M", bound=BaseModel)
M_contra = TypeVar("M_contra", bound=BaseModel, contravariant=True)

MAX_BATCH = 1000
"""Entries in one write. A script's arguments live in the store's memory until it returns;
a thousand ~1 KB alerts is a megabyte and a few milliseconds of the store's time."""


class Appends(Protocol[M_contra]):
    """Where the webhooks put what they accept: ``TypedStream`` or a ``GroupCommit``."""

    async def append(self, items: Sequence[M_contra]) -> list[str]: ...


@dataclass
class _Request:
    payloads: list[str]
    ids: asyncio.Future[list[str]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit(Generic[M]):
    def __init__(self, stream: TypedStream[M], *, max_batch: int = MAX_BATCH) -> None:
        self._stream = stream
        self._max_batch = max_batch
        self._waiting: deque[_Request] = deque()
        self._writer: asyncio.Task[None] | None = None

    async def append(self, items: Sequence[M]) -> list[str]:
        """Like ``TypedStream.append``: the ids once the items are written (as durably as
        the stream asks), or the error of the write that held them."""
        request = _Request([item.model_dump_json() for item in items])
        self._waiting.append(request)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await request.ids

    async def _write_all(self) -> None:
        batch: list[_Request] = []
        try:
            while self._waiting:
                batch = self._next_batch()
                if batch:
                    await self._write(batch)
        finally:
            self._writer = None
            # Cancelled (the process is stopping): nobody may wait for a write that is gone.
            for request in (*batch, *self._waiting):
                request.ids.cancel()
            self._waiting.clear()

    def _next_batch(self) -> list[_Request]:
        """Whole requests, oldest first, up to ``max_batch`` entries (at least one request,
        however large); requests nobody waits for any more are left out."""
        batch: list[_Request] = []
        entries = 0
        while self._waiting:
            request = self._waiting[0]
            if request.ids.done():
                self._waiting.popleft()
                continue
            if batch and entries + len(request.payloads) > self._max_batch:
                break
            batch.append(self._waiting.popleft())
            entries += len(request.payloads)
        return batch

    async def _write(self, batch: list[_Request]) -> None:
        try:
            ids = await self._stream.append_serialized(
                [payload for request in batch for payload in request.payloads]
            )
        except Exception as error:
            for request in batch:
                if not request.ids.done():
                    request.ids.set_exception(error)
        else:
            start = 0
            for request in batch:
                end = start + len(request.payloads)
                if not request.ids.done():
                    request.ids.set_result(ids[start:end])
                start = end
