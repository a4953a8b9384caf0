"""``tocsin silence add|list|expire``: the silences ``amtool`` manages over HTTP, from the
command line of a machine that reaches the store."""

import argparse
import getpass
from datetime import UTC, datetime

from arq.connections import ArqRedis
from pydantic import ValidationError

from router.matchers import parse_matcher
from router.silence_store import SilenceNotFound, SilenceStore
from router.silences import Silence, SilenceMatcher, SilenceState
from schedules.durations import parse_duration
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    silence = commands.add_parser(
        "silence", parents=[common], help="hold pages for matching alerts"
    )
    actions = silence.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a silence")
    add.add_argument("matchers", nargs="+", help='e.g. service=payments severity=~"crit.*"')
    add.add_argument("--duration", default="1h", help="how long from now (default 1h)")
    add.add_argument("--comment", required=True, help="why, for whoever reads it later")
    add.add_argument("--author", default=None, help="who (default: your user name)")
    listing = actions.add_parser("list", help="active and pending silences")
    listing.add_argument("--expired", action="store_true", help="expired ones instead")
    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("id")
    for sub in (add, listing, expire):
        add_data_dir(sub)


def silence_command(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    if args.action == "add":
        try:
            silence = Silence(
                matchers=[SilenceMatcher.of(parse_matcher(text)) for text in args.matchers],
                starts_at=now,
                ends_at=now + parse_duration(args.duration),
                created_by=args.author or getpass.getuser(),
                comment=args.comment,
            )
        except ValueError as error:  # a matcher, a duration, or the silence as a whole
            return fail(_reason(error))
        return on_store(settings, lambda redis: _add(redis, silence, now))
    if args.action == "list":
        return on_store(settings, lambda redis: _list(redis, now, expired=args.expired))
    return on_store(settings, lambda redis: _expire(redis, args.id, now))


def _reason(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
    return str(error)


async def _add(redis: ArqRedis, silence: Silence, now: datetime) -> int:
    saved = await SilenceStore(redis).save(silence, now)
    print(saved.id)
    return 0


async def _list(redis: ArqRedis, now: datetime, *, expired: bool) -> int:
    for silence in await SilenceStore(redis).all(now):
        if (silence.state(now) is SilenceState.EXPIRED) is expired:
            matchers = " ".join(str(m.matcher()) for m in silence.matchers)
            ends = silence.ends_at.strftime("%Y-%m-%d %H:%M UTC")
            print(
                f"{silence.id}  {matchers}  until {ends}  {silence.created_by}: {silence.comment}"
            )
    return 0


async def _expire(redis: ArqRedis, silence_id: str, now: datetime) -> int:
    try:
        await SilenceStore(redis).expire(silence_id, now)
    except SilenceNotFound as error:
        return fail(str(error))
    return 0
