"""A webhook receiver for benchmarks, in its own process so that counting pages takes no CPU
from the process measured: it notes when each page arrived (wall clock, comparable across
processes of one machine) and answers ``GET /pages`` with what it noted.

    python -m tests.bench.page_sink --port P
"""

import argparse
import json
import time

from aiohttp import web

PAGES = web.AppKey("pages", list[tuple[str, str, int, float]])
"""Per page: incident id, title, level, arrival (unix seconds)."""


async def page(request: web.Request) -> web.Response:
    arrived = time.time()
    body = json.loads(await request.read())
    if body["kind"] == "page":
        request.app[PAGES].append((body["incident_id"], body["title"], body["level"], arrived))
    return web.Response(text="ok")


async def pages(request: web.Request) -> web.Response:
    return web.json_response(request.app[PAGES])


async def count(request: web.Request) -> web.Response:
    return web.json_response(len(request.app[PAGES]))


def make_app() -> web.Application:
    app = web.Application()
    app[PAGES] = []
    app.router.add_post("/page", page)
    app.router.add_get("/pages", pages)
    app.router.add_get("/count", count)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    web.run_app(make_app(), host="127.0.0.1", port=parser.parse_args().port, access_log=None)
