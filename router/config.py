"""The ``routes`` and ``severity`` sections of the configuration."""

from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router.inhibition import InhibitRule


class Severity(StrEnum):
    """SEV1 is the most severe; the names sort from most to least severe."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Route(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    """Shown on incidents; defaults to ``route-<position>`` (1-based)."""
    match: dict[str, str] = Field(default_factory=dict)
    """Exact label values that must all be present; ``{}`` matches every alert."""
    policy: str
    """Name of an escalation policy."""
    group_by: list[str] | None = None
    """Alerts with the same values of these labels form one incident. Unset: every distinct
    alert (dedup key) is its own incident."""


class SeverityRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: dict[str, str] = Field(default_factory=dict)
    level: Severity


class RoutingConfig(BaseModel):
    """What the router needs from the configuration, in the order rules are tried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route]
    severity: list[SeverityRule] = Field(default_factory=list)
    retention: timedelta = timedelta(days=30)
    """How long a resolved incident is kept."""
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)

    def route_name(self, index: int) -> str:
        return route_name(self.routes, index)

    @model_validator(mode="after")
    def _route_names_are_unique(self) -> Self:
        conflicts = route_name_conflicts(self.routes)
        if conflicts:
            raise ValueError("; ".join(f"routes.{loc[1]}.name: {text}" for loc, text in conflicts))
        return self


def route_name(routes: Sequence[Route], index: int) -> str:
    return routes[index].name or f"route-{index + 1}"


def route_name_conflicts(routes: Sequence[Route]) -> list[tuple[tuple[str | int, ...], str]]:
    """Routes whose (given or default) name an earlier route already has. The route name is
    part of every grouping key: two routes sharing one would fold each other's alerts into
    one incident, paged by the first one's policy."""
    first: dict[str, int] = {}
    conflicts: list[tuple[tuple[str | int, ...], str]] = []
    for index in range(len(routes)):
        name = route_name(routes, index)
        if name in first:
            message = f"{name!r} is already the name of routes[{first[name]}]"
            conflicts.append((("routes", index, "name"), message))
        first.setdefault(name, index)
    return conflicts
