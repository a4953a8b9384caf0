"""``tocsin user set-password PERSON``: a console password for a person of the
configuration, typed twice at a terminal or read as one line from standard input (for
scripts). The store keeps only its argon2 hash."""

import argparse
import getpass
import sys

from arq.connections import ArqRedis

from tocsin.config import LoadedConfig
from tocsin.console.passwords import Passwords, WeakPassword
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    user = commands.add_parser("user", help="console sign-in of people")
    actions = user.add_subparsers(dest="action", required=True)
    password = actions.add_parser(
        "set-password", parents=[common], help="set a person's console password"
    )
    password.add_argument("person", help="a person id of the configuration")
    add_data_dir(password)


def user_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    if args.person not in loaded.config.people:
        return fail(f"{args.person!r} is not a person in {loaded.path}")
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.person}: ")
        if getpass.getpass("Again: ") != password:
            return fail("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    return on_store(settings, lambda redis: _set(redis, args.person, password))


async def _set(redis: ArqRedis, person: str, password: str) -> int:
    try:
        await Passwords(redis).set(person, password)
    except WeakPassword as error:
        return fail(str(error))
    print(f"console password of {person!r} set")
    return 0
