"""Running the roles of a process (web, router, worker) in one event loop, started and
stopped together; ``tocsin up`` runs all three, production runs them as separate processes.

No role ends because the store is away: consumers wait and resume, arq's loop is started
again. Stopping is graceful: readiness goes false, no new work is taken, and what is in
flight finishes within the grace period.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web
from arq import Worker

from ingest.consuming import consume
from ingest.heartbeat_checker import HeartbeatChecker
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeats import heartbeats_of
from notifier.channels import Channel
from notifier.channels.apprise import AppriseChannel
from notifier.channels.chathooks import mattermost, rocketchat
from notifier.channels.console import ConsoleChannel
from notifier.channels.email import EmailChannel
from notifier.channels.slack import SlackChannel
from notifier.channels.teams import TeamsChannel
from notifier.channels.twilio import SmsChannel, VoiceChannel
from notifier.channels.webhook import WebhookChannel
from notifier.paging import Pager
from notifier.sending import Links
from notifier.worker import ArqScheduler, EventConsumer, arq_worker
from router.consumer import Router
from router.store import IncidentStore
from tocsin.app import make_app
from tocsin.autopipeline import AutoPipelined
from tocsin.config import LoadedConfig
from tocsin.health import health_app
from tocsin.reloading import watch
from tocsin.runtime import Runtime
from tocsin.settings import SettingsError

log = logging.getLogger(__name__)


LINGER_SECONDS = 2.0
PROBES_SHUTDOWN_SECONDS = 1.0
"""How long a router or worker lets its HTTP requests in flight finish when it stops: they
are probes and metrics, answered at once. aiohttp waits the whole of it for a connection
accepted as the site closes, whatever its request, so the grace period would make such a
process outlive it."""


class Role(StrEnum):
    WEB = "web"
    ROUTER = "router"
    WORKER = "worker"


@dataclass
class Running:
    url: str
    stop: asyncio.Event
    """Set to begin a graceful stop."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def wait(self) -> None:
        """Until asked to stop or a role fails (then raise, so the process exits non-zero
        and its supervisor restarts it: roles do not end on their own, so that is a bug)."""
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
    tls = runtime.tls if Role.WEB in roles else None
    scheme = "https" if tls else "http"
    state = Running(url=f"{scheme}://{settings.host}:{settings.port}", stop=stop)
    grace = settings.shutdown_grace.total_seconds()

    def spawn(name: str, work: Coroutine[Any, Any, None]) -> None:
        state.tasks.append(asyncio.create_task(work, name=name))

    async with contextlib.AsyncExitStack() as stack:
        # Listen before reading any stream: the port is what makes the stream consumer name
        # (host and port) unique among running processes.
        if Role.WEB in roles:
            app, requests_grace = make_app(runtime), grace
        else:
            app, requests_grace = health_app(runtime), min(grace, PROBES_SHUTDOWN_SECONDS)
        # lingering_time: after refusing a body (413, 408) aiohttp reads the rest of it away
        # for this long; a slow sender should not hold a connection 10 s for nothing.
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=requests_grace, lingering_time=LINGER_SECONDS
        )
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        try:
            await web.TCPSite(runner, settings.host, settings.port, ssl_context=tls).start()
        except OSError as error:
            raise SettingsError(
                f"cannot listen on {settings.host}:{settings.port}: {error.strerror}; "
                "choose another --port"
            ) from None
        loaded = runtime.config.current
        if Role.WEB in roles:
            # Even with no heartbeat configured: an edit may add one.
            heartbeats = heartbeats_of(loaded.config.integrations)
            store = HeartbeatStore(runtime.redis)
            checker = HeartbeatChecker(store, heartbeats, runtime.clock, runtime.registry)

            def check_by(new: LoadedConfig) -> None:
                checker.configure(heartbeats_of(new.config.integrations))

            runtime.config.subscribe(check_by)
            spawn("heartbeats", checker.run(stop))
        worker: Worker | None = None
        if Role.WORKER in roles:
            links = Links(settings.base_url, runtime.secret)
            channels = _channels(runtime, links)
            for channel in channels:
                stack.push_async_callback(channel.aclose)
            # Pages pipeline their commands, and so do the event consumer's acknowledgements
            # (one per event); blocking reads (of the event stream, of arq's queue) go on
            # pooled connections of their own.
            piped = AutoPipelined(runtime.redis)
            stack.push_async_callback(piped.aclose)
            pager = Pager(
                IncidentStore(piped),
                loaded.directory,
                channels,
                links,
                ArqScheduler(piped),
                runtime.clock,
                runtime.registry,
                name=runtime.consumer,
            )
            consumer = EventConsumer(
                IncidentStore(piped), pager, runtime.consumer, runtime.registry
            )

            def page_by(new: LoadedConfig) -> None:
                pager.directory = new.directory

            runtime.config.subscribe(page_by)
            spawn("notifier-events", consumer.run(stop))
            worker = arq_worker(runtime.redis, pager, poll_delay=settings.escalation_poll)
            spawn("notifier-timers", _run_arq(worker, stop))
        if Role.ROUTER in roles:
            router = Router(
                runtime.redis,
                loaded.routing,
                runtime.consumer,
                runtime.registry,
                runtime.clock,
            )

            def route_by(new: LoadedConfig) -> None:
                # A new routing object: the store works its script arguments out anew.
                router.routing = new.routing

            runtime.config.subscribe(route_by)
            spawn("router", router.run(stop))
        spawn("config-watch", watch(runtime.config, stop))
        log.info("%s listening on %s", "+".join(roles), state.url)
        try:
            yield state
        finally:
            # Readiness first, so a load balancer stops sending while the rest finishes.
            runtime.draining.set()
            stop.set()
            if worker is not None:
                worker.allow_pick_jobs = False
            await _finish(state.tasks, worker, grace)


async def _run_arq(worker: Worker, stop: asyncio.Event) -> None:
    """arq's poll loop ends on the first store error; start it again until stopped."""

    async def poll() -> None:
        await worker.async_run()

    await consume(stop, poll, what="notifier: escalation timers")


async def _finish(tasks: list[asyncio.Task[None]], worker: Worker | None, grace: float) -> None:
    """Let consumers end what they are handling and running jobs complete, within ``grace``
    seconds; then cancel whatever is left (its entries stay pending and are handled again)."""
    consumers = [t for t in tasks if t.get_name() != "notifier-timers"]
    jobs = list(worker.tasks.values()) if worker is not None else []
    pending = [*consumers, *jobs]
    if pending:
        _, late = await asyncio.wait(pending, timeout=grace)
        for task in late:
            log.warning("stopping %s: still running after the grace period", task.get_name())
            task.cancel()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, *jobs, return_exceptions=True)


def _channels(runtime: Runtime, links: Links) -> list[Channel]:
    config = runtime.config.current.config
    webhook = WebhookChannel(runtime.clock, default_secret=config.webhook_secret)

    def sign_by(new: LoadedConfig) -> None:
        webhook.default_secret = new.config.webhook_secret

    runtime.config.subscribe(sign_by)
    channels: list[Channel] = [
        ConsoleChannel(),
        webhook,
        SlackChannel(config.slack),
        TeamsChannel(),
        mattermost(),
        rocketchat(),
        AppriseChannel(),
    ]
    if config.smtp is not None:
        channels.append(EmailChannel(config.smtp, runtime.clock))
    if config.twilio is not None:
        channels += [SmsChannel(config.twilio, links), VoiceChannel(config.twilio, links)]
    return channels
