"""Taking, marking and releasing deliveries, in as few round trips as a page allows."""

from redis.asyncio import Redis

from notifier import keys
from notifier.deliveries import Deliveries, Taking

HOOK, MAIL = "page:0:0:alice:hook", "page:0:0:alice:mail"


async def test_a_delivery_made_already_is_not_taken(redis: Redis) -> None:
    deliveries = Deliveries(redis, "host-9102")
    await deliveries.mark("1", MAIL)

    assert await deliveries.take("1", [HOOK, MAIL]) == [Taking.MINE, Taking.DELIVERED]
    assert await redis.exists(keys.sending("1", MAIL)) == 0


async def test_settling_marks_what_went_out_and_frees_the_rest_for_a_retry(
    redis: Redis,
) -> None:
    first = Deliveries(redis, "host-9102")
    assert await first.take("1", [HOOK, MAIL]) == [Taking.MINE, Taking.MINE]

    await first.settle("1", delivered=[HOOK], taken=[HOOK, MAIL])  # the mail failed

    retry = Deliveries(redis, "host-9103")
    assert await retry.take("1", [HOOK, MAIL]) == [Taking.DELIVERED, Taking.MINE]


async def test_a_delivery_another_live_process_holds_stays_held(redis: Redis) -> None:
    assert await Deliveries(redis, "host-9102").take("1", [MAIL]) == [Taking.MINE]

    assert await Deliveries(redis, "host-9103").take("1", [MAIL, HOOK]) == [
        Taking.HELD,
        Taking.MINE,
    ]
