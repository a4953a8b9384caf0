"""``tocsin incident resolve ID`` and ``tocsin incident severity ID SEV1``: act on an incident
by hand, from the command line of a machine that reaches the store: end it when its alerts
will not say it is over (the check was removed, the sender is gone), or say how urgent it is
when its alerts got that wrong."""

import argparse
import getpass

from arq.connections import ArqRedis

from router.config import Severity
from router.incidents import Resolution, SeverityChange
from router.models import IncidentStatus
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
    _action(
        actions,
        common,
        "resolve",
        "resolve an incident, whatever its alerts say; firing ones open a new one",
        by="who resolves it",
    )
    severity = _action(
        actions,
        common,
        "severity",
        "set an open incident's severity; a raise pages level 1 again",
        by="who sets it",
    )
    severity.add_argument("severity", type=severity_argument, help="SEV1 (the most severe) to SEV4")


def _action(
    actions: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
    name: str,
    text: str,
    *,
    by: str,
) -> argparse.ArgumentParser:
    """A command acting on one incident: its number, who acts, and where the store is."""
    parser = actions.add_parser(name, parents=[common], help=text)
    parser.add_argument("id", help="the incident's number")
    parser.add_argument("--by", default=None, help=f"{by} (default: your user name)")
    add_data_dir(parser)
    return parser


def severity_argument(text: str) -> Severity:
    """A severity named on the command line, or argparse's one-line refusal."""
    try:
        return Severity(text)
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {choices}") from None


def incident_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    by = args.by if args.by is not None else getpass.getuser()
    if args.action == "severity":
        return on_store(settings, lambda redis: _set_severity(redis, args.id, args.severity, by))
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


async def _set_severity(redis: ArqRedis, incident_id: str, severity: Severity, by: str) -> int:
    store = IncidentStore(redis)
    try:
        outcome, incident = await store.set_severity(incident_id, severity, by, system_clock())
    except ValueError as error:  # nobody named
        return fail(f"--by: {error}")
    if outcome is SeverityChange.NOT_FOUND or incident is None:
        return fail(f"no incident {incident_id!r} (or it was resolved and has expired)")
    if outcome is SeverityChange.RESOLVED:
        return fail(f"incident {incident_id} is resolved: its severity stays {incident.severity}")
    if outcome is SeverityChange.UNCHANGED:
        print(f"incident {incident_id} is already {severity}")
    elif outcome is SeverityChange.RAISED:
        then = (
            "whoever acknowledged it is told"
            if incident.status is IncidentStatus.ACKNOWLEDGED
            else "paged again from level 1"
        )
        print(f"incident {incident_id} raised to {severity} by {by}: {then}")
    else:
        print(f"incident {incident_id} lowered to {severity} by {by}")
    return 0
