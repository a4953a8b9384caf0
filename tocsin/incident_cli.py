"""``tocsin incident resolve ID``: end an incident by hand, from the command line of a machine
that reaches the store, when its alerts will not say it is over (the check was removed, the
sender is gone)."""

import argparse
import getpass

from arq.connections import ArqRedis

from router.incidents import Resolution
from router.store import IncidentStore
from schedules.durations import format_duration
from tocsin.config import LoadedConfig
from tocsin.runtime import system_clock
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    incident = commands.add_parser("incident", help="act on an incident")
    actions = incident.add_subparsers(dest="action", required=True)
    # The configuration says how long a resolved incident is kept.
    resolve = actions.add_parser(
        "resolve",
        parents=[common],
        help="resolve an incident, whatever its alerts say; firing ones open a new one",
    )
    resolve.add_argument("id", help="the incident's number")
    resolve.add_argument("--by", default=None, help="who resolves it (default: your user name)")
    add_data_dir(resolve)


def incident_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    by = args.by if args.by is not None else getpass.getuser()
    return on_store(settings, lambda redis: _resolve(redis, loaded, args.id, by))


async def _resolve(redis: ArqRedis, loaded: LoadedConfig, incident_id: str, by: str) -> int:
    store = IncidentStore(redis)
    retention = loaded.routing.retention
    try:
        outcome, _ = await store.resolve(incident_id, by, system_clock(), retention=retention)
    except ValueError as error:  # nobody named
        return fail(f"--by: {error}")
    if outcome is Resolution.NOT_FOUND:
        kept = format_duration(retention)
        return fail(f"no incident {incident_id!r} (or it was resolved more than {kept} ago)")
    if outcome is Resolution.ALREADY_RESOLVED:
        print(f"incident {incident_id} was already resolved")
    else:
        print(f"incident {incident_id} resolved by {by}")
    return 0
