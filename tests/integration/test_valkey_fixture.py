from redis.asyncio import Redis


async def test_each_test_starts_with_an_empty_database(redis: Redis) -> None:
    assert await redis.dbsize() == 0
    await redis.set("tocsin:probe", "1")
    assert await redis.get("tocsin:probe") == b"1"
