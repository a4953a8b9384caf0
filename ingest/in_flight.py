"""Entries being handled while more are read.

A stage whose entries mostly wait (a page waits on a channel's server) should not make a
new entry wait for the slowest of the ones read before it. Here each key (an incident) has
a lane: an entry whose key has one in flight queues behind it, so a key's entries are
handled in the order they were read, while other keys' entries start at once. At most
``limit`` entries are in flight, queued ones included, so a burst on one key cannot make the
reader take without bound. What handling an entry means (acknowledging, retrying, burying)
is the caller's ``work``; nothing here touches the store.
"""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel

from ingest.stream import Entry

M = TypeVar("M", bound=BaseModel)


class InFlight(Generic[M]):
    def __init__(
        self,
        work: Callable[[Entry[M]], Awaitable[None]],
        key: Callable[[M], str],
        *,
        limit: int,
    ) -> None:
        """``work`` handles one entry and never raises (it keeps its own errors)."""
        self._work = work
        self._key = key
        self.limit = limit
        self.ids: set[str] = set()
        """Entries taken and not yet done with: the reader must not hand them out again."""
        self._lanes: dict[str, deque[Entry[M]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    @property
    def room(self) -> int:
        return max(self.limit - len(self.ids), 0)

    def start(self, entries: Sequence[Entry[M]]) -> None:
        for entry in entries:
            assert entry.model is not None
            self.ids.add(entry.id)
            key = self._key(entry.model)
            if key in self._lanes:
                self._lanes[key].append(entry)
                continue
            self._lanes[key] = deque([entry])
            task = asyncio.create_task(self._lane(key), name=f"lane {key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait_for_room(self, at_least: int = 1) -> None:
        """Until ``at_least`` more entries (at most ``limit``) may be taken."""
        while self.room < min(at_least, self.limit):
            self._changed.clear()
            await self._changed.wait()

    async def wait_all(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def cancel(self) -> None:
        """Stop every lane where it is: what was not done with stays pending."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _lane(self, key: str) -> None:
        queue = self._lanes[key]
        try:
            while queue:
                await self._work(queue[0])
                self.ids.discard(queue.popleft().id)
                self._changed.set()
        finally:
            # Reached with an empty queue unless cancelled; no turn of the loop between
            # the last check and here, so no entry can join a lane that is ending.
            self.ids.difference_update(entry.id for entry in queue)
            del self._lanes[key]
            self._changed.set()
