"""Crash ``tocsin up`` (and its embedded Valkey) between a page and its escalation: after a
restart on the same data dir, the escalation still goes out, on time."""

import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import (
    Mailbox,
    Sink,
    alertmanager_payload,
    eventually,
    free_port,
    write_config,
)
from tests.e2e.processes import kill_group, responds, start_tocsin, token_from_the_cli

ACK_TIMEOUT = 4.0


@pytest.fixture
def up_command(tmp_path: Path, mailbox: Mailbox, sink: Sink) -> list[str]:
    config = write_config(
        tmp_path, smtp_port=mailbox.port, sink_url=sink.url, ack_timeout=f"{int(ACK_TIMEOUT)}s"
    )
    return [
        "up",
        "--config",
        str(config),
        "--port",
        str(free_port()),
        "--data-dir",
        str(tmp_path / "data"),
    ]


async def healthy(url: str) -> bool:
    async with aiohttp.ClientSession() as http:
        return await responds(http, url + "/healthz")


async def fire(url: str) -> int:
    """The status of an Alertmanager webhook with the test's firing alert."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url + "/v1/webhooks/alertmanager/s3cret", json=alertmanager_payload("firing")
        ) as response,
    ):
        return response.status


async def paged_recorded(url: str, headers: dict[str, str]) -> bool:
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(url + "/api/v1/incidents/1") as got,
    ):
        body = await got.json()
    return sum(e["kind"] == "paged" for e in body["timeline"]) == 2  # webhook and email


async def test_escalation_survives_a_crash(
    tmp_path: Path, up_command: list[str], sink: Sink
) -> None:
    url = f"http://127.0.0.1:{up_command[4]}"
    first = start_tocsin(up_command, cwd=tmp_path)
    try:
        await eventually(lambda: healthy(url), what="tocsin up to start")
        assert await fire(url) == 202
        await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="level 1 page")
        paged_at = time.monotonic()
        # Crash once the page is on record: a crash between sending and recording would
        # rightly send it again after the restart (delivery is at least once).
        api = await token_from_the_cli(tmp_path, "--data-dir", str(tmp_path / "data"))
        await eventually(lambda: paged_recorded(url, api), what="the page on the timeline")
    finally:
        kill_group(first)  # SIGKILL: the service and its embedded Valkey die mid-flight

    second = start_tocsin(up_command, cwd=tmp_path)
    try:
        await eventually(lambda: healthy(url), what="tocsin up to restart")
        await eventually(
            lambda: len(sink.at("/bob", "page")) == 1,
            within=3 * ACK_TIMEOUT,
            what="level 2 page after the restart",
        )
        waited = time.monotonic() - paged_at
        # Not before the level's timeout, and not long after it (the timer's poll period
        # and the restart's own time are the slack).
        assert ACK_TIMEOUT - 0.5 <= waited <= ACK_TIMEOUT + 3
        assert len(sink.at("/alice", "page")) == 1
    finally:
        kill_group(second)


async def test_up_starts_its_valkey_again_when_it_dies(
    tmp_path: Path, up_command: list[str], sink: Sink
) -> None:
    url = f"http://127.0.0.1:{up_command[4]}"
    process = start_tocsin(up_command, cwd=tmp_path)
    try:
        await eventually(lambda: healthy(url), what="tocsin up to start")
        pidfile = tmp_path / "data" / "valkey" / "valkey.pid"
        os.kill(int(pidfile.read_text()), signal.SIGKILL)

        # Webhooks are refused for a moment, then the same data is back and paging works.
        async def accepted() -> bool:
            return await fire(url) == 202

        await eventually(accepted, within=20, what="webhooks accepted again")
        await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="the page")
        assert process.poll() is None
    finally:
        kill_group(process)
    assert "Traceback" not in (tmp_path / "tocsin-up.log").read_text()
