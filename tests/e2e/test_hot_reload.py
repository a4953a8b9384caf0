"""An operator edits the schedule of a running ``tocsin up``: a broken edit is refused at its
file and line while the old schedule keeps paging; the mended edit is taken up within
seconds, ``/healthz`` shows the new version, and the next page goes to the new person."""

import os
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Sink, alertmanager_payload, eventually, free_port, write_config
from tests.e2e.processes import all_ready, kill_group, start_tocsin, started

TAKEN_UP_WITHIN = 5.0


def edit_schedule(config: Path, on_call: str) -> None:
    """As an editor saves: a new file put in place of the old one."""
    schedule = config.parent / "schedules" / "primary.yaml"
    draft = schedule.with_suffix(".draft")
    draft.write_text(
        "name: primary\ntimezone: Europe/Berlin\n"
        f'rotation: {{every: 1w, handoff: "2026-01-05 09:00", members: [{on_call}]}}\n'
    )
    os.replace(draft, schedule)


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def fire(url: str, alertname: str) -> None:
    """A new incident each time: the payments route groups by alert name."""
    payload = alertmanager_payload("firing", alertname=alertname, fingerprint=alertname)
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + "/v1/webhooks/alertmanager/s3cret", json=payload) as response,
    ):
        assert response.status == 202


async def version(url: str) -> str | None:
    try:
        status, body = await get(url + "/healthz")
    except aiohttp.ClientError:
        return None
    return str(body["config_version"]) if status == 200 else None


@pytest.mark.slow
async def test_an_edited_schedule_is_taken_up_while_paging_goes_on(
    tmp_path: Path, sink: Sink
) -> None:
    config = write_config(tmp_path, smtp_port=None, sink_url=sink.url, ack_timeout="10m")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "tocsin-up.log"
    args = ["up", "--config", str(config), "--port", str(port), "--data-dir", str(tmp_path / "d")]
    process = start_tocsin(args, cwd=tmp_path)
    try:
        await eventually(lambda: version(url), what="tocsin up to start")
        first = await version(url)

        edit_schedule(config, "zed")  # nobody of that name in people
        schedule = tmp_path / "schedules" / "primary.yaml"
        refused = f"{schedule}:3: rotation.members[0]: unknown person 'zed' (not in people)"
        await eventually(
            lambda: refused in log.read_text(), within=TAKEN_UP_WITHIN, what="the refusal"
        )
        status, ready = await get(url + "/readyz")
        assert status == 200  # paging goes on: still ready
        assert ready["config"] == f"edit not taken up, {first} still runs: {refused}"
        _, metrics = await get(url + "/metrics")
        assert "tocsin_config_valid 0.0" in metrics
        assert f'tocsin_config_info{{version="{first}"}} 1.0' in metrics
        await fire(url, "DiskFull")
        await eventually(lambda: len(sink.at("/alice", "page")) == 1, what="the old schedule")

        edit_schedule(config, "bob")
        edited = time.monotonic()
        await eventually(
            lambda: version_changed(url, first), within=TAKEN_UP_WITHIN, what="the new version"
        )
        taken_up = time.monotonic() - edited
        await fire(url, "HighLatency")
        await eventually(lambda: len(sink.at("/bob", "page")) == 1, what="the new schedule")

        assert len(sink.at("/alice", "page")) == 1
        status, ready = await get(url + "/readyz")
        assert (status, ready) == (200, {"status": "ok"})
        assert taken_up < TAKEN_UP_WITHIN
    finally:
        kill_group(process)
    assert "Traceback" not in log.read_text()


async def version_changed(url: str, first: str | None) -> bool:
    return await version(url) not in {None, first}


@pytest.mark.slow
async def test_web_router_and_worker_processes_run_the_same_version(
    tmp_path: Path, valkey_url: str
) -> None:
    config = write_config(tmp_path, smtp_port=None, sink_url="http://127.0.0.1:1", ack_timeout="5m")
    env = {"TOCSIN_REDIS_URL": valkey_url, "TOCSIN_SECRET_KEY": "k" * 32}
    with started(["web", "router", "worker"], config, tmp_path, env) as processes:
        await eventually(lambda: all_ready(processes), what="every role to start")
        first = {await version(p.url) for p in processes}
        assert len(first) == 1

        edit_schedule(config, "bob")

        async def all_moved_on() -> bool:
            versions = {await version(p.url) for p in processes}
            return len(versions) == 1 and versions != first

        await eventually(all_moved_on, within=TAKEN_UP_WITHIN, what="one new version")
    assert not any(p.tracebacks() for p in processes)


async def status_of(url: str, token: str) -> int:
    payload = alertmanager_payload("firing", alertname="Rotated")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/v1/webhooks/alertmanager/{token}", json=payload) as response,
    ):
        return response.status


@pytest.mark.slow
async def test_a_rotated_token_and_api_auth_are_taken_up_without_a_restart(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, smtp_port=None, sink_url="http://127.0.0.1:1", ack_timeout="5m")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["up", "--config", str(config), "--port", str(port), "--data-dir", str(tmp_path / "d")]
    process = start_tocsin(args, cwd=tmp_path)
    try:
        await eventually(lambda: version(url), what="tocsin up to start")
        assert await status_of(url, "s3cret") == 202
        assert (await get(url + "/metrics"))[0] == 200

        draft = config.with_suffix(".draft")
        edited = config.read_text().replace("token: s3cret", "token: r0tated")
        draft.write_text(edited + "api_auth: {metrics: token}\n")
        os.replace(draft, config)

        async def rotated() -> bool:
            return await status_of(url, "r0tated") == 202

        await eventually(rotated, within=TAKEN_UP_WITHIN, what="the rotated token")
        assert await status_of(url, "s3cret") == 404
        assert (await get(url + "/metrics"))[0] == 401
    finally:
        kill_group(process)
    log = (tmp_path / "tocsin-up.log").read_text()
    assert "Traceback" not in log
    assert "restarts" not in log  # nothing of this edit waits for one
