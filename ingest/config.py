"""The ``integrations`` the operator configures: one per sending tool instance, each with a
secret token that appears in its webhook URL."""

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Integration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Stamped on every alert it delivers and used as a metrics label."""
    type: Literal["alertmanager", "generic", "grafana", "datadog"]
    """The payload format, a key of ``ingest.sources.SOURCES``."""
    token: str = Field(min_length=1)


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
