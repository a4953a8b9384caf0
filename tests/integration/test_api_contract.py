"""The HTTP API against its own ``/openapi.json``: schemathesis generates requests from the
document (bodies from the payload and API models, paths, queries) and sends them to the app
as ``tocsin web`` serves it, on 127.0.0.1 with the real Valkey. No answer may be a 5xx, and
every answer documented as JSON must be JSON."""

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from redis.asyncio import Redis
from schemathesis import Case, GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance

from ingest.keys import ALERT_STREAM
from ingest.sources import SOURCES
from tests.conftest import ManualClock
from tocsin.app import make_app
from tocsin.config import load_config
from tocsin.openapi import PATH
from tocsin.openapi import document as document_of
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.tokens import Scope, TokenStore

EXAMPLES = 30
"""Per operation: a dozen operations stay well under 30 s."""
TOKENS = {"alertmanager": "s3cret", "generic": "t0ken"}
"""The webhook tokens of deploy/tocsin.yaml, so bodies reach the sources, not only a 404."""
CHECKS = [not_a_server_error, content_type_conformance]
DEPLOY = Path(__file__).parents[2] / "deploy" / "tocsin.yaml"


@pytest.fixture
def runtime(redis: Redis, clock: ManualClock) -> Runtime:
    return Runtime(Settings(), load_config(DEPLOY), redis, b"link-signing-key", clock=clock)


def fuzz(document: dict[str, Any], base_url: str, headers: dict[str, str]) -> list[str]:
    """Every operation of the document, ``EXAMPLES`` requests each; what was fuzzed."""
    schema = openapi.from_dict(document)
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        source = operation.path.split("/")[3] if operation.path.startswith("/v1/") else None
        token = {"token": TOKENS[source]} if source in TOKENS else None

        # Valid requests, and requests that break the schema on purpose.
        cases = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=token) | (
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=token)
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def send(case: Case) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        send()
        fuzzed.append(operation.label)
    return fuzzed


def test_every_api_route_is_in_the_document(runtime: Runtime) -> None:
    document = document_of(SOURCES)
    app = make_app(runtime)
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(("/api/", "/v2/"))
        and route.method != "HEAD"  # aiohttp's own beside every GET
    }
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert routes <= documented
    for name in ("alertmanager", "generic"):
        assert ("POST", f"/v1/webhooks/{name}/{{token}}") in documented
    for path, item in document["paths"].items():
        for operation in item.values():
            assert ("security" in operation) == path.startswith("/api/v1/"), path


async def test_no_request_the_document_allows_gets_a_server_error(
    runtime: Runtime, redis: Redis, clock: ManualClock
) -> None:
    token, _ = await TokenStore(redis).create("contract", Scope.WRITE, clock())
    async with TestServer(make_app(runtime), host="127.0.0.1") as server:
        async with aiohttp.ClientSession() as http, http.get(server.make_url(PATH)) as response:
            assert response.status == 200
            document = await response.json()
        base_url = str(server.make_url(""))
        headers = {"Authorization": f"Bearer {token}"}
        fuzzed = await asyncio.to_thread(fuzz, document, base_url, headers)
    assert "POST /v1/webhooks/alertmanager/{token}" in fuzzed
    assert "GET /api/v1/incidents" in fuzzed
    assert "POST /api/v2/silences" in fuzzed
    assert "POST /api/v1/silences" in fuzzed
    # Generated bodies got through the sources, not only their refusals.
    assert await redis.xlen(ALERT_STREAM) > 0
