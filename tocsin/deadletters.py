"""``tocsin dead-letters list|replay ID``: what the router and the notifier could not handle,
and sending it through again once the cause is fixed."""

import sys
from collections.abc import Callable

from arq.connections import ArqRedis

from ingest.deadletters import DeadLetter, DeadLetterNotFound, DeadLetters
from notifier import worker as notifier_worker
from router import consumer as router_consumer
from tocsin.settings import Settings
from tocsin.storecmd import fail, on_store

MAX_ERROR_SHOWN = 300

STAGES: dict[str, Callable[[ArqRedis], DeadLetters]] = {
    "router": router_consumer.dead_letters,
    "notifier": notifier_worker.dead_letters,
}


def dead_letters_command(settings: Settings, action: str, letter_id: str | None) -> int:
    if action == "replay" and not letter_id:
        return fail("replay needs the id of a dead letter, as `tocsin dead-letters list` shows")
    if action == "list":
        return on_store(settings, _list)
    return on_store(settings, lambda redis: _replay(redis, letter_id or ""))


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
        return fail(f"no dead letter {letter_id!r}: ids look like router:1700000000000-0")
    letters = STAGES[stage](redis)
    try:
        letter = await letters.get(dead_id)
        if letter.group == notifier_worker.JOBS:
            new_id = await notifier_worker.replay_job(notifier_worker.ArqScheduler(redis), letter)
            await letters.forget(dead_id)
        else:
            new_id = await letters.replay(dead_id)
    except DeadLetterNotFound as error:
        return fail(str(error))
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
