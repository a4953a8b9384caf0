"""``tocsin override add|list|remove``: who stands in on a schedule, changed in the store
at once, without a commit to the schedules' files. The override ends by itself."""

import argparse
import getpass
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from arq.connections import ArqRedis

from schedules.oncall import Cover
from schedules.override_store import OverrideNotFound, OverrideStore
from schedules.stored import OverrideRefused, StoredOverride, checked, read_time
from tocsin.config import LoadedConfig
from tocsin.settings import Settings
from tocsin.storecmd import add_data_dir, fail, on_store, read_if_stored


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    override = commands.add_parser(
        "override", parents=[common], help="someone stands in on a schedule, kept in the store"
    )
    actions = override.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an override")
    add.add_argument("schedule")
    add.add_argument("--person", required=True, help="a person id from people")
    when = "ISO time; without an offset, in the schedule's zone"
    add.add_argument("--from", dest="start", required=True, help=when)
    add.add_argument("--to", dest="end", required=True, help=when)
    add.add_argument("--note", default="", help="why, for whoever reads it later")
    listing = actions.add_parser("list", help="overrides not over yet")
    listing.add_argument("schedule", nargs="?", help="one schedule (default: all)")
    remove = actions.add_parser("remove", help="take an override back")
    remove.add_argument("id", help="as list shows it")
    for sub in (add, listing, remove):
        add_data_dir(sub)


def override_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    schedules = loaded.schedules
    if args.action == "remove":
        return on_store(settings, lambda redis: _remove(redis, sorted(schedules), args.id, now))
    if args.schedule is not None and args.schedule not in schedules:
        known = ", ".join(sorted(schedules)) or "none"
        return fail(f"no schedule {args.schedule!r} (known: {known})")
    if args.action == "list":
        names = [args.schedule] if args.schedule else sorted(schedules)
        return on_store(settings, lambda redis: _list(redis, names, now))
    zone = schedules[args.schedule].zone
    try:
        override = checked(
            StoredOverride(
                id="",
                schedule=args.schedule,
                person=args.person,
                start=read_time(args.start, zone, "--from"),
                end=read_time(args.end, zone, "--to"),
                note=args.note,
                created_at=now,
                created_by=getpass.getuser(),
            ),
            loaded.config.people,
            now,
        )
    except (OverrideRefused, ValueError) as error:
        return fail(str(error))
    return on_store(settings, lambda redis: _add(redis, override, now))


def stored_covers(
    settings: Settings, schedules: Collection[str], now: datetime
) -> dict[str, list[Cover]]:
    """The schedules' stored overrides as covers, for commands that show who is on call;
    none when there is no store to read."""

    async def read(redis: ArqRedis) -> dict[str, list[Cover]]:
        return await OverrideStore(redis).covers_of(schedules, now)

    return read_if_stored(settings, read) or {}


async def _add(redis: ArqRedis, override: StoredOverride, now: datetime) -> int:
    saved = await OverrideStore(redis).add(override, now)
    print(saved.id)
    return 0


async def _list(redis: ArqRedis, names: Iterable[str], now: datetime) -> int:
    for name, found in (await OverrideStore(redis).current_of(names, now)).items():
        for o in found:
            note = f"  {o.created_by}: {o.note}" if o.note else f"  {o.created_by}"
            span = f"{o.start:%Y-%m-%d %H:%M} to {o.end:%Y-%m-%d %H:%M} UTC"
            print(f"{o.id}  {name}  {o.person}  {span}{note}")
    return 0


async def _remove(redis: ArqRedis, names: list[str], override_id: str, now: datetime) -> int:
    store = OverrideStore(redis)
    for name in names:
        try:
            await store.remove(name, override_id, now)
        except OverrideNotFound:
            continue
        return 0
    return fail(f"no override {override_id!r} (tocsin override list shows them)")
