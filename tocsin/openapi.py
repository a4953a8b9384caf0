"""``GET /openapi.json``: the HTTP API as an OpenAPI 3.1 document, generated from the same
pydantic models that read the requests and write the answers, so it cannot drift from them.

Webhook bodies are the sources' payload models (``Source.payload``) where a source has one;
answers of ``/api/v1`` and the silence API are the models they are dumped from. Only the
routes a tool or a script calls are here; the acknowledge pages are for people.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode

from ingest.events_v2 import CHANGE_PATH, ENQUEUE_PATH
from ingest.sources import Source
from ingest.sources.pagerduty import ChangeEvent, PagerDutySource
from ingest.web import WEBHOOK_PATH
from notifier.explain import Explanation
from router.config import Severity
from router.models import Incident
from router.silences import Silence
from schedules.stored import StoredOverride
from tocsin.api import Acting, Noting, Reassigning, SettingSeverity, Snoozing
from tocsin.explain_api import ExplainRequest
from tocsin.incident_filter import STATUSES
from tocsin.incident_listing import MAX_SCANNED
from tocsin.oncall_view import OnCallNow, PersonShifts, ScheduleList, ScheduleShifts
from tocsin.overrides_api import OverrideRequest
from tocsin.reports_api import ReportAnswer

PATH = "/openapi.json"
_REF = "#/components/schemas/{model}"
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}


class _PublicNames(GenerateJsonSchema):
    def normalize_name(self, name: str) -> str:
        # Payload models are private to their source module; their names are not the API.
        return super().normalize_name(name).lstrip("_")


def _json(schema: Mapping[str, object], description: str) -> dict[str, object]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _schemas(
    adapters: Iterable[tuple[str, JsonSchemaMode, TypeAdapter[Any]]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each adapter's schema by name, and the shared definitions they refer to."""
    inputs = list(adapters)
    named, defs = TypeAdapter.json_schemas(
        inputs, by_alias=True, ref_template=_REF, schema_generator=_PublicNames
    )
    return {name: named[(name, mode)] for name, mode, _ in inputs}, defs.get("$defs", {})


def _model(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def document(sources: Mapping[str, Source]) -> dict[str, Any]:
    webhooks = [name for name in sources if name != PagerDutySource.name]
    # A source without a payload model still has its webhook: its body is any JSON value.
    webhook_bodies = {
        name: payload
        for name in webhooks
        if (payload := getattr(sources[name], "payload", None)) is not None
    }
    schemas, defs = _schemas(
        [
            *((f"{name}_webhook", "validation", p) for name, p in webhook_bodies.items()),
            ("PagerDutyEvent", "validation", PagerDutySource.payload),
            ("PagerDutyChangeEvent", "validation", PagerDutySource.change_payload),
            ("Acting", "validation", _model(Acting)),
            ("Snoozing", "validation", _model(Snoozing)),
            ("Reassigning", "validation", _model(Reassigning)),
            ("SettingSeverity", "validation", _model(SettingSeverity)),
            ("Noting", "validation", _model(Noting)),
            ("ExplainRequest", "validation", _model(ExplainRequest)),
            ("PostableSilence", "validation", _model(Silence)),
            ("OverrideRequest", "validation", _model(OverrideRequest)),
            ("Incident", "serialization", _model(Incident)),
            ("Explanation", "serialization", _model(Explanation)),
            ("Silence", "serialization", _model(Silence)),
            ("ChangeEvent", "serialization", _model(ChangeEvent)),
            ("Report", "serialization", _model(ReportAnswer)),
            ("StoredOverride", "serialization", _model(StoredOverride)),
            ("OnCall", "serialization", _model(OnCallNow)),
            ("Schedules", "serialization", _model(ScheduleList)),
            ("ScheduleShifts", "serialization", _model(ScheduleShifts)),
            ("PersonShifts", "serialization", _model(PersonShifts)),
        ]
    )
    paths: dict[str, Any] = {}
    for name in webhooks:
        body = schemas.get(f"{name}_webhook", {})
        paths[WEBHOOK_PATH.replace("{source}", name)] = {"post": _webhook(name, body)}
    paths |= _pagerduty(schemas) | _incidents(schemas) | _silences(schemas) | _reports(schemas)
    paths |= _overrides(schemas) | _oncall(schemas)
    ping = {
        "summary": "A heartbeat's ping: its timer starts again",
        "parameters": [_path("token", "The heartbeat integration's token")],
        "responses": {
            "200": _json(
                _object(
                    {
                        "heartbeat": {"type": "string"},
                        "next_due": {"type": "string", "format": "date-time"},
                    }
                ),
                "Pinged",
            ),
            **_errors("404", "503"),
        },
    }
    paths["/v1/heartbeats/{token}"] = {"get": ping, "post": ping}
    paths["/api/v1/explain"] = {
        "post": {
            "summary": "What a webhook body would do, without sending it",
            "security": _BEARER,
            "requestBody": _body(schemas["ExplainRequest"]),
            "responses": {
                "200": _json(schemas["Explanation"], "The explanation"),
                **_errors("400", "401", "403"),
            },
        }
    }
    paths["/api/v1/changes"] = {
        "get": {
            "summary": "The latest change events",
            "security": _BEARER,
            "parameters": [
                _query("integration", {"type": "string"}),
                _query("limit", {"type": "integer", "minimum": 1}),
            ],
            "responses": {
                "200": _json(
                    _object({"changes": {"type": "array", "items": schemas["ChangeEvent"]}}),
                    "Change events, newest first",
                ),
                **_errors("400", "401", "403"),
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tocsin", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `tocsin token create`.",
                }
            },
        },
    }


def _webhook(source: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "summary": f"Alerts in {source} format",
        "parameters": [_path("token", "The integration's token")],
        "requestBody": _body(body),
        "responses": {
            "202": _json(
                _object({"accepted": {"type": "integer", "minimum": 0}}), "On the alert stream"
            ),
            **_errors("400", "404", "408", "413", "422", "429", "503"),
        },
    }


def _pagerduty(schemas: Mapping[str, Any]) -> dict[str, Any]:
    answer = _object({"status": {"type": "string"}, "message": {"type": "string"}})
    outcomes = {
        status: _json(answer, description)
        for status, description in [
            ("202", "Stored"),
            ("400", "Not an event, or an unknown routing key"),
            ("413", "The body is too large"),
            ("429", "Over the integration's rate limit"),
            ("503", "The store is unavailable; retry"),
        ]
    }
    return {
        path: {
            "post": {
                "summary": summary,
                "requestBody": _body(schemas[model]),
                "responses": outcomes,
            }
        }
        for path, summary, model in [
            (ENQUEUE_PATH, "PagerDuty Events API v2: an alert event", "PagerDutyEvent"),
            (CHANGE_PATH, "PagerDuty Events API v2: a change event", "PagerDutyChangeEvent"),
        ]
    }


def _incidents(schemas: Mapping[str, Any]) -> dict[str, Any]:
    incident = schemas["Incident"]
    acted = _json(_object({"result": {"type": "string"}, "incident": incident}), "Done")
    action = {
        "security": _BEARER,
        "parameters": [_path("id", "The incident's id")],
        "requestBody": _body(schemas["Acting"], required=False),
        "responses": {"200": acted, **_errors("400", "401", "403", "404", "409")},
    }
    return {
        "/api/v1/incidents": {
            "get": {
                "summary": "Incidents, newest first",
                "description": (
                    "Page with cursor: each answer's next_cursor continues after its last"
                    " incident, however many opened since (null: nothing older). since and"
                    " until (ISO 8601, without offset UTC) choose by creation time,"
                    " [since, until). status, severity, route and service choose among at"
                    f" most {MAX_SCANNED} incidents per request; truncated says the page"
                    " stopped there, and next_cursor goes on. offset (not with cursor)"
                    " counts the chosen ones from the newest"
                ),
                "security": _BEARER,
                "parameters": [
                    _query("limit", {"type": "integer", "minimum": 1}),
                    _query("cursor", {"type": "string"}),
                    _query("offset", {"type": "integer", "minimum": 0}),
                    _query("since", {"type": "string", "format": "date-time"}),
                    _query("until", {"type": "string", "format": "date-time"}),
                    _query("status", {"enum": list(STATUSES)}),
                    _query("severity", {"enum": [s.value for s in Severity]}),
                    _query("route", {"type": "string"}),
                    _query("service", {"type": "string"}),
                ],
                "responses": {
                    "200": _json(
                        _object(
                            {
                                "incidents": {"type": "array", "items": incident},
                                "next_cursor": {"type": ["string", "null"]},
                                "truncated": {"type": "boolean"},
                            }
                        ),
                        "Incidents",
                    ),
                    **_errors("400", "401", "403"),
                },
            }
        },
        "/api/v1/incidents/{id}": {
            "get": {
                "summary": "An incident with a page of its alerts and its timeline",
                "security": _BEARER,
                "parameters": [
                    _path("id", "The incident's id"),
                    _query("alerts_limit", {"type": "integer", "minimum": 1}),
                    _query("alerts_cursor", {"type": "integer", "minimum": 0}),
                ],
                "responses": {
                    "200": _json({"allOf": [incident]}, "The incident"),
                    **_errors("400", "401", "403", "404"),
                },
            }
        },
        "/api/v1/incidents/{id}/acknowledge": {"post": {"summary": "Acknowledge", **action}},
        "/api/v1/incidents/{id}/resolve": {"post": {"summary": "Resolve", **action}},
        "/api/v1/incidents/{id}/escalate": {
            "post": {"summary": "Page the next level of the policy now", **action}
        },
        "/api/v1/incidents/{id}/snooze": {
            "post": {"summary": "Snooze", **action, "requestBody": _body(schemas["Snoozing"])}
        },
        "/api/v1/incidents/{id}/reassign": {
            "post": {
                "summary": "Hand to a person of the policy",
                **action,
                "requestBody": _body(schemas["Reassigning"]),
            }
        },
        "/api/v1/incidents/{id}/severity": {
            "post": {
                "summary": "Set the severity: a raise pages level 1 again",
                **action,
                "requestBody": _body(schemas["SettingSeverity"]),
            }
        },
        "/api/v1/incidents/{id}/notes": {
            "post": {
                "summary": "Add a note to the timeline",
                **action,
                "requestBody": _body(schemas["Noting"]),
                "responses": {"200": acted, **_errors("400", "401", "403", "404", "413")},
            }
        },
    }


def _overrides(schemas: Mapping[str, Any]) -> dict[str, Any]:
    override = schemas["StoredOverride"]
    schedule = _path("name", "The schedule's name")
    listed = _object({"overrides": {"type": "array", "items": override}})
    return {
        "/api/v1/schedules/{name}/overrides": {
            "get": {
                "summary": "A schedule's stored overrides not over yet, soonest ending first",
                "security": _BEARER,
                "parameters": [schedule],
                "responses": {
                    "200": _json(listed, "Overrides"),
                    **_errors("401", "403", "404"),
                },
            },
            "post": {
                "summary": "Someone stands in; times without offset are the schedule's zone",
                "security": _BEARER,
                "parameters": [schedule],
                "requestBody": _body(schemas["OverrideRequest"]),
                "responses": {
                    "201": _json({"allOf": [override]}, "Stored"),
                    **_errors("400", "401", "403", "404", "408", "413"),
                },
            },
        },
        "/api/v1/schedules/{name}/overrides/{id}": {
            "delete": {
                "summary": "Take a stored override back",
                "security": _BEARER,
                "parameters": [schedule, _path("id", "The override's id")],
                "responses": {
                    "204": {"description": "Removed"},
                    **_errors("401", "403", "404"),
                },
            }
        },
    }


def _oncall(schemas: Mapping[str, Any]) -> dict[str, Any]:
    span = [
        _query("since", {"type": "string", "format": "date-time"}),
        _query("until", {"type": "string", "format": "date-time"}),
    ]

    def get(summary: str, parameters: list[Any], schema: str, *errors: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "security": _BEARER,
                "parameters": parameters,
                "responses": {"200": _json(schemas[schema], summary), **_errors(*errors)},
            }
        }

    return {
        "/api/v1/oncall": get(
            "Who is on call now per schedule, and whom each policy's levels page now",
            [],
            "OnCall",
            "401",
            "403",
        ),
        "/api/v1/schedules": get(
            "Every schedule's shifts over a range (default: two weeks from now)",
            span,
            "Schedules",
            "400",
            "401",
            "403",
        ),
        "/api/v1/schedules/{name}": get(
            "A schedule's shifts over a range, gaps and overrides marked",
            [_path("name", "The schedule's name"), *span],
            "ScheduleShifts",
            "400",
            "401",
            "403",
            "404",
        ),
        "/api/v1/people/{id}/shifts": get(
            "A person's shifts across schedules, and their calendar feed",
            [_path("id", "The person's id"), *span],
            "PersonShifts",
            "400",
            "401",
            "403",
            "404",
        ),
    }


def _reports(schemas: Mapping[str, Any]) -> dict[str, Any]:
    span = [
        _query("from", {"type": "string", "format": "date-time"}),
        _query("to", {"type": "string", "format": "date-time"}),
    ]

    def get(summary: str, parameters: list[Any], media: str, schema: object) -> dict[str, Any]:
        answer = {"description": summary, "content": {media: {"schema": schema}}}
        return {
            "get": {
                "summary": summary,
                "security": _BEARER,
                "parameters": parameters,
                "responses": {"200": answer, **_errors("400", "401", "403", "404")},
            }
        }

    text = {"type": "string"}
    return {
        "/api/v1/reports": get(
            "Incident numbers over a range",
            span,
            "application/json",
            schemas["Report"],
        ),
        "/api/v1/reports/incidents.svg": get("Incidents per day", span, "image/svg+xml", text),
        "/api/v1/incidents/{id}/postmortem.md": get(
            "A blameless review, prefilled",
            [_path("id", "The incident's id")],
            "text/markdown",
            text,
        ),
    }


def _silences(schemas: Mapping[str, Any]) -> dict[str, Any]:
    """Alertmanager's API v2 for ``amtool`` (errors as a JSON string, a token only when
    ``api_auth`` says so), and the same under ``/api/v1`` (a token, errors as ``/api/v1``)."""
    text = {
        "description": "Why not",
        "content": {"application/json": {"schema": {"type": "string"}}},
    }
    v2 = _silence_paths(schemas, "/api/v2/silences", "/api/v2/silence/{id}", {}, text)
    return v2 | _silence_paths(
        schemas, "/api/v1/silences", "/api/v1/silences/{id}", {"security": _BEARER}, None
    )


def _silence_paths(
    schemas: Mapping[str, Any],
    many: str,
    one: str,
    security: Mapping[str, object],
    text: Mapping[str, object] | None,
) -> dict[str, Any]:
    def refused(*statuses: str) -> dict[str, object]:
        if text is None:
            return _errors(*statuses, "401", "403")
        return dict.fromkeys(statuses, text)

    silence = schemas["Silence"]
    by_id = [_path("id", "The silence's id")]
    return {
        many: {
            "get": {
                "summary": "Silences, as Alertmanager's API v2 lists them",
                **security,
                "parameters": [_query("filter", {"type": "array", "items": {"type": "string"}})],
                "responses": {
                    "200": _json({"type": "array", "items": silence}, "Silences"),
                    **refused("400"),
                },
            },
            "post": {
                "summary": "Create or update a silence",
                **security,
                "requestBody": _body(schemas["PostableSilence"]),
                "responses": {
                    "200": _json(_object({"silenceID": {"type": "string"}}), "Saved"),
                    **refused("400", "404", "413"),
                },
            },
        },
        one: {
            "get": {
                "summary": "One silence",
                **security,
                "parameters": by_id,
                "responses": {"200": _json(silence, "The silence"), **refused("404")},
            },
            "delete": {
                "summary": "Expire a silence",
                **security,
                "parameters": by_id,
                "responses": {"200": _json({"type": "object"}, "Expired"), **refused("404")},
            },
        },
    }


def _object(properties: Mapping[str, object]) -> dict[str, object]:
    return {"type": "object", "properties": dict(properties), "required": list(properties)}


def _body(schema: Mapping[str, object], *, required: bool = True) -> dict[str, object]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _path(name: str, description: str) -> dict[str, object]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _query(name: str, schema: Mapping[str, object]) -> dict[str, object]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _errors(*statuses: str) -> dict[str, object]:
    return {status: _json(_ERROR, "Refused; the error says why") for status in statuses}


def add_routes(app: web.Application, sources: Mapping[str, Source]) -> None:
    # Built once: the models do not change while the process runs.
    served = json.dumps(document(sources)).encode()

    async def openapi(_: web.Request) -> web.Response:
        return web.Response(body=served, content_type="application/json")

    app.router.add_get(PATH, openapi)
