"""``tocsin calendar-url person|schedule NAME``: the URL of a calendar feed, token included,
to paste into a calendar app's "subscribe to calendar"."""

import argparse

from tocsin.calendar_feeds import feed_url
from tocsin.config import LoadedConfig
from tocsin.settings import Settings, SettingsError
from tocsin.storecmd import add_data_dir, fail


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    sub = commands.add_parser(
        "calendar-url", parents=[common], help="a person's or a schedule's calendar feed"
    )
    sub.add_argument("kind", choices=["person", "schedule"])
    sub.add_argument("name", help="a person id or a schedule name")
    add_data_dir(sub)


def calendar_url_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    known = loaded.config.people if args.kind == "person" else loaded.schedules
    if args.name not in known:
        names = ", ".join(sorted(known)) or "none"
        return fail(f"no {args.kind} {args.name!r} (known: {names})")
    try:
        # The key the web role signs with: TOCSIN_SECRET_KEY, or the one `tocsin up` keeps.
        secret = settings.secret(may_create=(settings.data_dir / "secret.key").exists())
    except SettingsError as error:
        return fail(str(error))
    print(feed_url(settings.base_url, args.kind, args.name, secret))
    return 0
