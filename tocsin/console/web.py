"""The console's routes on the application, its templates (autoescaped, all of them) and its
one stylesheet. Every answer keeps itself out of other sites' frames and shared caches."""

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from notifier.page_actions import PageActions
from router.silence_store import SilenceStore
from tocsin.config import LoadedConfig
from tocsin.console.auth import Gate
from tocsin.console.incidents import IncidentPages
from tocsin.console.link_sender import LinkSender
from tocsin.console.login import Login
from tocsin.console.magic_links import MagicLinks
from tocsin.console.oncall import OnCallPage
from tocsin.console.passwords import Passwords
from tocsin.console.people import PersonPages
from tocsin.console.reports import ReportPages
from tocsin.console.silences import SilencePages
from tocsin.oncall_api import OnCallApi
from tocsin.reports_api import ReportsApi
from tocsin.runtime import Runtime

STATIC = Path(__file__).parent / "static"
_PAGE_PREFIXES = (
    "/incidents/",
    "/oncall",
    "/people/",
    "/silences",
    "/reports",
    "/login",
    "/logout",
    "/console/",
)

_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def add_console(
    app: web.Application,
    runtime: Runtime,
    actions: PageActions,
    reports: ReportsApi,
    oncall_api: OnCallApi,
) -> None:
    config = runtime.config.current.config
    gate = Gate(config.console, config.people, runtime.secret, runtime.clock)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("tocsin.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.on_response_prepare.append(_headers)
    incidents = IncidentPages(gate, actions.store, actions)
    login = Login(gate, Passwords(runtime.redis))
    sender = LinkSender(config.smtp, config.slack, config.webhook_secret, runtime.clock)
    links = MagicLinks(gate, runtime.redis, sender, runtime.settings.base_url)

    def sign_in_by(new: LoadedConfig) -> None:
        # Together: a person removed from people is signed out on their next request.
        gate.config, gate.people = new.config.console, new.config.people
        sender.webhook.default_secret = new.config.webhook_secret

    runtime.config.subscribe(sign_in_by)
    app.on_cleanup.append(links.close)
    oncall = OnCallPage(gate, oncall_api)
    people = PersonPages(gate, oncall_api, actions.store)
    silences = SilencePages(gate, SilenceStore(runtime.redis))
    report_pages = ReportPages(gate, reports)
    app.router.add_get("/", incidents.listing)
    app.router.add_get("/incidents/{id}", incidents.show)
    app.router.add_post("/incidents/{id}/act", incidents.act)
    app.router.add_post("/incidents/{id}/note", incidents.note)
    app.router.add_get("/incidents/{id}/postmortem.md", report_pages.postmortem)
    app.router.add_get("/oncall", oncall.show)
    app.router.add_get("/people/{id}", people.show)
    app.router.add_get("/reports", report_pages.show)
    app.router.add_get("/reports/incidents.svg", report_pages.chart)
    app.router.add_get("/silences", silences.listing)
    app.router.add_post("/silences", silences.create)
    app.router.add_post("/silences/{id}/expire", silences.expire)
    app.router.add_get("/login", login.show)
    app.router.add_post("/login", login.submit)
    app.router.add_post("/logout", login.logout)
    app.router.add_post("/login/link", links.ask)
    app.router.add_get("/login/link/{token}", links.show)
    app.router.add_post("/login/link/{token}", links.use)
    app.router.add_static("/console/static", STATIC)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path == "/" or request.path.startswith(_PAGE_PREFIXES):
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
