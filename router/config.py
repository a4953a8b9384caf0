"""The ``routes`` and ``severity`` sections of the configuration.

Routes form a tree, as in Alertmanager: a route may hold child routes, which take over the
alerts their parent matched and inherit its settings (``router.matching`` walks it). The
tree is resolved once, when the configuration is loaded: every route's name and the
settings it acts with are fixed then, not worked out again for each alert.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_validator,
)

from router.inhibition import InhibitRule
from router.matchers import Matcher, parse_matcher
from schedules.durations import Duration, parse_duration
from schedules.weekly import WeeklyWindow
from schedules.yamlfile import format_loc

MAX_ROUTE_DEPTH = 10
"""Levels of routes below the top level's; real trees have two or three."""
DEFAULT_REOPEN_WINDOW = timedelta(minutes=5)
DEFAULT_ACK_EXPIRY = timedelta(minutes=30)
"""As PagerDuty has it: an acknowledged incident still firing after this pages again, so
an acknowledgement forgotten overnight does not silence a live problem."""
"""A group firing again this soon after its incident resolved reopens it: a flapping alert
stays one incident instead of a new one per flap."""
EVERY_ALERT_ALONE = "..."
"""``group_by: ['...']``: as in Alertmanager, group by every label, so each distinct alert
is its own incident (the same as no ``group_by`` at the top level)."""

T = TypeVar("T")

Loc = tuple[str | int, ...]
"""Where a value is written in the configuration: ``("routes", 1, "routes", 0, "name")``."""


class Severity(StrEnum):
    """SEV1 is the most severe; the names sort from most to least severe."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


def _matcher(value: object) -> Matcher:
    if isinstance(value, Matcher):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"a matcher is a string such as 'env!=staging' or 'severity=~\"critical|error\"', "
            f"not {value!r}"
        )
    return parse_matcher(value)


LabelMatcher = Annotated[Matcher, PlainValidator(_matcher), PlainSerializer(str, return_type=str)]
"""A matcher written as Alertmanager users write one (``router.matchers``)."""


class Conditions(BaseModel):
    """What an alert must carry for a rule to take it: every ``match`` label and every
    matcher, all together; neither given matches every alert."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: dict[str, str] = Field(default_factory=dict)
    """Exact label values that must all be present."""
    matchers: list[LabelMatcher] = Field(default_factory=list)


class Route(Conditions):
    # By name too, so Python can write ``continue_=True``; YAML writes ``continue``.
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    name: str | None = None
    """Shown on incidents; defaults to ``route-<position>`` at the top level (1-based) and
    ``<parent's name>.<position>`` below it."""
    policy: str | None = None
    """Name of an escalation policy: required at the top level; a child route inherits its
    parent's unless it names its own."""
    group_by: list[str] | None = None
    """Alerts with the same values of these labels form one incident; ``['...']``: every
    distinct alert (dedup key) is its own. Unset: the parent's; at the top level, ``['...']``."""
    group_wait: Duration | None = None
    """How long the first page of a new incident waits to collect a burst of alerts."""
    group_interval: Duration | None = None
    """How often alerts joining an open incident are reported to whoever has it."""
    support_hours: list[WeeklyWindow] | None = None
    """When SEV3 incidents page; outside them, at their next start. ``[]``: at any hour."""
    service: str | None = None
    """Display name shown on the incidents the route opens; a child inherits its parent's."""
    reopen_window: Duration | None = None
    """Unset: the parent's, at the top level the configuration's ``reopen_window``."""
    ack_expiry: timedelta | None = None
    """How long an acknowledgement holds while the incident still fires: then it is
    triggered again and pages from level 1. ``0``: acknowledgements never run out. Unset:
    the parent's, at the top level ``DEFAULT_ACK_EXPIRY``."""
    storm_limit: int | None = Field(default=None, ge=1, strict=True)
    """New incidents the route may open in a minute; alerts of further new groups that minute
    join one "alert storm" incident instead, so a storm pages once. Unset: no cap; a child
    inherits its parent's."""
    continue_: bool = Field(default=False, alias="continue")
    """When this route matches, its following siblings are tried too, so an alert can open
    incidents on several routes."""
    routes: list["Route"] = Field(default_factory=list)
    """Child routes, tried in order on the alerts this route matches."""

    @field_validator("ack_expiry", mode="before")
    @classmethod
    def _zero_or_a_duration(cls, value: object) -> object:
        if type(value) is int and value == 0:
            return timedelta(0)
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except ValueError as error:
                raise ValueError(f"{error}; or 0 for acknowledgements that never run out") from None
        if value is None or (isinstance(value, timedelta) and value > timedelta(0)):
            return value
        raise ValueError(f"invalid ack_expiry {value!r}: write 0 (never) or a duration such as 30m")

    @field_validator("group_by")
    @classmethod
    def _wildcard_stands_alone(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and EVERY_ALERT_ALONE in value and len(value) > 1:
            raise ValueError("'...' (every alert alone) cannot be combined with label names")
        return value


class SeverityRule(Conditions):
    level: Severity


@dataclass(frozen=True)
class ResolvedRoute:
    """A route as it acts on the alerts it takes: its own settings, else its parent's."""

    name: str
    policy: str
    group_by: tuple[str, ...] | None
    """The labels whose values make an incident; ``None``: every distinct alert is its own."""
    group_wait: timedelta | None
    """How long an incident's first page waits for more alerts to join it."""
    group_interval: timedelta | None
    """Least time between two reports of alerts that joined an open incident; ``None``: no
    reports."""
    service: str | None
    support_hours: tuple[WeeklyWindow, ...] = ()
    """When a SEV3 incident may page; empty: at any hour."""
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW
    """How soon after its incident resolved the group firing again reopens it."""
    storm_limit: int | None = None
    """New incidents a minute before further new groups join the route's storm incident;
    ``None``: no cap."""
    ack_expiry: timedelta | None = DEFAULT_ACK_EXPIRY
    """How long an acknowledgement holds while the incident fires; ``None``: for ever."""


@dataclass(frozen=True)
class RouteNode:
    route: Route
    resolved: ResolvedRoute
    loc: Loc
    """Where the route is written: ``("routes", 1, "routes", 0)``."""
    children: tuple["RouteNode", ...]

    @property
    def depth(self) -> int:
        """0 for a top-level route, 1 for its children, ..."""
        return len(self.loc) // 2 - 1


def route_tree(
    routes: Sequence[Route], reopen_window: timedelta = DEFAULT_REOPEN_WINDOW
) -> tuple[RouteNode, ...]:
    """The routes with their names and inherited settings; check ``route_problems`` before
    acting on it. ``reopen_window``: the configuration's, for routes that set none."""
    # The implicit root above the top-level routes: what they inherit. It has no policy, so
    # each top-level route must name one (``route_problems``).
    root = ResolvedRoute(
        name="",
        policy="",
        group_by=None,
        group_wait=None,
        group_interval=None,
        service=None,
        reopen_window=reopen_window,
    )
    return _nodes(routes, root, ())


def _nodes(routes: Sequence[Route], parent: ResolvedRoute, at: Loc) -> tuple[RouteNode, ...]:
    nodes = []
    for index, route in enumerate(routes):
        loc = (*at, "routes", index)
        default = f"{parent.name}.{index + 1}" if parent.name else f"route-{index + 1}"
        resolved = ResolvedRoute(
            name=route.name or default,
            policy=_own(route.policy, parent.policy),
            group_by=parent.group_by if route.group_by is None else _grouping(route.group_by),
            group_wait=_own(route.group_wait, parent.group_wait),
            group_interval=_own(route.group_interval, parent.group_interval),
            service=_own(route.service, parent.service),
            support_hours=parent.support_hours
            if route.support_hours is None
            else tuple(route.support_hours),
            reopen_window=_own(route.reopen_window, parent.reopen_window),
            storm_limit=_own(route.storm_limit, parent.storm_limit),
            ack_expiry=parent.ack_expiry if route.ack_expiry is None else route.ack_expiry or None,
        )
        nodes.append(RouteNode(route, resolved, loc, _nodes(route.routes, resolved, loc)))
    return tuple(nodes)


def _own(value: T | None, otherwise: T) -> T:
    return otherwise if value is None else value


def _grouping(group_by: list[str]) -> tuple[str, ...] | None:
    return None if group_by == [EVERY_ALERT_ALONE] else tuple(group_by)


def walk(tree: Sequence[RouteNode]) -> Iterator[RouteNode]:
    """Every route of the tree, depth first, in the order they are written."""
    for node in tree:
        yield node
        yield from walk(node.children)


def by_name(tree: Sequence[RouteNode]) -> dict[str, ResolvedRoute]:
    """The settings each route acts with, by the name its incidents carry."""
    return {node.resolved.name: node.resolved for node in walk(tree)}


def route_problems(tree: Sequence[RouteNode]) -> list[tuple[Loc, str]]:
    """What makes a route tree unusable, each where it is written."""
    problems: list[tuple[Loc, str]] = []
    first: dict[str, Loc] = {}
    for node in walk(tree):
        name = node.resolved.name
        if name in first:
            # The route name is part of every grouping key: two routes sharing one would
            # fold each other's alerts into one incident, paged by the first one's policy.
            message = f"{name!r} is already the name of {format_loc(first[name])}"
            problems.append(((*node.loc, "name"), message))
        first.setdefault(name, node.loc)
        if node.depth == 0 and node.route.policy is None:
            message = "required, but missing (a top-level route has no parent to inherit it)"
            problems.append(((*node.loc, "policy"), message))
        if node.depth == MAX_ROUTE_DEPTH and node.route.routes:
            message = f"routes nest at most {MAX_ROUTE_DEPTH} levels below the top level"
            problems.append(((*node.loc, "routes"), message))
    return problems


class RoutingConfig(BaseModel):
    """What the router needs from the configuration, in the order rules are tried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    routes: list[Route]
    severity: list[SeverityRule] = Field(default_factory=list)
    retention: timedelta = timedelta(days=30)
    """How long a resolved incident is kept."""
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW
    """For routes that set none (``Route.reopen_window``)."""
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    version: str = ""
    """Of the configuration this came from; an incident's ``created`` event names it."""

    @cached_property
    def tree(self) -> tuple[RouteNode, ...]:
        # Cached as a plain attribute: the router reads it for every alert, and a pydantic
        # private attribute costs a lookup through __getattr__ each time.
        return route_tree(self.routes, self.reopen_window)

    @model_validator(mode="after")
    def _a_usable_tree(self) -> Self:
        problems = route_problems(self.tree)
        if problems:
            raise ValueError("; ".join(f"{format_loc(loc)}: {text}" for loc, text in problems))
        return self
