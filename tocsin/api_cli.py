"""``tocsin ack ID``, ``tocsin resolve ID`` and ``tocsin severity ID SEV1``: act on an
incident through the HTTP API of a running Tocsin, from any machine that reaches it, with an
API token; no store access needed, and the token is recorded as who acted (or the person
``--by`` names)."""

import argparse
import asyncio
import os
from typing import Any
from urllib.parse import quote

import aiohttp

from tocsin.incident_cli import severity_argument
from tocsin.storecmd import fail

DEFAULT_URL = "http://127.0.0.1:8080"
TIMEOUT_SECONDS = 10
"""A server that accepts and never answers is an error, not a hang."""
ACTIONS = {"ack": "acknowledge", "resolve": "resolve", "severity": "severity"}


def add_parsers(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    helps = {
        "ack": "acknowledge an incident through the API (token in TOCSIN_API_TOKEN)",
        "resolve": "resolve an incident through the API (token in TOCSIN_API_TOKEN)",
        "severity": "set an incident's severity through the API (token in TOCSIN_API_TOKEN)",
    }
    for command, text in helps.items():
        sub = commands.add_parser(command, parents=[common], help=text)
        sub.add_argument("id", help="the incident's number")
        if command == "severity":
            sub.add_argument(
                "severity", type=severity_argument, help="SEV1 (the most severe) to SEV4"
            )
        sub.add_argument(
            "--url", help=f"where Tocsin's API is (TOCSIN_API_URL, default {DEFAULT_URL})"
        )
        sub.add_argument("--by", help="a configured person to record instead of the token's name")


def api_command(args: argparse.Namespace) -> int:
    token = os.environ.get("TOCSIN_API_TOKEN", "").strip()
    if not token:
        return fail(
            "set TOCSIN_API_TOKEN to a write token (tocsin token create NAME --scope write)"
        )
    if not (token.isascii() and token.isprintable() and " " not in token):
        return fail("TOCSIN_API_TOKEN is not a token: tcs_... as tocsin token create prints it")
    url = (args.url or os.environ.get("TOCSIN_API_URL") or DEFAULT_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        return fail(f"--url: {url!r} is not an http(s) URL")
    body = {} if args.by is None else {"by": args.by}
    if args.command == "severity":
        body["severity"] = args.severity.value
    return asyncio.run(_act(url, token, ACTIONS[args.command], args.id, body))


async def _act(url: str, token: str, action: str, incident_id: str, body: dict[str, str]) -> int:
    endpoint = f"{url}/api/v1/incidents/{_quoted(incident_id)}/{action}"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                endpoint, json=body, headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            status = response.status
            answer = await _json(response)
    except (aiohttp.InvalidURL, ValueError):
        return fail(f"--url: {url!r} is not an http(s) URL")
    except (aiohttp.ClientError, TimeoutError) as error:
        return fail(f"cannot reach the API at {url}: {str(error) or type(error).__name__}")
    said = answer.get("error") if isinstance(answer, dict) else None
    if status == 200 and isinstance(answer, dict):
        print(f"incident {incident_id}: {answer.get('result', action)}")
        return 0
    if status == 401:
        return fail(f"the API refused TOCSIN_API_TOKEN: {said}")
    if status == 403:
        return fail(f"TOCSIN_API_TOKEN may only read: {said}")
    if status == 404:
        return fail(f"no incident {incident_id!r} (or it was resolved and has expired)")
    if said is not None:  # 400 (--by), 409 (resolved)
        return fail(f"incident {incident_id}: {said}")
    return fail(f"the API at {url} answered {status}: is it Tocsin?")


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:
        return None


def _quoted(incident_id: str) -> str:
    """An id is a number; anything else stays one path segment."""
    return quote(incident_id, safe="")
