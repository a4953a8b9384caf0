"""Alert -> page latency of the whole service, as deployed on a laptop.

Starts ``tocsin up`` (embedded Valkey, append-only file fsynced on every write) in its own
process with a one-level policy paging one person by webhook to a sink on 127.0.0.1, sends
new alerts (each its own incident) at a fixed rate and measures, per alert, from just before
its webhook POST to the sink receiving the page. Then measures webhook throughput with a
bounded burst of repeats of one alert. Loopback only; every loop is bounded.

    .venv/bin/python -m tests.bench.bench_alert_to_page [--alerts 300] [--rate 50]
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.e2e.conftest import eventually, free_port
from tests.e2e.processes import kill_group, responds, start_tocsin

CONFIG = """
integrations: [{{name: bench, type: generic, token: bench-token}}]
people: {{oncall: {{name: On Call, webhook: "{sink}/page"}}}}
escalation_policies:
  bench: {{levels: [{{targets: ["person:oncall"], ack_timeout: 1h}}]}}
routes: [{{match: {{}}, policy: bench}}]
"""


async def main(alerts: int, rate: float, burst: int) -> None:
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def page(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["kind"] == "page" and body["title"] in sent:
            latencies.append(time.perf_counter() - sent[body["title"]])
        return web.Response(text="ok")

    sink_port, port = free_port(), free_port()
    sink = web.Application()
    sink.router.add_post("/page", page)
    runner = web.AppRunner(sink, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sink_port).start()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = directory / "tocsin.yaml"
        config.write_text(CONFIG.format(sink=f"http://127.0.0.1:{sink_port}"))
        url = f"http://127.0.0.1:{port}"
        process = start_tocsin(
            [
                "up",
                "--config",
                str(config),
                "--port",
                str(port),
                "--data-dir",
                str(directory / "d"),
            ],
            cwd=directory,
        )
        try:
            async with aiohttp.ClientSession() as http:
                await eventually(lambda: responds(http, url + "/healthz"), what="tocsin up")
                webhook = f"{url}/v1/webhooks/generic/bench-token"
                start = time.perf_counter()
                for n in range(alerts):
                    await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
                    title = f"bench alert {n}"
                    sent[title] = time.perf_counter()
                    body = {"summary": title, "severity": "critical", "dedup_key": f"k{n}"}
                    async with http.post(webhook, json=body) as response:
                        assert response.status == 202, await response.text()
                await eventually(lambda: len(latencies) == alerts, what="every page")
                report("alert -> page (webhook to loopback sink)", latencies)

                repeat = {"summary": "repeat", "severity": "warning", "dedup_key": "same"}
                began = time.perf_counter()
                await asyncio.gather(
                    *(_post_many(http, webhook, repeat, burst // 20) for _ in range(20))
                )
                elapsed = time.perf_counter() - began
                print(
                    f"webhook ingest: {burst} POSTs, 20 concurrent clients: "
                    f"{burst / elapsed:,.0f}/s"
                )
        finally:
            kill_group(process)
            await runner.cleanup()


async def _post_many(http: aiohttp.ClientSession, url: str, body: object, count: int) -> None:
    for _ in range(count):
        async with http.post(url, json=body) as response:
            assert response.status == 202


def report(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p = statistics.quantiles(ms, n=100, method="inclusive")
    print(
        f"{name}: n={len(ms)} p50={p[49]:.1f} ms p90={p[89]:.1f} ms p99={p[98]:.1f} ms "
        f"max={ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="new incidents per second")
    parser.add_argument("--burst", type=int, default=4000, help="POSTs in the throughput run")
    args = parser.parse_args()
    os.environ.pop("TOCSIN_REDIS_URL", None)
    asyncio.run(main(args.alerts, args.rate, args.burst))
