"""Running the roles of a process (web, router, worker) in one event loop, started and
stopped together; ``tocsin up`` runs all three, production runs them as separate processes."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from arq.connections import RedisSettings, create_pool

from notifier.channels import Channel
from notifier.channels.console import ConsoleChannel
from notifier.channels.email import EmailChannel
from notifier.channels.webhook import WebhookChannel
from notifier.paging import Links, Pager
from notifier.worker import ArqScheduler, EventConsumer, arq_worker
from router.consumer import Router
from router.store import IncidentStore
from tocsin.app import make_app
from tocsin.runtime import Runtime

log = logging.getLogger(__name__)


class Role(StrEnum):
    WEB = "web"
    ROUTER = "router"
    WORKER = "worker"


@dataclass
class Running:
    url: str
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def wait(self) -> None:
        """Until asked to stop or a role fails (then raise, so the process exits non-zero
        and its supervisor restarts it)."""
        stopper = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait([stopper, *self.tasks], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        for task in done:
            if task is not stopper:
                task.result()
                raise RuntimeError(f"role {task.get_name()} stopped unexpectedly")


@contextlib.asynccontextmanager
async def running(runtime: Runtime, roles: Collection[Role]) -> AsyncIterator[Running]:
    settings = runtime.settings
    stop = asyncio.Event()
    state = Running(url=f"http://{settings.host}:{settings.port}", stop=stop)

    def spawn(name: str, work: Coroutine[Any, Any, None]) -> None:
        state.tasks.append(asyncio.create_task(work, name=name))

    async with contextlib.AsyncExitStack() as stack:
        if Role.WORKER in roles:
            channels = _channels(runtime)
            for channel in channels:
                stack.push_async_callback(channel.aclose)
            pool = await create_pool(
                RedisSettings.from_dsn(runtime.redis_url), default_queue_name="unused"
            )
            stack.push_async_callback(pool.aclose)
            pager = Pager(
                IncidentStore(runtime.redis),
                runtime.loaded.directory,
                channels,
                Links(settings.base_url, runtime.secret, runtime.loaded.config.ack_link_ttl),
                ArqScheduler(pool),
                runtime.clock,
                runtime.registry,
            )
            consumer = EventConsumer(IncidentStore(runtime.redis), pager, runtime.consumer)
            spawn("notifier-events", consumer.run(stop))
            worker = arq_worker(pool, pager, poll_delay=settings.escalation_poll)
            spawn("notifier-timers", worker.async_run())
            stack.push_async_callback(_stop_arq, worker)
        if Role.ROUTER in roles:
            router = Router(
                runtime.redis, runtime.loaded.routing, runtime.consumer, runtime.registry
            )
            spawn("router", router.run(stop))
        if Role.WEB in roles:
            runner = web.AppRunner(make_app(runtime), access_log=None)
            await runner.setup()
            stack.push_async_callback(runner.cleanup)
            await web.TCPSite(runner, settings.host, settings.port).start()
            log.info("listening on %s (links use %s)", state.url, settings.base_url)
        try:
            yield state
        finally:
            stop.set()
            await asyncio.gather(
                *(t for t in state.tasks if t.get_name() != "notifier-timers"),
                return_exceptions=True,
            )


async def _stop_arq(worker: Any) -> None:
    if worker.main_task is not None:
        worker.main_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker.main_task


def _channels(runtime: Runtime) -> list[Channel]:
    channels: list[Channel] = [ConsoleChannel(), WebhookChannel()]
    smtp = runtime.loaded.config.smtp
    if smtp is not None:
        channels.append(EmailChannel(smtp, runtime.clock))
    return channels
