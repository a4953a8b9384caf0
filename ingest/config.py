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


def check_integrations(integrations: Sequence[Integration]) -> None:
    """Raise ``ValueError`` naming every integration that repeats an earlier one's name or token.

    A token must identify exactly one integration, and alerts and metrics are told apart by
    name. The message never contains a token.
    """
    problems: list[str] = []
    for field in ("name", "token"):
        first_index: dict[str, int] = {}
        for index, integration in enumerate(integrations):
            earlier = first_index.setdefault(getattr(integration, field), index)
            if earlier != index:
                problems.append(
                    f"integrations[{index}].{field}: the same {field} as integrations[{earlier}]"
                )
    if problems:
        raise ValueError("; ".join(problems))
