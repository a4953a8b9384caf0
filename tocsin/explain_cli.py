"""``tocsin explain PAYLOAD.json``: what the webhook would make of a payload, where each alert
would go and why, and who would be paged; live silences and inhibition from the store when
one answers."""

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from ingest.body import MalformedJson, decode_json
from ingest.config import Integration, pick_integration
from ingest.web import MAX_BODY_BYTES
from notifier.explain import Explanation, alerts_of, explain
from router.explain import Facts
from schedules.oncall import Cover
from tocsin.config import LoadedConfig
from tocsin.embedded import stored_url
from tocsin.explain_text import render
from tocsin.explaining import live_covers, live_facts, parse_at
from tocsin.settings import Settings
from tocsin.store import StoreUrlError, connect, describe
from tocsin.storecmd import add_data_dir, fail


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    sub = commands.add_parser(
        "explain", parents=[common], help="where a webhook payload would go, and who it pages"
    )
    sub.add_argument("payload", type=Path, help="a webhook body, as JSON")
    sub.add_argument(
        "--integration", help="name (or type) of the integration it arrives on; needed if several"
    )
    sub.add_argument("--at", help="ISO 8601 instant (default now; without offset: UTC)")
    sub.add_argument("--json", action="store_true", help="the explanation as JSON")
    add_data_dir(sub)


def explain_command(settings: Settings, loaded: LoadedConfig, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    try:
        payload = read_payload(args.payload)
        integration = pick_integration(loaded.config.integrations, args.integration)
        at, notes = parse_at(args.at, now)
    except ValueError as error:
        return fail(str(error))
    explanation = asyncio.run(_explain(settings, loaded, integration, payload, at, now, notes))
    if args.json:
        print(explanation.model_dump_json(indent=2))
    else:
        print(render(explanation), end="")
    return 1 if explanation.errors else 0


def read_payload(path: Path) -> object:
    """The decoded JSON in ``path``; ``ValueError`` naming the file and what is wrong, as
    the webhook would say it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from None
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError(f"{path}: larger than a webhook takes ({MAX_BODY_BYTES} bytes)")
    try:
        return decode_json(raw)
    except MalformedJson as error:
        raise ValueError(f"{path}: {error}") from None


async def _explain(
    settings: Settings,
    loaded: LoadedConfig,
    integration: Integration,
    payload: object,
    at: datetime,
    now: datetime,
    notes: list[str],
) -> Explanation:
    routing = loaded.routing
    stored: dict[str, list[Cover]] = {}
    url = settings.redis_url or stored_url(settings.data_dir)
    if url is None:
        facts = Facts(
            unchecked=f"no store (TOCSIN_REDIS_URL is not set, and no running `tocsin up` "
            f"in {settings.data_dir})"
        )
    else:
        try:
            redis = connect(url)
        except StoreUrlError as error:
            facts = Facts(unchecked=str(error))
        else:
            try:
                alerts = alerts_of(integration, payload, at)
                facts = await live_facts(redis, routing, alerts, now)
                stored = await live_covers(redis, loaded.schedules, now)
            finally:
                await redis.aclose()
            if facts.silences is not None:
                notes = [
                    *notes,
                    f"silences, inhibiting alerts and open incidents read from {describe(url)}",
                ]
    return explain(routing, loaded.directory, integration, payload, at, facts, notes, stored)
