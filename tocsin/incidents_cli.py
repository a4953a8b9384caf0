"""``tocsin incidents``: the incidents in the store as a table, newest first (open ones unless
``--status all``), and ``tocsin incidents show ID``, one with its alerts and timeline; for a
terminal on a machine that reaches the store, or as ``--json`` for a script.

Titles, labels and notes come from alerts and people: anything a terminal would take as a
control sequence is printed as ``?``."""

import argparse
import json
from collections.abc import Sequence
from datetime import datetime

from arq.connections import ArqRedis

from notifier.channels.render import format_time
from router.models import AlertRecord, Incident, IncidentStatus, TimelineEvent
from router.store import MAX_ALERTS_PAGE, IncidentStore
from tocsin.console.incidents import spelled
from tocsin.runtime import system_clock
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store

MAX_LIMIT = 1000
READ_PAGE = 200
"""Incidents read at a time while looking for open ones."""
COLUMNS = ("ID", "SEVERITY", "STATUS", "AGE", "TITLE", "OWNER")


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    incidents = commands.add_parser(
        "incidents", parents=[common], help="list incidents, or show one (`show ID`)"
    )
    incidents.add_argument(
        "--status", choices=["open", "all"], default="open", help="open (the default) or all"
    )
    incidents.add_argument(
        "--limit", type=_limit, default=50, help=f"at most this many, 1..{MAX_LIMIT} (50)"
    )
    incidents.add_argument("--json", action="store_true", help="as JSON, for scripts")
    add_data_dir(incidents)
    actions = incidents.add_subparsers(dest="action")
    show = actions.add_parser("show", help="one incident with its alerts and timeline")
    show.add_argument("id", help="the incident's number")
    show.add_argument("--json", action="store_true", help="as JSON, for scripts")
    add_data_dir(show)


def incidents_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "show":
        return on_store(settings, lambda redis: _show(redis, args.id, args.json))
    return on_store(settings, lambda redis: _list(redis, args.status, args.limit, args.json))


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"a number from 1 to {MAX_LIMIT}, not {text!r}")
    return int(text)


async def _list(redis: ArqRedis, status: str, limit: int, as_json: bool) -> int:
    chosen = await _read(IncidentStore(redis), open_only=status == "open", limit=limit)
    if as_json:
        print(json.dumps({"incidents": [i.model_dump(mode="json") for i in chosen]}, indent=2))
        return 0
    if not chosen:
        print("no open incidents" if status == "open" else "no incidents")
        return 0
    now = system_clock()
    rows = [
        (
            i.id,
            i.severity.value,
            i.status.value,
            spelled(max(0, int((now - i.created_at).total_seconds()))),
            _plain(i.title),
            owner(i),
        )
        for i in chosen
    ]
    print(_table([COLUMNS, *rows]))
    return 0


async def _read(store: IncidentStore, *, open_only: bool, limit: int) -> list[Incident]:
    """Newest first; reading on past resolved ones until ``limit`` open ones are found."""
    if not open_only:
        return await store.list(limit=limit)
    found: list[Incident] = []
    offset = 0
    while len(found) < limit:
        page = await store.list(limit=READ_PAGE, offset=offset)
        found += [i for i in page if i.status is not IncidentStatus.RESOLVED]
        if len(page) < READ_PAGE:
            break
        offset += READ_PAGE
    return found[:limit]


async def _show(redis: ArqRedis, incident_id: str, as_json: bool) -> int:
    store = IncidentStore(redis)
    incident = await store.get(incident_id)
    if incident is None:
        return fail(f"no incident {incident_id!r} (or it was resolved and has expired)")
    alerts, more = await store.alerts(incident_id, limit=MAX_ALERTS_PAGE)
    timeline = await store.timeline(incident_id)
    if as_json:
        shown = {
            "incident": incident.model_dump(mode="json"),
            "alerts": [a.model_dump(mode="json") for a in alerts],
            "timeline": [e.model_dump(mode="json", exclude_none=True) for e in timeline],
        }
        print(json.dumps(shown, indent=2))
        return 0
    print("\n".join(_described(incident, alerts, more is not None, timeline, system_clock())))
    return 0


def _described(
    incident: Incident,
    alerts: Sequence[AlertRecord],
    more: bool,
    timeline: Sequence[TimelineEvent],
    now: datetime,
) -> list[str]:
    age = spelled(max(0, int((now - incident.created_at).total_seconds())))
    facts = [
        incident.status.value,
        f"opened {format_time(incident.created_at)} ({age} ago)",
        f"route {incident.route}",
        *([f"service {_plain(incident.service)}"] if incident.service else []),
        f"policy {incident.policy}",
        *([f"owner {owner(incident)}"] if owner(incident) else []),
    ]
    lines = [
        f"#{incident.id} {incident.severity.value} {_plain(incident.title)}",
        " · ".join(facts),
        "",
        f"Alerts ({incident.alerts_firing} firing of {incident.alerts_total}):",
    ]
    for alert in alerts:
        labels = " ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
        lines.append(f"  {alert.status.value:<8} x{alert.count:<4} {_plain(alert.summary)}")
        lines.append(f"           {_plain(labels)}")
    if more:
        lines.append(f"  … and more: the first {len(alerts)} are shown")
    lines += ["", "Timeline:"]
    for event in timeline:
        said = [event.kind.value.replace("_", " ")]
        said += [part for part in (event.person, event.channel, event.detail) if part]
        lines.append(f"  {format_time(event.at)}  {_plain(' · '.join(said))}")
    return lines


def owner(incident: Incident) -> str:
    """Who has it: whoever acknowledged it, else whom it was handed to."""
    return incident.acknowledged_by or incident.assigned_to or ""


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _plain(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)
