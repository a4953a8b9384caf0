"""The root configuration file: each section validated by its stage's model, then the
references between sections checked, every problem reported as ``file:line: message``."""

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.config import Integration, integration_conflicts
from ingest.heartbeats import heartbeat_problems
from notifier.config import EscalationPolicy, Person, SlackConfig, SmtpConfig
from notifier.directory import Directory
from notifier.secret_values import Secret
from router.config import (
    DEFAULT_REOPEN_WINDOW,
    Route,
    RoutingConfig,
    SeverityRule,
    by_name,
    route_problems,
    route_tree,
    walk,
)
from router.inhibition import InhibitRule
from router.maintenance import MaintenanceWindow
from schedules.durations import Duration
from schedules.loader import load_schedules, schedule_file
from schedules.models import Schedule
from schedules.yamlfile import ConfigFileError, Problem, format_loc, line_of, load_yaml_model
from tocsin.api_auth import ApiAuthConfig


class TocsinConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    integrations: list[Integration] = Field(default_factory=list)
    people: dict[str, Person] = Field(default_factory=dict)
    schedules_dir: Path | None = None
    """Relative to the configuration file; one YAML file per schedule."""

    @field_validator("schedules_dir")
    @classmethod
    def _a_usable_path(cls, value: Path | None) -> Path | None:
        if value is not None and "\0" in str(value):
            raise ValueError("a path cannot hold a NUL character")
        return value

    escalation_policies: dict[str, EscalationPolicy] = Field(default_factory=dict)
    routes: list[Route] = Field(min_length=1)
    severity: list[SeverityRule] = Field(default_factory=list)
    smtp: SmtpConfig | None = None
    slack: SlackConfig | None = None
    """The Slack bot that writes to people with a ``slack_user`` or ``slack_channel``."""
    webhook_secret: Secret | None = None
    """Signs the webhook requests of people who have no ``webhook_secret`` of their own."""
    ack_link_ttl: Duration = timedelta(days=1)
    """How long the acknowledge link in a page stays valid."""
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    """Recurring silences."""
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    incident_retention: Duration = timedelta(days=30)
    """How long a resolved incident (its alerts and timeline) is kept."""
    reopen_window: Duration = DEFAULT_REOPEN_WINDOW
    """For routes that set none: how soon after its incident resolved a group firing again
    reopens it rather than opening a new one."""
    api_auth: ApiAuthConfig = Field(default_factory=ApiAuthConfig)
    """Whether the silence API and ``/metrics`` need an API token too."""


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    config: TocsinConfig
    schedules: dict[str, Schedule] = field(default_factory=dict)

    @property
    def routing(self) -> RoutingConfig:
        return RoutingConfig(
            routes=self.config.routes,
            severity=self.config.severity,
            retention=self.config.incident_retention,
            reopen_window=self.config.reopen_window,
            inhibit_rules=self.config.inhibit_rules,
        )

    @property
    def directory(self) -> Directory:
        return Directory(
            people=self.config.people,
            schedules=self.schedules,
            policies=self.config.escalation_policies,
            maintenance=self.config.maintenance_windows,
            inhibit_rules=self.config.inhibit_rules,
            routes=by_name(route_tree(self.config.routes)),
        )


def load_config(path: Path) -> LoadedConfig:
    """Raises ``ConfigFileError`` listing every problem in the file and its schedules: the
    root file's first, then each schedule file's, each file's in line order."""
    config = load_yaml_model(path, TocsinConfig)
    schedules: dict[str, Schedule] = {}
    problems: list[Problem] = []
    if config.schedules_dir is not None:
        try:
            schedules = load_schedules(path.parent / config.schedules_dir)
        except ConfigFileError as error:
            problems.extend(error.problems)
    problems.extend(_check_references(path, config, schedules))
    if problems:
        raise ConfigFileError(
            sorted(problems, key=lambda p: (p.file != path, str(p.file), p.line or 0))
        )
    return LoadedConfig(path, config, schedules)


def _check_references(
    path: Path, config: TocsinConfig, schedules: dict[str, Schedule]
) -> list[Problem]:
    problems: list[Problem] = []

    def problem(loc: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(path, line_of(path, loc), f"{format_loc(loc)}: {message}"))

    tree = route_tree(config.routes)
    for loc, message in [
        *integration_conflicts(config.integrations),
        *heartbeat_problems(config.integrations),
        *route_problems(tree),
    ]:
        problem(loc, message)
    for node in walk(tree):
        wanted = node.route.policy
        if wanted is not None and wanted not in config.escalation_policies:
            problem((*node.loc, "policy"), f"unknown escalation policy {wanted!r}")
    schedules_dir = path.parent / (config.schedules_dir or ".")
    for name, policy in config.escalation_policies.items():
        for j, level in enumerate(policy.levels):
            for k, target in enumerate(level.targets):
                if target.kind == "schedule":
                    if target.name in schedules:
                        continue
                    if config.schedules_dir is not None and _has_file(schedules_dir, target.name):
                        continue  # its file failed to load, and says why
                elif target.name in config.people:
                    continue
                loc = ("escalation_policies", name, "levels", j, "targets", k)
                problem(loc, f"unknown {target.kind} {target.name!r}")
    for person_id, person in config.people.items():
        if person.email and config.smtp is None:
            problem(("people", person_id, "email"), "an email address needs an smtp section")
        for key in ("slack_user", "slack_channel"):
            if getattr(person, key) and config.slack is None:
                problem(("people", person_id, key), f"{key} needs a slack section (bot_token)")
    for schedule in schedules.values():
        file = schedule_file(schedules_dir, schedule.name)
        named: list[tuple[tuple[str | int, ...], str]] = [
            *((("rotation", "members", i), m) for i, m in enumerate(schedule.rotation.members)),
            *((("overrides", i, "person"), o.person) for i, o in enumerate(schedule.overrides)),
        ]
        for where, name in named:
            if name not in config.people:
                message = f"{format_loc(where)}: unknown person {name!r} (not in people)"
                problems.append(Problem(file, line_of(file, where), message))
    return problems


def _has_file(directory: Path, name: str) -> bool:
    return schedule_file(directory, name).exists()
