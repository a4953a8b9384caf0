"""The console's on-call page and a person's page, as ``tocsin web`` serves them on the real
Valkey: who is on call and whom each level pages (stored overrides included), names linking
to each person's page, and that page's shifts, incidents, contact methods and calendar feed,
escaped like every page."""

from dataclasses import replace

from redis.asyncio import Redis

from notifier.config import Person
from router.consumer import Router
from router.models import TimelineEvent, TimelineKind
from router.store import IncidentStore
from schedules.override_store import OverrideStore
from tests.conftest import ManualClock
from tests.integration.test_api import send
from tests.integration.test_console import (
    PASSWORD,
    Client,
    client,
    loaded,
    page,
    post_form,
    router,
    serving,
    sign_in,
)
from tests.integration.test_stored_overrides import stand_in
from tocsin.calendar_feeds import feed_url
from tocsin.config import LoadedConfig
from tocsin.console.passwords import Passwords
from tocsin.settings import Settings

__all__ = ["client", "loaded", "router"]  # the console tests' fixtures

SECRET = b"console-signing-key"  # what test_console.serving signs with


async def test_who_is_on_call_and_the_policies(client: Client) -> None:
    await sign_in(client)
    html = await page(client, "/oncall")
    # deploy/schedules/payments-primary.yaml: weekly from Monday 2026-01-05 09:00 Berlin.
    alice, bob = '<a href="/people/alice">Alice</a>', '<a href="/people/bob">Bob</a>'
    assert f"<strong>{alice}</strong> until 2026-03-09 08:00:00 UTC" in html
    assert f"{bob}: 2026-03-09 08:00:00 UTC to 2026-03-16 08:00:00 UTC" in html
    assert f"schedule:payments-primary → {alice} · after 2m" in html
    assert f"person:bob → {bob} · after 5m" in html
    assert '<a href="/people/me">My shifts</a>' in html


async def test_a_stored_override_shows_and_pages_on_the_oncall_page(
    client: Client, redis: Redis, clock: ManualClock
) -> None:
    await OverrideStore(redis).add(stand_in(clock, "bob", 1, "payments-primary"), clock())
    await sign_in(client)
    html = await page(client, "/oncall")
    bob = '<strong><a href="/people/bob">Bob</a></strong>'
    assert f"{bob} until 2026-03-02 13:00:00 UTC (override)" in html
    assert 'schedule:payments-primary → <a href="/people/bob">Bob</a> · after 2m' in html
    assert "Alice</a>: 2026-03-02 13:00:00 UTC to 2026-03-09 08:00:00 UTC" in html


async def test_my_page_has_my_shifts_incidents_methods_and_calendar(
    client: Client, router: Router
) -> None:
    await send(client, router)
    await sign_in(client)
    await post_form(client, "/incidents/1/act", {"action": "acknowledge"}, "/incidents/1")

    mine = await page(client, "/people/me")

    assert "<h1>Alice (you)</h1>" in mine
    # Two weeks from now: the rest of this week, and the first hours of the week after next.
    assert "payments-primary: 2026-03-02 12:00:00 UTC to 2026-03-09 08:00:00 UTC" in mine
    assert "payments-primary: 2026-03-16 08:00:00 UTC to 2026-03-16 12:00:00 UTC" in mine
    assert '<a href="/incidents/1">#1 p99 latency above 2s on payments</a>' in mine
    assert "<h2>Reached by</h2>\n<p>console</p>" in mine
    feed = feed_url(Settings().base_url, "person", "alice", SECRET)
    assert f'<a class="feed" href="{feed}">' in mine
    # Another's page: their shifts, not the incident Alice has.
    bobs = await page(client, "/people/bob")
    assert "<h1>Bob</h1>" in bobs
    assert "payments-primary: 2026-03-09 08:00:00 UTC to 2026-03-16 08:00:00 UTC" in bobs
    assert "#1 p99" not in bobs
    assert mine == await page(client, "/people/alice")


async def test_incidents_paging_me_that_nobody_has_yet(
    client: Client, router: Router, redis: Redis, clock: ManualClock
) -> None:
    await send(client, router, alertname="HighLatency", fingerprint="f1")
    await send(client, router, alertname="ErrorRate", fingerprint="f2")
    store = IncidentStore(redis)

    def paged(person: str, epoch: int) -> TimelineEvent:
        return TimelineEvent(at=clock(), kind=TimelineKind.PAGED, person=person, epoch=epoch)

    await store.add_timeline("1", [paged("alice", 0)])
    # Incident 2 paged Bob now, and Alice only in a paging run that is over.
    await store.add_timeline("2", [paged("alice", 7), paged("bob", 0)])
    await sign_in(client)

    def paging(html: str) -> str:
        return html.split("nobody has them yet</h2>")[1].split("<h2>")[0]

    mine = await page(client, "/people/me")
    assert "#1 p99" in paging(mine)
    assert "#2 " not in paging(mine)
    assert "#2 p99" in paging(await page(client, "/people/bob"))
    # Once someone has it, it pages nobody: it is theirs.
    await post_form(client, "/incidents/1/act", {"action": "acknowledge"}, "/incidents/1")
    mine = await page(client, "/people/me")
    assert "<p>None.</p>" in paging(mine)
    assert "#1 p99" in mine.split("you have</h2>")[1].split("<h2>")[0]


async def test_an_unknown_person_is_a_404(client: Client) -> None:
    await sign_in(client)
    response = await client.get("/people/mallory")
    assert response.status == 404
    assert await response.text() == "no such person"


async def test_the_calendar_feed_is_not_taken_for_a_persons_page(client: Client) -> None:
    response = await client.get("/people/alice.ics?token=wrong", allow_redirects=False)
    assert response.status == 404
    assert await response.text() == "no such calendar"


async def test_names_are_escaped(loaded: LoadedConfig, redis: Redis, clock: ManualClock) -> None:
    people = dict(loaded.config.people, bob=Person(name="<b>Bob</b>", console=True))
    odd = replace(loaded, config=loaded.config.model_copy(update={"people": people}))
    await Passwords(redis).set("alice", PASSWORD)
    async for served in serving(odd, redis, clock):
        await sign_in(served)
        for path in ("/oncall", "/people/bob"):
            html = await page(served, path)
            assert "<b>Bob</b>" not in html
            assert "&lt;b&gt;Bob&lt;/b&gt;" in html
