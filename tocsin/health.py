"""What every role serves for its operators: ``/healthz`` (the process is alive),
``/readyz`` (it can do its work now: the store answers and it is not shutting down) and
``/metrics``. Web processes serve them beside the webhooks; router and worker processes on a
port of their own."""

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from tocsin.api_auth import ApiAuth
from tocsin.config import LoadedConfig
from tocsin.http_errors import no_tracebacks
from tocsin.runtime import Runtime
from tocsin.tokens import TokenStore

log = logging.getLogger(__name__)


def add_health_routes(app: web.Application, runtime: Runtime) -> None:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(runtime.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "config_version": runtime.config.version})

    # Not ready until the store has answered once: a process that starts without it says
    # so as it starts (tocsin.cli), and a probe then adds nothing.
    answering = False

    async def readyz(_: web.Request) -> web.Response:
        nonlocal answering
        if runtime.draining.is_set():
            return _unready({"status": "shutting down"})
        try:
            await runtime.redis.ping()
        except (TimeoutError, RedisError, OSError) as error:
            # Once per outage, not per probe: probes come every few seconds for as long as
            # it lasts. The reason goes to the log, not to whoever can reach the probe.
            if answering:
                log.warning("not ready: storage unavailable: %s", error)
            answering = False
            return _unready({"status": "unavailable", "redis": "unreachable"})
        if not answering:
            log.info("ready: the store answers")
        answering = True
        # Still ready with a refused edit: the last good configuration keeps paging.
        return web.json_response({"status": "ok", **_refused_edit(runtime)})

    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def _refused_edit(runtime: Runtime) -> dict[str, str]:
    problems = runtime.config.problems
    if not problems:
        return {}
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    running = runtime.config.version
    return {"config": f"edit not taken up, {running} still runs: {problems[0]}{more}"}


def _unready(body: dict[str, str]) -> web.Response:
    return web.json_response(body, status=503, headers={"Retry-After": "5"})


def api_auth(runtime: Runtime) -> ApiAuth:
    """The same token check on every role: ``/metrics`` may need one everywhere. An edit of
    ``api_auth`` applies from the next request: the reload that takes it up runs between
    requests, so no request is checked by half of one and half of the other."""
    auth = ApiAuth(TokenStore(runtime.redis), runtime.config.current.config.api_auth, runtime.clock)

    def check_by(new: LoadedConfig) -> None:
        auth.config = new.config.api_auth

    runtime.config.subscribe(check_by)
    return auth


def health_app(runtime: Runtime) -> web.Application:
    """The whole HTTP surface of a router or worker process."""
    app = web.Application(middlewares=[no_tracebacks, api_auth(runtime).middleware])
    add_health_routes(app, runtime)
    return app
