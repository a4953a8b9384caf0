"""``tocsin diff OLD NEW`` or ``tocsin diff --against REV``: how an edit of the configuration
changes who is on call over the coming weeks, shift by shift, for review before it is merged.
Exits 0 when nothing changes, 1 when something does, 2 when either side cannot be read."""

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from schedules.diff import Kind, ShiftChange, changes
from schedules.models import Schedule
from schedules.yamlfile import ConfigFileError
from tocsin.config import LoadedConfig, load_config
from tocsin.storecmd import fail

DEFAULT_WEEKS = 4
MAX_WEEKS = 52
CONFIG_NAME = "tocsin.yaml"
_SIGNS = {Kind.REMOVED: "-", Kind.CHANGED: "~", Kind.ADDED: "+"}


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    sub = commands.add_parser(
        "diff", parents=[common], help="how an edit changes who is on call (exit 1 if it does)"
    )
    sub.add_argument("old", nargs="?", type=Path, help=f"folder with {CONFIG_NAME}, or the file")
    sub.add_argument("new", nargs="?", type=Path, help="the same, edited")
    sub.add_argument(
        "--against", metavar="REV", help="compare --config with itself at a git revision"
    )
    sub.add_argument("--weeks", type=int, default=DEFAULT_WEEKS, help=f"({DEFAULT_WEEKS})")
    sub.add_argument(
        "--at", type=datetime.fromisoformat, help="from this ISO time with offset (default: now)"
    )
    sub.add_argument("--json", action="store_true", help="as JSON")


def diff_command(config_path: Path, args: argparse.Namespace, clock: Callable[[], datetime]) -> int:
    if not 1 <= args.weeks <= MAX_WEEKS:
        return fail(f"--weeks {args.weeks}: give a number of weeks from 1 to {MAX_WEEKS}")
    start = args.at or clock().replace(second=0, microsecond=0)
    if start.tzinfo is None:
        return fail("--at needs a time zone offset, e.g. 2026-12-24T10:00+01:00")
    if (args.against is None) == (args.old is None or args.new is None):
        return fail("give OLD and NEW, or --against REV (with --config, or tocsin.yaml here)")
    with tempfile.TemporaryDirectory(prefix="tocsin-diff-") as scratch:
        try:
            if args.against is not None:
                old, new = _at_revision(config_path, args.against, Path(scratch)), config_path
            else:
                old, new = _config_file(args.old), _config_file(args.new)
            before, after = load_config(old), load_config(new)
        except ConfigFileError as error:
            print(error, file=sys.stderr)
            return 2
        except ValueError as error:
            return fail(str(error))
    end = start + timedelta(weeks=args.weeks)
    found = changes(before.schedules, after.schedules, start, end)
    if args.json:
        print(json.dumps(_as_json(before, after, start, end, found), indent=2))
    else:
        print("\n".join(_text(before, after, start, args.weeks, found)))
    return 1 if found else 0


def _config_file(path: Path) -> Path:
    return path / CONFIG_NAME if path.is_dir() else path


def _at_revision(config_path: Path, revision: str, scratch: Path) -> Path:
    """The configuration's folder as it was at ``revision``, written under ``scratch``: the
    path of its config file there."""
    folder = config_path.absolute().parent.resolve()
    top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    inside = folder.relative_to(top)
    archive = _git(top, "archive", "--format=tar", revision, "--", str(inside))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch, filter="data")
    return scratch / inside / config_path.name


def _git(where: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, check=False)
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        raise ValueError(f"git {args[0]}: {said[-1] if said else 'failed'}")
    return done.stdout


def _name(loaded: LoadedConfig, person: str | None) -> str:
    known = loaded.config.people.get(person or "")
    return f"{known.name} ({person})" if known else str(person)


def _zone_of(before: LoadedConfig, after: LoadedConfig, name: str) -> Schedule:
    return after.schedules.get(name) or before.schedules[name]


def _text(
    before: LoadedConfig,
    after: LoadedConfig,
    start: datetime,
    weeks: int,
    found: dict[str, list[ShiftChange]],
) -> list[str]:
    span = f"{weeks} week{'s' if weeks > 1 else ''} from {start:%Y-%m-%d %H:%M %Z}"
    if not found:
        return [f"No change in who is on call over {span}."]
    lines = [f"Who is on call changes over {span}:"]
    for name, listed in found.items():
        zone = _zone_of(before, after, name).zone
        lines += ["", f"{name} ({zone.key}):"]
        for change in listed:
            when = (
                f"{change.start.astimezone(zone):%a %Y-%m-%d %H:%M %Z} to "
                f"{change.end.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
            )
            who = {
                Kind.REMOVED: _name(before, change.old),
                Kind.ADDED: _name(after, change.new),
                Kind.CHANGED: f"{_name(before, change.old)} -> {_name(after, change.new)}",
            }[change.kind]
            lines.append(f"  {_SIGNS[change.kind]} {when}  {who}")
    return lines


def _as_json(
    before: LoadedConfig,
    after: LoadedConfig,
    start: datetime,
    end: datetime,
    found: dict[str, list[ShiftChange]],
) -> dict[str, object]:
    def one(name: str, change: ShiftChange) -> dict[str, object]:
        zone = _zone_of(before, after, name).zone
        return {
            "change": str(change.kind),
            "start": change.start.astimezone(zone).isoformat(),
            "end": change.end.astimezone(zone).isoformat(),
            "old": change.old,
            "new": change.new,
        }

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "changed": bool(found),
        "schedules": {name: [one(name, c) for c in listed] for name, listed in found.items()},
    }
