"""The console's incident list by time and service, a page at a time: the "Opened" select,
"Older" and "Newest" links that carry the filters, refusals of values the form never sends,
all escaped."""

import re
from datetime import timedelta
from html import unescape

from redis.asyncio import Redis

from tests.conftest import ManualClock
from tests.integration.test_console import Client, client, loaded, page, sign_in
from tests.integration.test_incident_listing import each_at
from tests.integration.test_incident_store import T0
from tocsin.console.incidents import LIST_PAGE

__all__ = ["client", "loaded"]  # the console's fixtures


def ids_on(html: str) -> list[str]:
    return re.findall(r'<a href="/incidents/(\d+)">', html)


def older_of(html: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">Older</a>', html)
    return None if found is None else unescape(found.group(1))


async def test_older_pages_go_back_to_the_first_incident_with_the_filters(
    client: Client, redis: Redis
) -> None:
    db = await each_at(redis, *range(0, 2 * LIST_PAGE + 20, 2), team="db")
    await each_at(redis, *range(1, 2 * LIST_PAGE + 20, 2))
    await sign_in(client)

    seen: list[str] = []
    html = await page(client, "/?service=db&status=triggered")
    assert "Newest" not in html
    while (older := older_of(html)) is not None:
        seen += ids_on(html)
        assert older.startswith("/?status=triggered&service=db&cursor=")
        html = await page(client, older)
        assert '<a href="/?status=triggered&amp;service=db">Newest</a>' in html
    seen += ids_on(html)

    assert seen == list(reversed(db))


async def test_the_time_filter_keeps_the_last_day(
    client: Client, redis: Redis, clock: ManualClock
) -> None:
    clock.now = T0 + timedelta(days=2)
    old, recent = await each_at(redis, 0, 24 * 60 + 1)
    await sign_in(client)

    html = await page(client, "/?within=24h")

    assert ids_on(html) == [recent]
    assert '<option value="24h" selected>last 24h</option>' in html
    assert ids_on(await page(client, "/?within=7d")) == [recent, old]
    assert ids_on(await page(client, "/?within=")) == [recent, old]


async def test_values_the_form_never_sends_are_a_400_page_saying_which(
    client: Client, redis: Redis
) -> None:
    await each_at(redis, 0)
    await sign_in(client)

    for query, said in [
        ("within=1y", "within must be one of 24h, 7d, 30d or empty"),
        ("severity=<b>", "severity must be one of SEV1, SEV2, SEV3, SEV4, not &#39;&lt;b&gt;&#39;"),
        ("cursor=%3Cscript%3E", "cursor: not a cursor this API gave"),
    ]:
        response = await client.get(f"/?{query}")
        html = await response.text()
        assert response.status == 400
        assert said in html
        assert "<b>" not in html
        assert "<script>" not in html
        assert ids_on(html) == []


async def test_a_service_typed_in_is_escaped_and_kept_in_the_links(
    client: Client, redis: Redis
) -> None:
    await each_at(redis, *range(LIST_PAGE + 1), team="db")
    await sign_in(client)

    html = await page(client, '/?service="><script>x</script>')

    assert "<script>x" not in html
    assert 'value="&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert "No incidents match these filters." in html
    assert older_of(html) is None
