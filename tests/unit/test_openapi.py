"""The OpenAPI document is built from the sources it is given and the API's models."""

from datetime import datetime

from ingest.config import Integration
from ingest.models import Alert
from ingest.sources import SOURCES
from tocsin.openapi import document


class PlainSource:
    """A source that reads its body by hand: it has no payload model."""

    name = "plain"

    def parse(self, body: object, integration: Integration, now: datetime) -> list[Alert]:
        return []


def body_schema(doc: dict[str, object], path: str) -> object:
    operation = doc["paths"][path]["post"]  # type: ignore[index]
    return operation["requestBody"]["content"]["application/json"]["schema"]


def test_a_webhook_body_is_its_source_payload_model() -> None:
    doc = document(SOURCES)
    schema = body_schema(doc, "/v1/webhooks/alertmanager/{token}")
    assert schema == {"$ref": "#/components/schemas/Notification"}
    notification = doc["components"]["schemas"]["Notification"]  # type: ignore[index]
    # As senders spell the fields, not as the model names them.
    assert {"externalURL", "truncatedAlerts", "alerts"} <= set(notification["properties"])


def test_a_source_without_a_payload_model_takes_any_json() -> None:
    doc = document({**SOURCES, "plain": PlainSource()})
    assert body_schema(doc, "/v1/webhooks/plain/{token}") == {}


def test_pagerduty_events_have_their_own_paths_not_a_webhook() -> None:
    paths = document(SOURCES)["paths"]
    assert "/v1/webhooks/pagerduty/{token}" not in paths
    assert {"/v2/enqueue", "/v2/change/enqueue"} <= set(paths)


def test_model_names_are_published_plain() -> None:
    schemas = document(SOURCES)["components"]["schemas"]
    # Not private, and not qualified by module (what two models of one name would get).
    assert not [name for name in schemas if name.startswith("_") or "__" in name]


def test_an_explanation_publishes_how_each_person_is_paged() -> None:
    schemas = document(SOURCES)["components"]["schemas"]
    person = schemas["PagedPerson"]  # type: ignore[index]
    assert {"id", "name", "by_rules", "notify"} <= set(person["properties"])
    step = schemas["NotifyStep"]  # type: ignore[index]
    assert set(step["properties"]) == {"after_seconds", "channels"}
    assert "voice" in step["properties"]["channels"]["items"]["enum"]
