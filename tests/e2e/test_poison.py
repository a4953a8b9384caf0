"""Poison, tried on a real ``tocsin up`` as a bad night would: strange-but-JSON alerts are
each refused with a 422 or applied, an entry the router cannot apply becomes a dead letter,
and through all of it the next normal alert still pages at once; ``tocsin dead-letters``
lists and replays what was set aside."""

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ingest.config import Integration
from ingest.deadletters import DeadLetter
from ingest.keys import ALERT_STREAM
from ingest.sources import SOURCES
from router import keys as router_keys
from router.consumer import dead_letters
from tests.e2e.conftest import Sink, alertmanager_payload, eventually, free_port, write_config
from tests.e2e.processes import kill_group, start_tocsin
from tocsin.embedded import stored_url
from tocsin.store import connect

WEBHOOK = "/v1/webhooks/alertmanager/s3cret"


def strange(index: int, **alert: Any) -> dict[str, Any]:
    """An Alertmanager notification whose one alert has the fields given."""
    body = alertmanager_payload("firing", alertname=f"Strange{index}", fingerprint=f"s{index}")
    body["alerts"][0].update(alert)
    return body


STRANGE = [
    {"startsAt": "9999-12-31T23:59:59-05:00"},  # once stopped every router
    {"startsAt": "0001-01-01T00:00:00+05:00"},  # Go's zero time, in any zone: "unset"
    {"labels": {"alertname": "x", "service": "payments", "free": 1e400}},
    {"labels": {"alertname": "x", "service": "payments", "v": "x" * 20_000}},
    {"labels": {"alertname": "x", "service": "payments", "nested": {"a": [1, 2]}}},
    {"annotations": {"summary": "line one\nline two\r\n\u2028 and \u0000 a NUL"}},
    {"annotations": {"summary": "\u202eRTL override, emoji \U0001f525, ZWJ \u200d"}},
    {"labels": {"alertname": "", "service": "payments", "": "empty name"}},
    {"fingerprint": "f" * 10_000},
    {"generatorURL": "javascript:alert(1)"},
    {"endsAt": "2026-03-02T11:00:00Z"},  # ends before it starts
]


@pytest.fixture
async def up(tmp_path: Path, sink: Sink) -> AsyncIterator[tuple[str, Path]]:
    config = write_config(tmp_path, smtp_port=1, sink_url=sink.url, ack_timeout="5m")
    port = free_port()
    data_dir = tmp_path / "data"
    args = ["up", "--config", str(config), "--port", str(port), "--data-dir", str(data_dir)]
    process = start_tocsin(args, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        await eventually(lambda: ready(url), what="tocsin up to be ready")
        yield url, data_dir
    finally:
        kill_group(process)
    log = (tmp_path / "tocsin-up.log").read_text()
    assert "Traceback" not in log


async def ready(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(url + "/readyz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def post(url: str, body: object) -> tuple[int, Any]:
    # json.dumps spells infinity "Infinity", which is not JSON; 1e400 is, and reads as it.
    text = json.dumps(body).replace("Infinity", "1e400")
    async with aiohttp.ClientSession() as http, http.post(url + WEBHOOK, data=text) as response:
        return response.status, await response.json()


def dead_letters_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    return subprocess.run(
        [sys.executable, "-m", "tocsin", "dead-letters", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


async def test_poison_is_refused_or_applied_and_paging_goes_on(
    up: tuple[str, Path], sink: Sink
) -> None:
    url, data_dir = up
    answers = [await post(url, strange(i, **alert)) for i, alert in enumerate(STRANGE)]

    assert {status for status, _ in answers} <= {202, 422}
    for status, body in answers:
        if status == 422:
            assert body["errors"], body  # names the field
    accepted = sum(status == 202 for status, _ in answers)

    # An entry the router cannot apply, planted behind the webhook's back.
    redis = connect(stored_url(data_dir) or "")
    try:
        await redis.xadd(ALERT_STREAM, {"m": '{"dedup_key": "planted", "status": "firing"}'})

        # The next normal alert pages, poison or not.
        status, _ = await post(url, titled("normal alert"))
        assert status == 202
        await eventually(lambda: paged(sink, "normal alert"), what="the normal alert's page")

        async def planted_is_dead() -> bool:
            return await dead_letters(redis).count() == 1

        await eventually(planted_is_dead, what="the planted entry in the dead letters")

        async def drained() -> bool:
            groups = await redis.xinfo_groups(ALERT_STREAM)
            return [(g["pending"], g["lag"]) for g in groups] == [(0, 0)]

        await eventually(drained, what="the router to be done with every entry")
        incidents = await redis.zcard(router_keys.INCIDENT_INDEX)
        assert incidents == accepted + 1  # every accepted strange alert is its own group

        # Listed with its error; replayed, it is handed to the router again.
        listed = dead_letters_cli(data_dir, "list")
        assert listed.returncode == 0, listed.stderr
        [line] = listed.stdout.splitlines()
        letter_id, _, rest = line.partition("  ")
        assert letter_id.startswith("router:")
        assert "unreadable entry" in rest

        # A dead letter of an alert that can be applied (say its bug was fixed since).
        alert_json = as_alert_json(titled("fixed alert"))
        letter = DeadLetter(
            stream=ALERT_STREAM,
            group=router_keys.CONSUMER_GROUP,
            entry_id="0-1",
            error="RuntimeError: a bug since fixed",
            deliveries=5,
            at=datetime.now(UTC),
            payload=alert_json,
        )
        fixed_id = await dead_letters(redis).add(letter)
        replayed = dead_letters_cli(data_dir, "replay", f"router:{fixed_id}")
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout.startswith(f"replayed router:{fixed_id} as ")
        await eventually(lambda: paged(sink, "fixed alert"), what="the replayed alert's page")

        for dead_id in ("1-1", "not-an-id"):
            unknown = dead_letters_cli(data_dir, "replay", f"router:{dead_id}")
            assert (unknown.returncode, unknown.stdout) == (2, "")
            assert f"no dead letter {dead_id!r}" in unknown.stderr
    finally:
        await redis.aclose()


def titled(summary: str) -> dict[str, Any]:
    body = alertmanager_payload("firing", alertname=summary.title(), fingerprint=summary)
    body["alerts"][0]["annotations"] = {"summary": summary}
    return body


def paged(sink: Sink, title: str) -> bool:
    return any(page["title"] == title for page in sink.at("/alice", "page"))


def as_alert_json(body: dict[str, Any]) -> str:
    """The ``Alert`` a webhook body becomes, as the stream holds it."""
    integration = Integration(name="prod-am", type="alertmanager", token="s3cret")
    [alert] = SOURCES["alertmanager"].parse(body, integration, datetime.now(UTC))
    return alert.model_dump_json()
