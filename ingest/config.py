"""The ``integrations`` the operator configures: one per sending tool instance, each with a
secret token that appears in its webhook URL."""

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Integration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Stamped on every alert it delivers and used as a metrics label."""
    type: Literal["alertmanager", "generic"]
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
