"""``tocsin dead-letters list|replay ID``: what the router and the notifier could not handle,
and sending it through again once the cause is fixed."""

import asyncio
import sys
from collections.abc import Awaitable, Callable

from arq.connections import ArqRedis

from ingest.deadletters import DeadLetter, DeadLetterNotFound, DeadLetters
from notifier import worker as notifier_worker
from router import consumer as router_consumer
from tocsin.embedded import stored_url
from tocsin.settings import Settings
from tocsin.store import StoreUrlError, connect

MAX_ERROR_SHOWN = 300

STAGES: dict[str, Callable[[ArqRedis], DeadLetters]] = {
    "router": router_consumer.dead_letters,
    "notifier": notifier_worker.dead_letters,
}


def dead_letters_command(settings: Settings, action: str, letter_id: str | None) -> int:
    url = settings.redis_url or stored_url(settings.data_dir)
    if url is None:
        return _fail(
            "TOCSIN_REDIS_URL is not set, and no running `tocsin up` was found in "
            f"{settings.data_dir} (--data-dir)"
        )
    if action == "replay" and not letter_id:
        return _fail("replay needs the id of a dead letter, as `tocsin dead-letters list` shows")
    try:
        redis = connect(url)
    except StoreUrlError as error:
        return _fail(str(error))
    work: Callable[[], Awaitable[int]] = (
        (lambda: _list(redis)) if action == "list" else (lambda: _replay(redis, letter_id or ""))
    )
    try:
        return asyncio.run(_closing(redis, work))
    except (OSError, ConnectionError, TimeoutError) as error:
        return _fail(f"cannot reach the store: {error}")


async def _closing(redis: ArqRedis, work: Callable[[], Awaitable[int]]) -> int:
    try:
        return await work()
    finally:
        await redis.aclose()


async def _list(redis: ArqRedis) -> int:
    total = 0
    for stage, letters in STAGES.items():
        for dead_id, letter in await letters(redis).list():
            total += 1
            print(f"{stage}:{dead_id}  {_describe(letter)}")
    print(f"{total} dead letter(s)", file=sys.stderr)
    return 0


async def _replay(redis: ArqRedis, letter_id: str) -> int:
    stage, _, dead_id = letter_id.partition(":")
    if stage not in STAGES or not dead_id:
        return _fail(f"no dead letter {letter_id!r}: ids look like router:1700000000000-0")
    letters = STAGES[stage](redis)
    try:
        found = [letter for i, letter in await letters.list() if i == dead_id]
        if found and found[0].group == notifier_worker.JOBS:
            new_id = await notifier_worker.replay_job(notifier_worker.ArqScheduler(redis), found[0])
            await letters.forget(dead_id)
        else:
            new_id = await letters.replay(dead_id)
    except DeadLetterNotFound as error:
        return _fail(str(error))
    print(f"replayed {letter_id} as {new_id}")
    return 0


def _describe(letter: DeadLetter) -> str:
    """One line, whatever the error's text holds (a validation error spans many)."""
    what = "timer job" if letter.group == notifier_worker.JOBS else f"entry of {letter.stream}"
    error = " ".join(letter.error.split())
    if len(error) > MAX_ERROR_SHOWN:
        error = error[: MAX_ERROR_SHOWN - 1] + "…"
    return (
        f"{letter.at.isoformat(timespec='seconds')}  {what} {letter.entry_id}, "
        f"tried {letter.deliveries}x: {error}"
    )


def _fail(message: str) -> int:
    print(f"tocsin: {message}", file=sys.stderr)
    return 2
