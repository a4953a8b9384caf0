"""Grafana, Datadog and mapped generic webhooks as ``tocsin web`` serves them, against the real
Valkey and through the real router into incidents: signatures, header tokens and tokens
from the environment included."""

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from router.consumer import Router
from tests.conftest import ManualClock
from tests.integration.test_api import client, router, runtime
from tocsin.config import LoadedConfig, load_config
from tocsin.runtime import Runtime

PAYLOADS = Path(__file__).parents[1] / "fixtures" / "payloads"
HMAC_SECRET = "grafana-hmac-s3cret"
GRAFANA_TOKEN = "grafana-t0ken"
CONFIG = """\
integrations:
  - name: grafana-prod
    type: grafana
    token: env:TOCSIN_TEST_GRAFANA_TOKEN
    hmac_secret: env:TOCSIN_TEST_GRAFANA_HMAC
  - name: grafana-stamped
    type: grafana
    token: stamped-t0ken
    hmac_secret: env:TOCSIN_TEST_GRAFANA_HMAC
    hmac_header: X-Signature
    hmac_timestamp_header: X-Signature-Timestamp
  - {name: datadog, type: datadog, token: dd-t0ken}
  - name: kuma
    type: generic
    token: kuma-t0ken
    mapping:
      summary: {join: [monitor.name, heartbeat.msg], with: ": "}
      dedup_key: {join: [{value: kuma}, monitor.id], with: "-"}
      status: heartbeat.status
      resolved_values: [1]
      severity: {value: critical}
      labels: {monitor: monitor.name}
people:
  alice: {name: Alice, console: true}
escalation_policies:
  p: {levels: [{targets: [person:alice], ack_timeout: 5m}]}
routes:
  - {policy: p}
severity:
  - {match: {priority: P1}, level: SEV1}
  - {match: {severity: critical}, level: SEV1}
  - {matchers: ['priority=~"P[4-5]"'], level: SEV3}
"""

Client = TestClient[web.Request, web.Application]
__all__ = ["client", "router", "runtime"]  # over the `loaded` configuration below


def payload(source: str, name: str) -> bytes:
    return (PAYLOADS / source / f"{name}.json").read_bytes()


def signature(body: bytes, timestamp: str | None = None) -> str:
    message = body if timestamp is None else f"{timestamp}:".encode() + body
    return hmac.new(HMAC_SECRET.encode(), message, hashlib.sha256).hexdigest()


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LoadedConfig:
    monkeypatch.setenv("TOCSIN_TEST_GRAFANA_TOKEN", GRAFANA_TOKEN)
    monkeypatch.setenv("TOCSIN_TEST_GRAFANA_HMAC", HMAC_SECRET)
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG)
    return load_config(path)


async def post(
    client: Client, url: str, body: bytes, status: int = 202, **headers: str
) -> dict[str, Any]:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    response = await client.post(url, data=body, headers=sent)
    answer: dict[str, Any] = await response.json()
    assert response.status == status, answer
    return answer


async def incidents(client: Client) -> list[dict[str, Any]]:
    heads = (await (await client.get("/api/v1/incidents")).json())["incidents"]
    return [await (await client.get(f"/api/v1/incidents/{head['id']}")).json() for head in heads]


def rejected(runtime: Runtime, reason: str) -> float | None:
    value = runtime.registry.get_sample_value("tocsin_webhooks_rejected_total", {"reason": reason})
    return value


# --- Grafana ------------------------------------------------------------------------------


async def test_a_signed_grafana_alert_opens_an_incident_and_its_resolve_closes_it(
    client: Client, router: Router, clock: ManualClock
) -> None:
    url = f"/v1/webhooks/grafana/{GRAFANA_TOKEN}"
    firing = payload("grafana", "firing")
    await post(client, url, firing, X_Grafana_Alerting_Signature=signature(firing))
    assert await router.step() == 1
    (incident,) = await incidents(client)
    assert (incident["title"], incident["status"]) == ("Memory above 90% in zone us-1", "triggered")

    clock.advance(timedelta(minutes=15))
    resolved = payload("grafana", "resolved")
    await post(client, url, resolved, X_Grafana_Alerting_Signature=signature(resolved))
    assert await router.step() == 1
    (incident,) = await incidents(client)
    assert incident["status"] == "resolved"


async def test_a_truncated_grafana_group_does_not_resolve_on_the_alerts_shown(
    client: Client, router: Router
) -> None:
    url = f"/v1/webhooks/grafana/{GRAFANA_TOKEN}"
    truncated = payload("grafana", "truncated")
    await post(client, url, truncated, X_Grafana_Alerting_Signature=signature(truncated))
    await router.step()
    resolved = json.loads(payload("grafana", "resolved"))
    resolved["truncatedAlerts"] = 2
    body = json.dumps(resolved).encode()
    await post(client, url, body, X_Grafana_Alerting_Signature=signature(body))
    await router.step()
    (incident,) = await incidents(client)
    assert incident["status"] != "resolved"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing signature header X-Grafana-Alerting-Signature"),
        (
            {"X-Grafana-Alerting-Signature": "0" * 64},
            "the signature in X-Grafana-Alerting-Signature does not match the body",
        ),
        (
            {"X-Grafana-Alerting-Signature": hmac.new(b"wrong", b"", hashlib.sha256).hexdigest()},
            "the signature in X-Grafana-Alerting-Signature does not match the body",
        ),
    ],
)
async def test_an_unsigned_or_badly_signed_grafana_alert_is_401_and_counted(
    client: Client, runtime: Runtime, redis: Redis, headers: dict[str, str], error: str
) -> None:
    url = f"/v1/webhooks/grafana/{GRAFANA_TOKEN}"
    response = await client.post(url, data=payload("grafana", "firing"), headers=headers)
    assert (response.status, await response.json()) == (401, {"error": error})
    assert rejected(runtime, "bad_signature") == 1
    assert await redis.exists("tocsin:alerts") == 0


async def test_a_body_changed_after_signing_is_401(client: Client) -> None:
    body = payload("grafana", "firing")
    changed = body.replace(b"us-1", b"us-2")
    url = f"/v1/webhooks/grafana/{GRAFANA_TOKEN}"
    await post(client, url, changed, 401, X_Grafana_Alerting_Signature=signature(body))


async def test_a_timestamped_signature_is_accepted_while_fresh(
    client: Client, router: Router, clock: ManualClock
) -> None:
    url = "/v1/webhooks/grafana/stamped-t0ken"
    body = payload("grafana", "firing")
    stamp = str(int(clock.now.timestamp()))
    await post(client, url, body, X_Signature=signature(body, stamp), X_Signature_Timestamp=stamp)
    assert await router.step() == 1

    # The same request replayed six minutes later.
    clock.advance(timedelta(minutes=6))
    answer = await post(
        client, url, body, 401, X_Signature=signature(body, stamp), X_Signature_Timestamp=stamp
    )
    assert "more than 5 minutes" in answer["error"]
    # Signed over the body alone, as if the timestamp were not configured.
    await post(client, url, body, 401, X_Signature=signature(body))


async def test_grafanas_authorization_header_carries_the_token(
    client: Client, router: Router
) -> None:
    body = payload("grafana", "firing")
    await post(
        client,
        "/v1/webhooks/grafana",
        body,
        Authorization=f"Bearer {GRAFANA_TOKEN}",
        X_Grafana_Alerting_Signature=signature(body),
    )
    assert await router.step() == 1


# --- Datadog ------------------------------------------------------------------------------


async def test_a_datadog_monitor_opens_an_incident_with_its_priority_and_recovers(
    client: Client, router: Router, clock: ManualClock
) -> None:
    url = "/v1/webhooks/datadog/dd-t0ken"
    assert await post(client, url, payload("datadog", "no_data_minimal")) == {"accepted": 1}
    await router.step()
    (incident,) = await incidents(client)
    assert incident["severity"] == "SEV1"  # P1 through the severity rules
    assert incident["alerts"][0]["labels"]["priority"] == "P1"

    await post(client, url, payload("datadog", "triggered"))
    await router.step()
    clock.advance(timedelta(minutes=15))
    await post(client, url, payload("datadog", "recovered"))
    await router.step()
    statuses = {i["title"]: i["status"] for i in await incidents(client)}
    assert statuses == {
        "[No Data on {host:web-3}] Heartbeat missing": "triggered",
        "[Triggered on {host:db-1}] Disk usage above 90% on db-1": "resolved",
    }


@pytest.mark.parametrize(
    "name", ["triggered", "recovered", "warn_no_priority", "no_data_minimal", "extra_fields"]
)
async def test_every_datadog_fixture_is_accepted(client: Client, name: str) -> None:
    assert await post(client, "/v1/webhooks/datadog/dd-t0ken", payload("datadog", name)) == {
        "accepted": 1
    }


async def test_a_datadog_body_without_the_template_is_422_naming_the_fields(
    client: Client,
) -> None:
    answer = await post(client, "/v1/webhooks/datadog/dd-t0ken", b'{"body": "x"}', 422)
    assert {e["field"] for e in answer["errors"]} == {"title", "transition"}


# --- generic with a mapping, and header tokens --------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer kuma-t0ken",
        "Token token=kuma-t0ken",
        'Token token="kuma-t0ken"',
        "bearer kuma-t0ken",
    ],
)
async def test_uptime_kuma_through_a_mapping_with_the_token_in_a_header(
    client: Client, router: Router, clock: ManualClock, authorization: str
) -> None:
    url = "/v1/webhooks/generic"
    await post(client, url, payload("mapped", "uptime_kuma_down"), Authorization=authorization)
    await router.step()
    (incident,) = await incidents(client)
    assert (incident["title"], incident["severity"]) == (
        "Checkout API: Request failed with status code 503",
        "SEV1",
    )
    clock.advance(timedelta(minutes=5))
    await post(client, url, payload("mapped", "uptime_kuma_up"), Authorization=authorization)
    await router.step()
    (incident,) = await incidents(client)
    assert incident["status"] == "resolved"


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("/v1/webhooks/generic", {}),
        ("/v1/webhooks/generic", {"Authorization": "Bearer wrong"}),
        ("/v1/webhooks/generic", {"Authorization": "Basic a3VtYS10MGtlbg=="}),
        ("/v1/webhooks/generic", {"Authorization": "Bearer "}),
        ("/v1/webhooks/generic", {"Authorization": "Token kuma-t0ken"}),
        ("/v1/webhooks/datadog", {"Authorization": "Bearer kuma-t0ken"}),  # another source's
        ("/v1/webhooks/grafana", {"Authorization": "Bearer TOCSIN_TEST_GRAFANA_TOKEN"}),
    ],
)
async def test_a_missing_or_wrong_header_token_is_the_unknown_webhook(
    client: Client, runtime: Runtime, url: str, headers: dict[str, str]
) -> None:
    response = await client.post(url, data=b"{}", headers=headers)
    assert (response.status, await response.json()) == (404, {"error": "unknown webhook"})
    assert rejected(runtime, "unknown_webhook") == 1


async def test_a_mapped_payload_missing_its_summary_is_422_naming_the_path(
    client: Client,
) -> None:
    # Uptime Kuma's "Test" button sends no monitor; the summary joins two paths, so the
    # error names the mapping's field.
    body = json.dumps({"heartbeat": None, "monitor": None, "msg": "Test"}).encode()
    answer = await post(client, "/v1/webhooks/generic/kuma-t0ken", body, 422)
    assert answer["errors"] == [{"field": "mapping.summary", "message": "the summary is absent"}]


async def test_no_answer_and_no_log_line_holds_a_token(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    body = payload("grafana", "firing")
    signed = {"X-Grafana-Alerting-Signature": signature(body)}
    for url, headers in [
        (f"/v1/webhooks/grafana/{GRAFANA_TOKEN}", signed),
        (f"/v1/webhooks/grafana/{GRAFANA_TOKEN}", {}),
        ("/v1/webhooks/grafana", {"Authorization": f"Bearer {GRAFANA_TOKEN}"}),
        ("/v1/webhooks/grafana", {"Authorization": f"Bearer {GRAFANA_TOKEN}x", **signed}),
    ]:
        response = await client.post(url, data=body, headers=headers)
        text = await response.text()
        assert GRAFANA_TOKEN not in text
        assert HMAC_SECRET not in text
        assert signature(body) not in text
    # The test server's access log shows paths; `tocsin web` serves with none.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "accepted 1 alert(s) from grafana-prod" in ours
    assert GRAFANA_TOKEN not in ours
    assert HMAC_SECRET not in ours
