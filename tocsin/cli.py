"""``tocsin up|web|router|worker|check|diff|oncall|shifts|override|calendar-url|explain|
ingest-test|test|silence|incident|incidents|ack|resolve|severity|token|user|dead-letters``."""

import argparse
import asyncio
import gc
import logging
import signal
import ssl
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import uvloop
from redis.asyncio import Redis
from redis.exceptions import RedisError

from router.config import walk
from schedules.oncall import who_is_on_call
from schedules.yamlfile import ConfigFileError
from tocsin.api_cli import add_parsers as add_api_parsers
from tocsin.api_cli import api_command
from tocsin.calendar_cli import add_parser as add_calendar_url_parser
from tocsin.calendar_cli import calendar_url_command
from tocsin.config import LoadedConfig, load_config, read_config
from tocsin.console.user_cli import add_parser as add_user_parser
from tocsin.console.user_cli import user_command
from tocsin.deadletters import dead_letters_command
from tocsin.diff_cli import add_parser as add_diff_parser
from tocsin.diff_cli import diff_command
from tocsin.embedded import EmbeddedValkey
from tocsin.explain_cli import add_parser as add_explain_parser
from tocsin.explain_cli import explain_command
from tocsin.incident_cli import add_parser as add_incident_parser
from tocsin.incident_cli import incident_command
from tocsin.incidents_cli import add_parser as add_incidents_parser
from tocsin.incidents_cli import incidents_command
from tocsin.ingest_test_cli import add_parser as add_ingest_test_parser
from tocsin.ingest_test_cli import ingest_test_command
from tocsin.lint import DEFAULT_WEEKS, lint
from tocsin.logs import configure as configure_logging
from tocsin.override_cli import add_parser as add_override_parser
from tocsin.override_cli import override_command, stored_covers
from tocsin.route_tests import add_parser as add_test_parser
from tocsin.route_tests import test_routes_command
from tocsin.runtime import Runtime, system_clock
from tocsin.service import Role, running
from tocsin.settings import LOG_FORMATS, Settings, SettingsError
from tocsin.shifts_cli import add_parser as add_shifts_parser
from tocsin.shifts_cli import shifts_command
from tocsin.silence_cli import add_parser as add_silence_parser
from tocsin.silence_cli import silence_command
from tocsin.store import StoreUrlError, connect, describe
from tocsin.storecmd import add_data_dir
from tocsin.token_cli import add_parser as add_token_parser
from tocsin.token_cli import token_command

log = logging.getLogger("tocsin")

ROLES = {
    "up": (Role.WEB, Role.ROUTER, Role.WORKER),
    "web": (Role.WEB,),
    "router": (Role.ROUTER,),
    "worker": (Role.WORKER,),
}
DEFAULT_PORTS = {"up": 8080, "web": 8080, "router": 9101, "worker": 9102}
"""Router and worker processes serve only /metrics, /healthz and /readyz."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            config_path=args.config,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None) or DEFAULT_PORTS.get(args.command),
            data_dir=getattr(args, "data_dir", None),
            log_format=getattr(args, "log_format", None),
            tls_cert=getattr(args, "tls_cert", None),
            tls_key=getattr(args, "tls_key", None),
        )
    except SettingsError as error:
        print(f"tocsin: {error}", file=sys.stderr)
        return 2
    # These work on the store alone, whatever the config.
    if args.command == "dead-letters":
        return dead_letters_command(settings, args.action, args.id)
    if args.command == "silence":
        return silence_command(settings, args)
    if args.command == "token":
        return token_command(settings, args)
    if args.command == "incidents":
        return incidents_command(settings, args)
    if args.command in ("ack", "resolve", "severity"):  # through a running server's API
        return api_command(args)
    if args.command == "diff":  # OLD and NEW need no configuration here
        return diff_command(settings.config_path, args, system_clock)
    if not settings.config_path.exists() and settings.config_path.parent.is_dir():
        print(_no_config(settings.config_path), file=sys.stderr)
        return 2
    if args.command == "check":
        return _check(settings.config_path, args)
    try:
        loaded = load_config(settings.config_path)
    except ConfigFileError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "oncall":
        return _oncall(loaded, args.schedule, args.at, settings)
    if args.command == "shifts":
        return shifts_command(loaded, args, system_clock, settings)
    if args.command == "override":
        return override_command(settings, loaded, args)
    if args.command == "calendar-url":
        return calendar_url_command(settings, loaded, args)
    if args.command == "explain":
        return explain_command(settings, loaded, args)
    if args.command == "ingest-test":
        return ingest_test_command(loaded, args)
    if args.command == "test":
        return test_routes_command(loaded, args)
    if args.command == "incident":
        return incident_command(settings, loaded, args)
    if args.command == "user":
        return user_command(settings, loaded, args)
    roles = ROLES[args.command]
    try:
        secret, tls = _check_settings(settings, roles)
    except SettingsError as error:
        for line in str(error).splitlines():
            print(f"tocsin: {line}", file=sys.stderr)
        return 2
    # Only now, with everything checked: a refused start changes nothing in the process.
    configure_logging(settings.log_format)
    try:
        return uvloop.run(_serve(settings, loaded, roles, secret, tls))
    except SettingsError as error:
        print(f"tocsin: {error}", file=sys.stderr)
        return 2


def _check_settings(
    settings: Settings, roles: Sequence[Role]
) -> tuple[bytes, ssl.SSLContext | None]:
    """The link-signing key the roles need (empty if none) and the web's TLS context (None:
    plain http); ``SettingsError`` names every missing setting, one per line, before
    anything starts."""
    whole = roles == ROLES["up"]
    problems: list[str] = []
    if settings.redis_url is None and not whole:
        problems.append("TOCSIN_REDIS_URL is not set: separate roles share one Redis")
    secret = b""
    if Role.WEB in roles or Role.WORKER in roles:
        try:
            secret = settings.secret(may_create=whole)
        except SettingsError as error:
            problems.append(str(error))
    tls = None
    if Role.WEB in roles:
        try:
            tls = settings.tls()
        except SettingsError as error:
            problems.append(str(error))
    if problems:
        raise SettingsError("\n".join(problems))
    return secret, tls


async def _serve(
    settings: Settings,
    loaded: LoadedConfig,
    roles: Sequence[Role],
    secret: bytes,
    tls: ssl.SSLContext | None,
) -> int:
    embedded = None
    redis_url = settings.redis_url
    if redis_url is None:  # only `up` gets here (_check_settings)
        embedded = EmbeddedValkey(settings.data_dir)
        redis_url = embedded.url
    try:
        redis = connect(redis_url)
    except StoreUrlError as error:
        raise SettingsError(f"TOCSIN_REDIS_URL: {error}") from None
    try:
        await _say_if_unreachable(redis, redis_url)
        runtime = Runtime(settings, loaded, redis, secret, clock=system_clock, tls=tls)
        if embedded is not None:
            # One process owns its stream entries across restarts: pending work resumes at
            # once.
            runtime.consumer = "up"
        async with running(runtime, roles) as service:
            if embedded is not None:
                service.tasks.append(
                    asyncio.create_task(embedded.watch(service.stop), name="embedded-valkey")
                )
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, service.stop.set)
            # For deployments whose file changes the watch cannot see (some network mounts).
            loop.add_signal_handler(signal.SIGHUP, runtime.config.reload)
            # What is loaded by now (modules, models, the configuration) lives as long as
            # the process: left to the cyclic garbage collector, each full collection walks it
            # all again, a pause of 50 ms or more that every page and webhook in flight waits.
            gc.freeze()
            await service.wait()
            log.info("stopping: finishing work in flight (at most %s)", settings.shutdown_grace)
    finally:
        await redis.aclose()
        if embedded is not None:
            embedded.stop()
    log.info("stopped")
    return 0


async def _say_if_unreachable(redis: Redis, url: str) -> None:
    """A store that is away at start is waited for, like one that goes away later; but an
    operator starting a process wants to know at once (a wrong address looks the same)."""
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        log.warning(
            "cannot reach the store at %s (TOCSIN_REDIS_URL): %s; starting anyway, not ready "
            "until it answers",
            describe(url),
            error,
        )


def _no_config(path: Path) -> str:
    # Most often a command run from another folder than the one holding tocsin.yaml.
    return (
        f"tocsin: no configuration file at {path} ({path.absolute()}); name one with "
        "--config PATH or the TOCSIN_CONFIG environment variable"
    )


def _oncall(loaded: LoadedConfig, name: str | None, at: datetime | None, settings: Settings) -> int:
    names = [name] if name else sorted(loaded.schedules)
    stored = stored_covers(settings, [n for n in names if n in loaded.schedules], system_clock())
    for schedule_name in names:
        schedule = loaded.schedules.get(schedule_name)
        if schedule is None:
            known = ", ".join(sorted(loaded.schedules)) or "none"
            print(f"tocsin: no schedule {schedule_name!r} (known: {known})", file=sys.stderr)
            return 2
        instant, note = at or system_clock(), ""
        if instant.tzinfo is None:
            # A time without offset means the schedule's own clock, as in its file.
            instant = instant.replace(tzinfo=schedule.zone)
            note = f" at {instant:%Y-%m-%d %H:%M %Z} (--at read in {schedule.timezone})"
        person = who_is_on_call(schedule, instant, stored.get(schedule_name, ()))
        print(f"{schedule_name}: {_person(loaded, person)}{note}")
    return 0


def _check(path: Path, args: argparse.Namespace) -> int:
    """Every problem and every warning of every file in one run, even when some are wrong."""
    if args.weeks < 1:
        print(f"tocsin: --weeks {args.weeks}: give a number of weeks from 1", file=sys.stderr)
        return 2
    now = args.at or system_clock()
    if now.tzinfo is None:
        print("tocsin: --at needs a time zone offset, e.g. 2026-12-24T10:00+01:00", file=sys.stderr)
        return 2
    loaded, problems = read_config(path)
    warnings = [] if loaded is None else [*loaded.warnings, *lint(loaded, now, args.weeks)]
    for line in [*problems, *warnings]:
        print(line, file=sys.stderr)
    if problems:
        return 2
    if args.strict and warnings:
        print(f"tocsin: {len(warnings)} warnings, refused by --strict", file=sys.stderr)
        return 2
    assert loaded is not None  # read_config gives a configuration whenever it has no problems
    print(f"{path}: ok ({_summary(loaded)})")
    return 0


def _person(loaded: LoadedConfig, person: str | None) -> str:
    if person is None:
        return "nobody (a gap in the schedule)"
    known = loaded.config.people.get(person)
    return f"{known.name if known else person} ({person})"


def _summary(loaded: LoadedConfig) -> str:
    config = loaded.config
    return (
        f"{len(config.integrations)} integrations, {len(config.people)} people, "
        f"{len(loaded.schedules)} schedules, {len(config.escalation_policies)} policies, "
        f"{sum(1 for _ in walk(loaded.routing.tree))} routes"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tocsin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="configuration file (TOCSIN_CONFIG)")
    served = argparse.ArgumentParser(add_help=False)
    served.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    served.add_argument(
        "--port",
        type=int,
        help="port to listen on (web and up: 8080; router: 9101, worker: 9102, for /metrics, "
        "/healthz and /readyz)",
    )
    served.add_argument(
        "--log-format", choices=LOG_FORMATS, help="text or json (TOCSIN_LOG_FORMAT)"
    )
    helps = {
        "up": "everything in one process, with an embedded Valkey unless TOCSIN_REDIS_URL is set",
        "web": "webhooks, acknowledge pages, API and metrics",
        "router": "turn alerts into incidents",
        "worker": "send pages and run escalations",
    }
    for name, text in helps.items():
        sub = commands.add_parser(name, parents=[common, served], help=text)
        if name == "up":
            sub.add_argument(
                "--data-dir", type=Path, help="embedded Valkey data (default ./.tocsin)"
            )
        if name in ("up", "web"):
            sub.add_argument(
                "--tls-cert", type=Path, help="serve https: PEM certificate (TOCSIN_TLS_CERT)"
            )
            sub.add_argument(
                "--tls-key", type=Path, help="its unencrypted PEM private key (TOCSIN_TLS_KEY)"
            )
    check = commands.add_parser("check", parents=[common], help="validate the configuration")
    check.add_argument("--strict", action="store_true", help="warnings are errors too")
    check.add_argument(
        "--weeks",
        type=int,
        default=DEFAULT_WEEKS,
        help=f"how far ahead to look for gaps and hidden layers ({DEFAULT_WEEKS})",
    )
    check.add_argument(
        "--at", type=datetime.fromisoformat, help="check as of this ISO time (default: now)"
    )
    oncall = commands.add_parser("oncall", parents=[common], help="who is on call")
    oncall.add_argument("schedule", nargs="?", help="one schedule (default: all)")
    oncall.add_argument(
        "--at",
        type=datetime.fromisoformat,
        help="ISO time; without an offset, in each schedule's zone",
    )
    dead = commands.add_parser(
        "dead-letters", parents=[common], help="entries that could not be handled"
    )
    dead.add_argument("action", choices=["list", "replay"])
    add_data_dir(dead)
    dead.add_argument("id", nargs="?", help="for replay: the id that list shows")
    add_shifts_parser(commands, common)
    add_override_parser(commands, common)
    add_diff_parser(commands, common)
    add_calendar_url_parser(commands, common)
    add_silence_parser(commands, common)
    add_explain_parser(commands, common)
    add_ingest_test_parser(commands, common)
    add_test_parser(commands, common)
    add_incident_parser(commands, common)
    add_incidents_parser(commands, common)
    add_api_parsers(commands, common)
    add_token_parser(commands, common)
    add_user_parser(commands, common)
    return parser
