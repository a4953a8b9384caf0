"""A webhook receiver for benchmarks, in its own process so that counting pages takes no CPU
from the process measured: it notes when each page arrived (wall clock, comparable across
processes of one machine) and answers ``GET /pages`` with what it noted. ``--slow-every N``
answers every Nth page ``--slow-seconds`` late (noted on arrival all the same), as a
receiver that now and then hangs: what matters is how the pages behind it fare.

    python -m tests.bench.page_sink --port P [--slow-every 50 --slow-seconds 1]
"""

import argparse
import asyncio
import json
import time

from aiohttp import web

PAGES = web.AppKey("pages", list[tuple[str, str, int, float]])
"""Per page: incident id, title, level, arrival (unix seconds)."""
SLOW = web.AppKey("slow", tuple[int, float])
"""Every how many pages one is answered late (0: none), and how late (seconds)."""


async def page(request: web.Request) -> web.Response:
    arrived = time.time()
    body = json.loads(await request.read())
    if body["kind"] == "page":
        noted = request.app[PAGES]
        noted.append((body["incident_id"], body["title"], body["level"], arrived))
        every, late = request.app[SLOW]
        if every and len(noted) % every == 0:
            await asyncio.sleep(late)
    return web.Response(text="ok")


async def pages(request: web.Request) -> web.Response:
    return web.json_response(request.app[PAGES])


async def count(request: web.Request) -> web.Response:
    return web.json_response(len(request.app[PAGES]))


def make_app(slow_every: int, slow_seconds: float) -> web.Application:
    app = web.Application()
    app[PAGES] = []
    app[SLOW] = (slow_every, slow_seconds)
    app.router.add_post("/page", page)
    app.router.add_get("/pages", pages)
    app.router.add_get("/count", count)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slow-every", type=int, default=0)
    parser.add_argument("--slow-seconds", type=float, default=1.0)
    args = parser.parse_args()
    app = make_app(args.slow_every, args.slow_seconds)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None)
