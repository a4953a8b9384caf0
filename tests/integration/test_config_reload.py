"""A running router and notifier take up an edited configuration: the next alert is routed
by the new routes, the next page goes to whoever the new schedule puts on call, and both
write down the configuration version they used. The router and notifier are subscribed to
the holder as ``tocsin.service`` subscribes them; the test moves the clock."""

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from notifier.paging import Pager
from notifier.sending import Links
from notifier.worker import EventConsumer
from router import keys
from router.consumer import Router
from router.models import Incident, TimelineKind
from router.store import IncidentStore
from tests.conftest import ManualClock
from tests.e2e.conftest import eventually
from tests.integration.test_paging import PUBLIC_URL, SECRET, RecordingChannel, alert
from tests.integration.timers import Timers, Worker
from tocsin.config import LoadedConfig, load_config
from tocsin.health import health_app
from tocsin.reloading import ConfigHolder, watch
from tocsin.runtime import Runtime
from tocsin.settings import Settings

ROOT = """\
people:
  alice: {name: Alice, webhook: "https://hooks.test/alice"}
  bob: {name: Bob, webhook: "https://hooks.test/bob"}
schedules_dir: schedules
escalation_policies:
  primary: {repeat: 1, levels: [{targets: [schedule:primary], ack_timeout: 5m}]}
routes:
  - {name: payments, match: {service: payments}, policy: primary}
"""
DATABASE_ROUTE = "  - {name: database, match: {service: db}, policy: primary}\n"
ROTATION = """\
name: primary
timezone: UTC
rotation: {every: 1w, handoff: "2026-01-05 09:00", members: [%s]}
"""
ACK_TIMEOUT = timedelta(minutes=5)


def write(directory: Path, on_call: str = "alice", root: str = ROOT) -> Path:
    (directory / "schedules").mkdir(exist_ok=True)
    (directory / "schedules" / "primary.yaml").write_text(ROTATION % on_call)
    (directory / "tocsin.yaml").write_text(root)
    return directory / "tocsin.yaml"


@dataclass
class Service:
    config: ConfigHolder
    router: Router
    worker: Worker
    hook: RecordingChannel
    store: IncidentStore
    clock: ManualClock
    directory: Path

    async def fire(self, service: str) -> list[Incident]:
        """The incidents the alert opened, once every page it sets off is out."""
        await self.router.alerts.append([alert(self.clock(), service)])
        await self.router.step()
        await self.worker.settle()
        return [i for i in await self.store.list() if i.title.endswith(service)]

    async def timeline(self, incident: Incident, kind: TimelineKind) -> list[tuple[str, str]]:
        events = await self.store.timeline(incident.id)
        return [(e.person or "", e.detail or "") for e in events if e.kind is kind]


@pytest.fixture
async def service(redis: Redis, clock: ManualClock, tmp_path: Path) -> Service:
    registry = CollectorRegistry()
    config = ConfigHolder(load_config(write(tmp_path)), registry)
    store = IncidentStore(redis)
    timers = Timers(clock)
    hook = RecordingChannel("hook", lambda p: p.webhook is not None)
    links = Links(PUBLIC_URL, SECRET)
    loaded = config.current
    pager = Pager(store, loaded.directory, [hook], links, timers, clock, registry)
    router = Router(redis, loaded.routing, "r1", registry, clock, block=timedelta(milliseconds=1))
    await router.alerts.ensure_group(keys.CONSUMER_GROUP)

    def take_up(new: LoadedConfig) -> None:
        pager.directory = new.directory
        router.routing = new.routing

    config.subscribe(take_up)
    consumer = EventConsumer(store, pager, "w1", registry, block=timedelta(milliseconds=1))
    return Service(config, router, Worker(consumer, timers), hook, store, clock, tmp_path)


async def test_the_router_takes_up_a_new_route(service: Service) -> None:
    assert await service.fire("db") == []  # no route for it yet
    before = service.config.version
    write(service.directory, root=ROOT + DATABASE_ROUTE)

    assert service.config.reload()
    [incident] = await service.fire("db")

    assert incident.route == "database"
    created = await service.timeline(incident, TimelineKind.CREATED)
    assert created == [("", f"route database, config {service.config.version}")]
    assert service.config.version != before


async def test_the_next_page_goes_to_whoever_the_new_schedule_puts_on_call(
    service: Service,
) -> None:
    first = service.config.version
    [incident] = await service.fire("payments")
    assert [n.person for n in service.hook.delivered] == ["alice"]

    write(service.directory, on_call="bob")
    assert service.config.reload()
    # Nobody acknowledged: the policy's second round pages whoever is on call now.
    await service.worker.advance(ACK_TIMEOUT)

    assert [n.person for n in service.hook.delivered] == ["alice", "bob"]
    paged = await service.timeline(incident, TimelineKind.PAGED)
    assert paged == [
        ("alice", f"sent; config {first}"),
        ("bob", f"sent; config {service.config.version}"),
    ]
    created = await service.timeline(incident, TimelineKind.CREATED)
    assert created == [("", f"route payments, config {first}")]


async def test_a_broken_edit_keeps_paging_the_old_schedule(service: Service) -> None:
    good = service.config.version
    write(service.directory, on_call="zed")  # not in people
    assert not service.config.reload()

    [incident] = await service.fire("payments")

    assert [n.person for n in service.hook.delivered] == ["alice"]
    paged = await service.timeline(incident, TimelineKind.PAGED)
    assert paged == [("alice", f"sent; config {good}")]


async def test_a_configmap_volume_swapping_its_files_is_taken_up(tmp_path: Path) -> None:
    """Kubernetes updates a mounted ConfigMap by writing the new files to a new folder and
    moving the ``..data`` link to it; ``tocsin.yaml`` and ``schedules`` are links through
    ``..data`` and never change themselves."""
    (tmp_path / "..v1").mkdir()
    write(tmp_path / "..v1")
    (tmp_path / "..data").symlink_to("..v1")
    (tmp_path / "tocsin.yaml").symlink_to("..data/tocsin.yaml")
    (tmp_path / "schedules").symlink_to("..data/schedules")
    config = ConfigHolder(load_config(tmp_path / "tocsin.yaml"), CollectorRegistry())
    stop = asyncio.Event()
    watching = asyncio.create_task(watch(config, stop))
    try:
        await asyncio.sleep(0.2)  # the watch in place before the files change
        (tmp_path / "..v2").mkdir()
        write(tmp_path / "..v2", on_call="bob")
        (tmp_path / "..data_tmp").symlink_to("..v2")
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")

        await eventually(
            lambda: list(config.current.schedules["primary"].people) == ["bob"],
            within=5,
            what="the new files taken up",
        )
    finally:
        stop.set()
        await watching


async def test_probes_say_the_version_and_a_refused_edit_without_turning_unready(
    tmp_path: Path, redis: Redis
) -> None:
    path = write(tmp_path)
    runtime = Runtime(Settings(config_path=path), load_config(path), redis, b"k" * 32)
    first = runtime.config.version
    async with TestClient(TestServer(health_app(runtime))) as client:
        write(tmp_path, on_call="zed")
        runtime.config.reload()  # as SIGHUP does

        healthz = await (await client.get("/healthz")).json()
        readyz = await client.get("/readyz")
        ready = await readyz.json()
        metrics = await (await client.get("/metrics")).text()

    assert healthz == {"status": "ok", "config_version": first}
    assert readyz.status == 200
    schedule = tmp_path / "schedules" / "primary.yaml"
    refused = f"{schedule}:3: rotation.members[0]: unknown person 'zed' (not in people)"
    assert ready == {
        "status": "ok",
        "config": f"edit not taken up, {first} still runs: {refused}",
    }
    assert "tocsin_config_valid 0.0" in metrics
    assert f'tocsin_config_info{{version="{first}"}} 1.0' in metrics
