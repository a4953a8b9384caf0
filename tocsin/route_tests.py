"""``tocsin test routes CASES.yaml``: operator-written cases ("a database alert pages the
DBAs") checked against the configuration, offline, for CI. A cases file is read as
``tocsin.yaml`` is, so its problems read the same: ``file:line: message``, all at once."""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from ingest.config import Integration, pick_integration
from notifier.explain import AlertExplanation, Explanation, explain
from router.config import Severity, walk
from router.explain import Facts
from schedules.yamlfile import ConfigFileError, Problem, format_loc, line_of, load_yaml_model
from tocsin.config import LoadedConfig
from tocsin.explain_cli import read_payload
from tocsin.explaining import parse_at

OFFLINE = "offline: silences, alerts already firing and open incidents are not consulted"


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str | None = None
    """The one route every alert lands on."""
    routes: list[str] | None = None
    """Every route, in order (``continue``); ``[]``: unrouted."""
    severity: Severity | None = None
    paged: list[str] | None = None
    """Person ids the alert pages, in order: level 1 of each route's policy at the case's
    instant, unless something holds the page or its severity pages nobody (a page that
    group_wait or support hours put off still counts)."""
    group_labels: dict[str, str] | None = None
    """Of the first route it lands on."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.route is not None and self.routes is not None:
            raise ValueError("give route or routes, not both")
        if not self.model_fields_set:
            raise ValueError("expect at least one of route, routes, severity, paged, group_labels")
        return self


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    integration: str
    """Its name, or its type when one integration has it."""
    payload: JsonValue = None
    payload_file: Path | None = None
    """Relative to the cases file."""
    at: str | None = None
    """ISO 8601; without an offset, UTC; unset, now."""
    expect: Expect

    @field_validator("at")
    @classmethod
    def _instant(cls, text: str | None) -> str | None:
        parse_at(text, datetime.now(UTC))  # its ValueError says how to write one
        return text

    @model_validator(mode="after")
    def _one_payload(self) -> Self:
        if (self.payload is None) is (self.payload_file is None):
            raise ValueError("give payload or payload_file, one of them")
        return self


class CasesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: list[Case] = Field(min_length=1)


def add_parser(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", common: argparse.ArgumentParser
) -> None:
    test = commands.add_parser("test", help="check the configuration")
    kinds = test.add_subparsers(dest="kind", required=True)
    routes = kinds.add_parser("routes", parents=[common], help="run route test cases, offline")
    routes.add_argument("cases", type=Path, help="a YAML file of cases")


def test_routes_command(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    """0: every case passed; 1: some failed; 2: the cases file is broken."""
    try:
        cases = _load(args.cases, loaded)
    except ConfigFileError as error:
        print(error, file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    routing, directory, offline = loaded.routing, loaded.directory, Facts(unchecked="offline")
    failed = 0
    for case, integration, payload in cases:
        at, _ = parse_at(case.at, now)
        told = explain(routing, directory, integration, payload, at, offline)
        differences = _differences(case.expect, told)
        failed += bool(differences)
        print(f"{'FAIL' if differences else 'pass'}  {case.name}")
        print("".join(f"      {line}\n" for line in differences), end="")
    passed = len(cases) - failed
    print(f"{len(cases)} cases: {passed} passed, {failed} failed ({OFFLINE})")
    return 1 if failed else 0


def _load(path: Path, loaded: LoadedConfig) -> list[tuple[Case, Integration, object]]:
    """Each case with its integration and payload; ``ConfigFileError`` with every problem
    of the file, names the configuration does not know included (a typo would otherwise only
    fail a case, or pass one that expects nothing of that name)."""
    cases = load_yaml_model(path, CasesFile).cases
    problems: list[Problem] = []

    def problem(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(path, line_of(path, loc), f"{format_loc(loc)}: {message}"))

    routes = {node.resolved.name for node in walk(loaded.routing.tree)}
    found: list[tuple[Case, Integration, object]] = []
    for i, case in enumerate(cases):
        integration = None
        try:
            integration = pick_integration(loaded.config.integrations, case.integration)
        except ValueError as error:
            problem(("cases", i, "integration"), str(error))
        payload: object = case.payload
        if case.payload_file is not None:
            try:
                payload = read_payload(path.parent / case.payload_file)
            except ValueError as error:
                problem(("cases", i, "payload_file"), str(error))
        if integration is not None:
            found.append((case, integration, payload))
        expect = case.expect
        named: list[tuple[tuple[str | int, ...], str]] = []
        if expect.route is not None:
            named.append((("route",), expect.route))
        named += [(("routes", j), name) for j, name in enumerate(expect.routes or [])]
        for where, name in named:
            if name not in routes:
                problem(("cases", i, "expect", *where), f"no route is named {name!r}")
        for j, person in enumerate(expect.paged or []):
            if person not in loaded.config.people:
                problem(("cases", i, "expect", "paged", j), f"unknown person {person!r}")
    if problems:
        raise ConfigFileError(sorted(problems, key=lambda p: p.line or 0))
    return found


def _differences(expect: Expect, told: Explanation) -> list[str]:
    if told.errors:
        return [
            "the webhook would refuse the payload:",
            *(f"  {error.field}: {error.message}" for error in told.errors),
        ]
    if not told.alerts:
        return ["the payload holds no alerts"]
    lines = []
    for alert in told.alerts:
        wrong = [
            f"{key}: expected {_shown(wanted)}, got {_shown(got)}"
            for key, wanted, got in _compared(expect, alert)
            if wanted != got
        ]
        if wrong and len(told.alerts) > 1:
            wrong = [f"alert {alert.dedup_key}:", *(f"  {line}" for line in wrong)]
        lines += wrong
    return lines


def _compared(expect: Expect, alert: AlertExplanation) -> list[tuple[str, Any, Any]]:
    routing = alert.routing
    routes = [landing.route for landing in routing.landings]
    paged: list[str] = []
    for page in alert.pages:
        paged += [p.id for p in page.people if page.at is not None and p.id not in paged]
    first = routing.landings[0].group_labels if routing.landings else None
    actual = {
        "route": routes[0] if len(routes) == 1 else routes,
        "routes": routes,
        "severity": routing.severity,
        "paged": paged,
        "group_labels": first or {},
    }
    return [(key, getattr(expect, key), actual[key]) for key in sorted(expect.model_fields_set)]


def _shown(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)
