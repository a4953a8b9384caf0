"""What aiohttp itself can take, for comparison with ``tocsin web``: the same POST, read and
parsed as JSON, answered 202 with a small JSON object, and nothing else (no token, no model,
no store). Run by ``bench_ingest`` as a process of its own, on the core ``tocsin web`` gets.

    .venv/bin/python -m tests.bench.ingest_ceiling PORT
"""

import json
import sys

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    body = json.loads(await request.read())
    accepted = len(body["alerts"]) if isinstance(body, dict) else 1
    return web.json_response({"accepted": accepted}, status=202)


def main(port: int) -> None:
    app = web.Application()
    app.router.add_post("/v1/webhooks/{source}/{token}", accept)
    app.router.add_get("/readyz", lambda _: web.json_response({"ready": True}))
    # As tocsin web serves: no access log.
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
