"""``tocsin token create|list|revoke``: API tokens, made on a machine that reaches the store.
A token is printed once, when it is made; the store keeps only its hash."""

import argparse
import sys
from datetime import datetime, timedelta

from arq.connections import ArqRedis

from schedules.durations import parse_duration
from tocsin.runtime import system_clock
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store
from tocsin.tokens import ApiToken, Scope, TokenExists, TokenStore, check_name


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    token = commands.add_parser("token", parents=[common], help="API tokens")
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a token and print it, once")
    create.add_argument("name", help="what uses it, e.g. ci-bot (it acts as token:NAME)")
    create.add_argument(
        "--scope",
        required=True,
        choices=[scope.value for scope in Scope],
        help=(
            "read: incidents, on-call, schedules, reports, explain, silences, metrics; "
            "write: also act on them"
        ),
    )
    create.add_argument("--expires", help="lifetime, e.g. 90d (default: until revoked)")
    listing = actions.add_parser("list", help="every token, without the tokens themselves")
    revoke = actions.add_parser("revoke", help="stop a token working, at once")
    revoke.add_argument("name")
    for sub in (create, listing, revoke):
        add_data_dir(sub)


def token_command(settings: Settings, args: argparse.Namespace) -> int:
    now = system_clock()
    if args.action == "create":
        try:
            name = check_name(args.name)
            lifetime = None if args.expires is None else parse_duration(args.expires)
        except ValueError as error:
            return fail(str(error))
        scope = Scope(args.scope)
        return on_store(settings, lambda redis: _create(redis, name, scope, now, lifetime))
    if args.action == "list":
        return on_store(settings, lambda redis: _list(redis, now))
    return on_store(settings, lambda redis: _revoke(redis, args.name))


async def _create(
    redis: ArqRedis, name: str, scope: Scope, now: datetime, lifetime: timedelta | None
) -> int:
    try:
        token, _ = await TokenStore(redis).create(name, scope, now, lifetime=lifetime)
    except TokenExists as error:
        return fail(str(error))
    print(token)
    print(
        f"tocsin: {scope} token {name!r} created; it is shown only now, keep it safe",
        file=sys.stderr,
    )
    return 0


async def _list(redis: ArqRedis, now: datetime) -> int:
    for token in await TokenStore(redis).all():
        print(_line(token, now))
    return 0


def _line(token: ApiToken, now: datetime) -> str:
    expires = "never" if token.expires_at is None else _when(token.expires_at)
    used = "never" if token.last_used_at is None else _when(token.last_used_at)
    state = "  EXPIRED" if token.expired(now) else ""
    return (
        f"{token.name}  {token.scope}  created {_when(token.created_at)}  expires {expires}  "
        f"last used {used}{state}"
    )


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


async def _revoke(redis: ArqRedis, name: str) -> int:
    if not await TokenStore(redis).revoke(name):
        return fail(f"no token named {name!r}")
    print(f"token {name!r} revoked")
    return 0
