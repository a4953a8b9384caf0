"""The one aiohttp application factory, used by ``tocsin web``/``up`` and by the tests."""

from aiohttp import web

from ingest.changes import ChangeLog
from ingest.config import webhook_integrations
from ingest.events_v2 import EventsV2
from ingest.events_v2 import add_routes as add_events_v2_routes
from ingest.group_commit import GroupCommit
from ingest.heartbeat_store import HeartbeatStore
from ingest.heartbeat_web import HeartbeatPings
from ingest.heartbeat_web import add_routes as add_heartbeat_routes
from ingest.heartbeats import heartbeats_of
from ingest.ratelimit import RateLimiter
from ingest.sources import SOURCES
from ingest.stream import alert_stream
from ingest.triggers import Triggers
from ingest.watchdogs import WatchdogFeed
from ingest.web import Webhooks
from ingest.web import add_routes as add_webhook_routes
from notifier.ack_web import AckPages
from notifier.ack_web import add_routes as add_ack_routes
from notifier.page_actions import PageActions
from notifier.twilio_status import StatusCallbacks
from notifier.twilio_status import add_routes as add_status_routes
from notifier.voice_web import GatherCallbacks
from notifier.voice_web import add_routes as add_voice_routes
from notifier.worker import ArqScheduler
from router.silence_store import SilenceStore
from router.store import IncidentStore
from schedules.override_store import OverrideStore
from tocsin.api import IncidentsApi
from tocsin.api import add_routes as add_api_routes
from tocsin.api_metrics import counting
from tocsin.calendar_feeds import CalendarFeeds
from tocsin.calendar_feeds import add_routes as add_calendar_routes
from tocsin.changes_api import ChangesApi
from tocsin.changes_api import add_routes as add_changes_routes
from tocsin.config import LoadedConfig
from tocsin.console.web import add_console
from tocsin.explain_api import ExplainApi
from tocsin.explain_api import add_routes as add_explain_routes
from tocsin.health import add_health_routes, api_auth
from tocsin.http_errors import no_tracebacks
from tocsin.oncall_api import OnCallApi
from tocsin.oncall_api import add_routes as add_oncall_routes
from tocsin.openapi import add_routes as add_openapi_routes
from tocsin.overrides_api import OverridesApi
from tocsin.overrides_api import add_routes as add_override_routes
from tocsin.reports_api import ReportsApi
from tocsin.reports_api import add_routes as add_report_routes
from tocsin.runtime import Runtime
from tocsin.silences_api import add_routes as add_silence_routes


def make_app(runtime: Runtime) -> web.Application:
    # Counted as answered; a store that fails the token check is a 503, like any other.
    middlewares = [counting(runtime.registry), no_tracebacks, api_auth(runtime).middleware]
    app = web.Application(middlewares=middlewares)
    # What is read once here needs a restart to change (tocsin.reloading.RESTART_KEYS);
    # the rest follows an edit, either read per request through runtime.config or handed
    # whole to its handler by a subscriber, so each request sees one configuration.
    config = runtime.config.current.config
    store = IncidentStore(runtime.redis)
    beats = HeartbeatStore(runtime.redis)
    # One writer for the process: concurrent webhooks share their writes to the store.
    alerts = GroupCommit(alert_stream(runtime.redis, runtime.settings.durability))
    watchdogs = WatchdogFeed(alerts, heartbeats_of(config.integrations), beats, runtime.clock)
    webhooks = Webhooks(
        integrations=webhook_integrations(config.integrations),
        stream=watchdogs,
        registry=runtime.registry,
        clock=runtime.clock,
        limiter=RateLimiter(runtime.redis),
    )
    pings = HeartbeatPings(
        integrations=config.integrations,
        store=beats,
        clock=runtime.clock,
        registry=runtime.registry,
    )
    changes = ChangeLog(runtime.redis)
    changes_api = ChangesApi(changes, config.integrations)

    def ingest_by(new: LoadedConfig) -> None:
        integrations = new.config.integrations
        webhooks.configure(webhook_integrations(integrations))
        watchdogs.heartbeats = heartbeats_of(integrations)
        pings.configure(integrations)
        changes_api.configure(integrations)

    runtime.config.subscribe(ingest_by)
    add_webhook_routes(app, webhooks)
    add_heartbeat_routes(app, pings)
    add_events_v2_routes(app, EventsV2(webhooks, Triggers(runtime.redis), changes))
    loaded = runtime.config.current
    scheduler = ArqScheduler(runtime.redis)
    actions = PageActions(store, loaded.directory, scheduler, retention=config.incident_retention)
    pages = AckPages(actions, runtime.secret, runtime.clock, grace=config.ack_link_grace)

    def act_by(new: LoadedConfig) -> None:
        actions.directory = new.directory
        actions.retention = new.config.incident_retention
        pages.grace = new.config.ack_link_grace

    runtime.config.subscribe(act_by)
    add_ack_routes(app, pages)
    reports = ReportsApi(runtime.redis, runtime.config, runtime.clock)
    overrides = OverrideStore(runtime.redis)
    oncall = OnCallApi(
        runtime.config,
        overrides,
        runtime.clock,
        base_url=runtime.settings.base_url,
        secret=runtime.secret,
    )
    # Before the console: its /people/{id} would take /people/{name}.ics for itself.
    feeds = CalendarFeeds(runtime.config, overrides, runtime.secret, runtime.clock)
    add_calendar_routes(app, feeds)
    add_console(app, runtime, actions, reports, oncall)
    if config.twilio is not None:
        auth_token = config.twilio.auth_token.get_secret_value()
        gathers = GatherCallbacks(
            store, runtime.secret, runtime.clock, auth_token, runtime.settings.base_url
        )
        add_voice_routes(app, gathers)
        statuses = StatusCallbacks(
            store,
            scheduler,
            runtime.secret,
            runtime.clock,
            auth_token,
            runtime.settings.base_url,
        )
        add_status_routes(app, statuses)
    add_api_routes(app, IncidentsApi(store, actions, runtime.config, runtime.clock))
    add_changes_routes(app, changes_api)
    add_silence_routes(app, SilenceStore(runtime.redis), runtime.clock)
    add_explain_routes(app, ExplainApi(runtime.config, runtime.redis, runtime.clock))
    add_report_routes(app, reports)
    add_override_routes(app, OverridesApi(overrides, runtime.config, runtime.clock))
    add_oncall_routes(app, oncall)

    add_openapi_routes(app, SOURCES)
    add_health_routes(app, runtime)
    return app
