"""The ``integrations`` the operator configures: one per sending tool instance, each with a
secret token that appears in its webhook URL or its ``Authorization`` header.

A secret (``token``, ``hmac_secret``) written ``env:NAME`` is read from the environment
variable ``NAME`` when the file loads, so it stays out of files kept in git. Errors name
the variable, never a secret.
"""

from collections.abc import Sequence
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.mapping import Mapping
from ingest.secrets import Secret
from schedules.durations import Duration

GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
"""The header Grafana puts its signature in when its contact point names none. Grafana's
own code disagrees with itself: grafana/alerting ``http/hmac.go`` once defaulted to
``X-Grafana-Alert-Signature`` while its contact point form showed
``X-Grafana-Alerting-Signature``; later versions of that file default to the latter. The
timestamp header has no default there: signing covers the timestamp only when one is
named."""


HeaderName = Annotated[str, Field(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", max_length=256)]
"""An HTTP header's name (RFC 9110 token characters): any other could never arrive."""

HEARTBEAT = "heartbeat"
"""The type of an integration that is pinged rather than sent alerts (``ingest.heartbeats``)."""
_HEARTBEAT_FIELDS = ("interval", "grace", "watchdog")


class Watchdog(BaseModel):
    """Alerts that count as pings of a heartbeat: an always-firing alert (Alertmanager's
    ``Watchdog``) proves the whole pipeline up to Tocsin works."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    integration: str = Field(min_length=1)
    """The name of the integration they arrive on."""
    alertname: str = Field(default="Watchdog", min_length=1)


class RateLimit(BaseModel):
    """A token bucket: ``burst`` requests at once, refilled at ``per_second``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=1_000_000)


class Integration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Stamped on every alert it delivers and used as a metrics label."""
    type: Literal["alertmanager", "generic", "grafana", "datadog", "pagerduty", "heartbeat"]
    """The payload format, a key of ``ingest.sources.SOURCES``; or ``heartbeat``."""
    token: Secret = Field(min_length=1, repr=False)
    """For ``pagerduty``, the ``routing_key`` its events carry."""
    rate_limit: RateLimit | None = None
    """Requests beyond it are refused with 429; shared by every web process. None: no
    limit."""
    hmac_secret: Secret | None = Field(default=None, min_length=1, repr=False)
    """When set, every request must carry a hex HMAC-SHA256 of its body made with it
    (``ingest.signature``)."""
    hmac_header: HeaderName = GRAFANA_SIGNATURE_HEADER
    hmac_timestamp_header: HeaderName | None = None
    """When set, every request must carry a recent Unix time in this header, and the
    signature covers ``timestamp:body``."""
    mapping: Mapping | None = None
    """A generic integration's fields in the sender's own shape (``ingest.mapping``)."""

    interval: Duration | None = None
    """A heartbeat's: at most this long between pings."""
    grace: Duration | None = None
    """A heartbeat's: how late a ping may be before it counts as missed (default: see
    ``ingest.heartbeats.grace_of``)."""
    watchdog: Watchdog | None = None
    """A heartbeat's: alerts that count as its pings."""

    @model_validator(mode="after")
    def _mapping_only_for_generic(self) -> Self:
        if self.mapping is not None and self.type != "generic":
            raise ValueError(f"mapping: only a generic integration takes one, not {self.type}")
        return self

    @model_validator(mode="after")
    def _heartbeat_fields_on_heartbeats(self) -> Self:
        if self.type == HEARTBEAT:
            if self.interval is None:
                raise ValueError("a heartbeat needs an interval, for example interval: 5m")
            if self.rate_limit is not None:
                raise ValueError("rate_limit: only for integrations that send alerts")
            return self
        given = [name for name in _HEARTBEAT_FIELDS if getattr(self, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: only for integrations of type heartbeat")
        return self


Conflict = tuple[tuple[str | int, ...], str]
"""Where in the configuration (a pydantic-style location) and what is wrong there."""


def integration_conflicts(integrations: Sequence[Integration]) -> list[Conflict]:
    """Every integration that repeats an earlier one's name or token.

    A token must identify exactly one integration, and alerts and metrics are told apart by
    name. The messages never contain a token.
    """
    conflicts: list[Conflict] = []
    for field in ("name", "token"):
        first_index: dict[str, int] = {}
        for index, integration in enumerate(integrations):
            earlier = first_index.setdefault(getattr(integration, field), index)
            if earlier != index:
                message = f"the same {field} as integrations[{earlier}]"
                conflicts.append((("integrations", index, field), message))
    return conflicts


def check_integrations(integrations: Sequence[Integration]) -> None:
    """Raise ``ValueError`` naming every conflict of ``integration_conflicts``."""
    conflicts = integration_conflicts(integrations)
    if conflicts:
        raise ValueError(
            "; ".join(f"integrations[{loc[1]}].{loc[2]}: {text}" for loc, text in conflicts)
        )


def pick_integration(integrations: Sequence[Integration], wanted: str | None) -> Integration:
    """The integration a question names: by name, else by type when one integration has it;
    unnamed, the only one there is. ``ValueError`` says what to name instead."""
    # A heartbeat takes no payload: there is nothing to explain or test for it.
    integrations = webhook_integrations(integrations)
    names = ", ".join(integration.name for integration in integrations) or "none configured"
    if wanted is None:
        if len(integrations) == 1:
            return integrations[0]
        raise ValueError(f"name the integration the payload arrives on (one of: {names})")
    for integration in integrations:
        if integration.name == wanted:
            return integration
    of_type = [integration for integration in integrations if integration.type == wanted]
    if len(of_type) == 1:
        return of_type[0]
    if of_type:
        several = ", ".join(integration.name for integration in of_type)
        raise ValueError(f"several integrations have type {wanted!r}: name one of {several}")
    raise ValueError(f"unknown integration {wanted!r} (known: {names})")


def webhook_integrations(integrations: Sequence[Integration]) -> list[Integration]:
    """Those that send payloads to a webhook, heartbeats left out."""
    return [integration for integration in integrations if integration.type != HEARTBEAT]
