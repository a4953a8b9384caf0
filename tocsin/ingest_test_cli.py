"""``tocsin ingest-test INTEGRATION PAYLOAD.json``: the alerts a webhook body becomes, whole
(annotations, origin, times), as JSON; or the field errors the webhook would answer 422
with. The first step of ``tocsin explain``, on the same code (reading the file, picking the
integration, its source's ``parse``), without routes or a store.

The body only: a token or signature belongs to a request, not to a payload.
"""

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from ingest.config import pick_integration
from ingest.sources import SOURCES, PayloadError
from tocsin.config import LoadedConfig
from tocsin.explain_cli import read_payload
from tocsin.explain_text import refusal
from tocsin.storecmd import fail


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    sub = commands.add_parser(
        "ingest-test", parents=[common], help="the alerts a webhook payload becomes, as JSON"
    )
    sub.add_argument("integration", help="name (or type) of the integration it arrives on")
    sub.add_argument("payload", type=Path, help="a webhook body, as JSON")


def ingest_test_command(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    try:
        payload = read_payload(args.payload)
        integration = pick_integration(loaded.config.integrations, args.integration)
    except ValueError as error:
        return fail(str(error))
    try:
        alerts = SOURCES[integration.type].parse(payload, integration, datetime.now(UTC))
    except PayloadError as error:
        print("\n".join(refusal((e.field, e.message) for e in error.errors)))
        return 1
    print(json.dumps([a.model_dump(mode="json") for a in alerts], indent=2, ensure_ascii=False))
    return 0
