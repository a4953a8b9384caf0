"""Overrides kept in the store, against the real Valkey: added, listed, removed and gone once
over (scores read against the test's clock); over the API with tokens; paged through; and
shown by ``tocsin oncall`` and ``tocsin shifts``."""

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from schedules import keys
from schedules.override_store import OverrideNotFound, OverrideStore
from schedules.stored import StoredOverride
from tests.conftest import ManualClock
from tests.integration.test_api import DEPLOY, Client, loaded, runtime, serve
from tests.integration.test_paging import make_world, sent
from tocsin.cli import main
from tocsin.runtime import Runtime
from tocsin.tokens import Scope, TokenStore

__all__ = ["loaded", "runtime"]  # the fixtures of the API's tests

OVERRIDES = "/api/v1/schedules/payments-primary/overrides"


def stand_in(
    clock: ManualClock, person: str, hours: int, schedule: str = "primary"
) -> StoredOverride:
    return StoredOverride(
        id="",
        schedule=schedule,
        person=person,
        start=clock(),
        end=clock() + timedelta(hours=hours),
        created_at=clock(),
    )


async def test_added_listed_removed(redis: Redis, clock: ManualClock) -> None:
    store = OverrideStore(redis)
    bob = await store.add(stand_in(clock, "bob", 2), clock())
    carol = await store.add(stand_in(clock, "carol", 1), clock())

    assert await store.current("primary", clock()) == [carol, bob]  # soonest ending first
    assert await store.remove("primary", carol.id, clock()) == carol
    assert await store.current("primary", clock()) == [bob]
    with pytest.raises(OverrideNotFound, match=f"no override '{carol.id}'"):
        await store.remove("primary", carol.id, clock())


async def test_an_override_is_gone_once_over(redis: Redis, clock: ManualClock) -> None:
    store = OverrideStore(redis)
    await store.add(stand_in(clock, "bob", 1), clock())
    last = await store.add(stand_in(clock, "carol", 3), clock())
    key = keys.overrides("primary")
    # The key outlives its last override by nothing, counted from the writer's clock.
    assert (
        timedelta(hours=3) - timedelta(seconds=5)
        < timedelta(milliseconds=await redis.pttl(key))
        <= timedelta(hours=3)
    )

    clock.advance(timedelta(hours=1))  # bob's ends now: over
    assert await store.current("primary", clock()) == [last]

    # A later write drops what is over from the set itself.
    await store.add(stand_in(clock, "dave", 1), clock())
    assert await redis.zcard(key) == 2


async def test_a_page_goes_to_the_stored_stand_in(redis: Redis, clock: ManualClock) -> None:
    world = make_world(redis, clock)
    await OverrideStore(redis).add(stand_in(clock, "dave", 1), clock())
    incident_id = await world.open()

    await world.pager.open(incident_id)

    assert sent(world) == [("mail", "page", "dave", 1)]  # alice's turn, dave stands in


async def test_a_page_after_the_override_goes_back_to_the_rotation(
    redis: Redis, clock: ManualClock
) -> None:
    world = make_world(redis, clock)
    await OverrideStore(redis).add(stand_in(clock, "dave", 1), clock())
    clock.advance(timedelta(hours=1))
    incident_id = await world.open()

    await world.pager.open(incident_id)

    assert sent(world) == [("hook", "page", "alice", 1), ("mail", "page", "alice", 1)]


@pytest.fixture
async def writer(runtime: Runtime, redis: Redis, clock: ManualClock) -> AsyncIterator[Client]:
    token, _ = await TokenStore(redis).create("swap-bot", Scope.WRITE, clock())
    async with serve(runtime, token) as client:
        yield client


async def test_the_api_adds_lists_and_removes(writer: Client) -> None:
    # The clock reads 2026-03-02 12:00 UTC; times without offset are Berlin's.
    body = {"person": "bob", "from": "2026-03-02T13:00", "to": "2026-03-03T09:00", "note": "swap"}
    async with writer.post(OVERRIDES, json=body) as response:
        assert response.status == 201
        made = await response.json()
    assert (made["start"], made["end"], made["created_by"]) == (
        "2026-03-02T12:00:00Z",
        "2026-03-03T08:00:00Z",
        "token:swap-bot",
    )
    async with writer.get(OVERRIDES) as response:
        assert (await response.json())["overrides"] == [made]
    async with writer.delete(f"{OVERRIDES}/{made['id']}") as response:
        assert response.status == 204
    async with writer.get(OVERRIDES) as response:
        assert (await response.json())["overrides"] == []
    async with writer.delete(f"{OVERRIDES}/{made['id']}") as response:
        assert response.status == 404


REFUSED = {
    "unknown person": ({"person": "zed"}, 400, "person 'zed': not in people"),
    "bad time": ({"from": "soon"}, 400, "from 'soon': write an ISO time"),
    "past": (
        {"from": "2026-03-01T08:00", "to": "2026-03-01T09:00"},
        400,
        "'to' (2026-03-01 08:00 UTC) is already past",
    ),
    "unknown field": ({"who": "bob"}, 400, "who: Extra inputs are not permitted"),
}


@pytest.mark.parametrize(("change", "status", "message"), REFUSED.values(), ids=REFUSED)
async def test_the_api_refuses_a_bad_override_saying_why(
    writer: Client, change: dict[str, str], status: int, message: str
) -> None:
    body = {"person": "bob", "from": "2026-03-02T13:00", "to": "2026-03-03T09:00", **change}
    async with writer.post(OVERRIDES, json=body) as response:
        assert response.status == status
        assert message in (await response.json())["error"]


async def test_the_api_says_which_schedule_is_unknown(writer: Client) -> None:
    async with writer.get("/api/v1/schedules/nope/overrides") as response:
        assert (response.status, await response.json()) == (404, {"error": "no schedule 'nope'"})


async def test_a_read_token_cannot_add(runtime: Runtime, redis: Redis, clock: ManualClock) -> None:
    token, _ = await TokenStore(redis).create("dashboard", Scope.READ, clock())
    body = {"person": "bob", "from": "2026-03-02T13:00", "to": "2026-03-03T09:00"}
    reader = {"Authorization": f"Bearer {token}"}
    async with serve(runtime) as client:
        async with client.post(OVERRIDES, json=body, headers=reader) as response:
            assert response.status == 403
        async with client.get(OVERRIDES, headers=reader) as response:
            assert response.status == 200
        async with client.get(OVERRIDES) as response:
            assert response.status == 401


@pytest.fixture
def cli_store(valkey_url: str, redis: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands' store, and nothing else from the shell's TOCSIN_*."""
    for name in list(os.environ):
        if name.startswith("TOCSIN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOCSIN_REDIS_URL", valkey_url)
    monkeypatch.setenv("TOCSIN_CONFIG", str(DEPLOY))


@pytest.mark.usefixtures("cli_store")
def test_the_commands_add_show_and_remove(capsys: pytest.CaptureFixture[str]) -> None:
    # The commands read the real time.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    end = start + timedelta(hours=3)
    assert main(["oncall", "payments-primary"]) == 0
    before = capsys.readouterr().out
    other = "bob" if "(alice)" in before else "alice"
    stand_in = ["--person", other, "--from", start.isoformat(), "--to", end.isoformat()]

    assert main(["override", "add", "payments-primary", *stand_in, "--note", "dentist"]) == 0
    override_id = capsys.readouterr().out.strip()

    assert main(["override", "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"{override_id}  payments-primary  {other}  {start:%Y-%m-%d %H:%M}")
    assert listed.rstrip().endswith(": dentist")
    assert main(["oncall", "payments-primary"]) == 0
    assert f"({other})" in capsys.readouterr().out
    assert main(["shifts", "payments-primary", "--days", "1", "--tz", "UTC"]) == 0
    assert f"({other})  [stored override]" in capsys.readouterr().out

    assert main(["override", "remove", override_id]) == 0
    assert main(["oncall", "payments-primary"]) == 0
    assert capsys.readouterr().out == before
    assert main(["override", "remove", override_id]) == 2
    assert f"no override '{override_id}'" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_store")
def test_the_add_command_refuses_saying_why(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--person", "zed", "--from", "2026-01-01T09:00", "--to", "2026-01-02T09:00"]
    assert main(["override", "add", "payments-primary", *args]) == 2
    assert capsys.readouterr().err == "tocsin: person 'zed': not in people\n"
    assert main(["override", "add", "nope", *args]) == 2
    assert "no schedule 'nope' (known: payments-primary)" in capsys.readouterr().err
