"""Running a short command against the store (``tocsin dead-letters``, ``tocsin silence``):
the store of TOCSIN_REDIS_URL, or of a running ``tocsin up`` on the data dir."""

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from arq.connections import ArqRedis
from redis.exceptions import RedisError

from tocsin.embedded import stored_url
from tocsin.settings import Settings
from tocsin.store import StoreUrlError, connect

T = TypeVar("T")
Work = Callable[[ArqRedis], Awaitable[int]]


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``: where a command finds the store of a running ``tocsin up``."""
    parser.add_argument(
        "--data-dir", type=Path, help="of a running `tocsin up`, when TOCSIN_REDIS_URL is unset"
    )


def on_store(settings: Settings, work: Work) -> int:
    """``work``'s exit code, or 2 with one line saying why the store could not be used."""
    url = settings.redis_url or stored_url(settings.data_dir)
    if url is None:
        return fail(
            "TOCSIN_REDIS_URL is not set, and no running `tocsin up` was found in "
            f"{settings.data_dir} (--data-dir)"
        )
    try:
        redis = connect(url)
    except StoreUrlError as error:
        return fail(str(error))
    try:
        return asyncio.run(_closing(redis, work))
    except (OSError, RedisError) as error:
        return fail(f"cannot reach the store: {error}")


async def _closing(redis: ArqRedis, work: Callable[[ArqRedis], Awaitable[T]]) -> T:
    try:
        return await work(redis)
    finally:
        await redis.aclose()


def fail(message: str) -> int:
    print(f"tocsin: {message}", file=sys.stderr)
    return 2


def read_if_stored(settings: Settings, read: Callable[[ArqRedis], Awaitable[T]]) -> T | None:
    """What ``read`` finds in the store, for commands that answer from the files alone too:
    ``None`` when no store is set (quietly) or it cannot be read (saying so)."""
    url = settings.redis_url or stored_url(settings.data_dir)
    if url is None:
        return None
    try:
        redis = connect(url)
        return asyncio.run(_closing(redis, read))
    except (StoreUrlError, OSError, RedisError) as error:
        print(f"tocsin: the store was not read, the files alone answer: {error}", file=sys.stderr)
        return None
