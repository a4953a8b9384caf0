"""The root configuration file: each section validated by its stage's model, then the
references between sections checked, every problem reported as ``file:line: message``.

One run reports every mistake of every file: a section or entry with a mistake is left out
of the cross-file checks (``read_yaml_model``), and a reference to it is not reported again.
Warnings name what will work but probably not as meant (a person nobody can page)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from difflib import get_close_matches
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.config import Integration, integration_conflicts
from ingest.heartbeats import heartbeat_problems
from notifier.config import EscalationPolicy, Person, SlackConfig, SmtpConfig, TwilioConfig
from notifier.directory import Directory
from notifier.rules import problems as rule_problems
from notifier.secret_values import Secret
from router.config import (
    DEFAULT_REOPEN_WINDOW,
    Route,
    RoutingConfig,
    Severity,
    SeverityRule,
    by_name,
    route_problems,
    route_tree,
    walk,
)
from router.inhibition import InhibitRule
from router.maintenance import MaintenanceWindow
from router.reports import DEFAULT_RESPONSE_TARGETS
from schedules.durations import Duration
from schedules.loader import read_schedules, schedule_file
from schedules.models import GROUP_PREFIX, Schedule
from schedules.yamlfile import ConfigFileError, Problem, format_loc, line_of, read_yaml_model
from schedules.yamlfile import Loc as YamlLoc
from tocsin.api_auth import ApiAuthConfig
from tocsin.config_version import config_version
from tocsin.console.config import ConsoleConfig
from tocsin.console.link_sender import way_to


class TocsinConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    integrations: list[Integration] = Field(default_factory=list)
    people: dict[str, Person] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)
    """Person ids by group name: policy targets ``group:NAME`` (everyone) and
    ``group:NAME:round-robin`` (one per incident), and rotation members ``group:NAME``."""

    @field_validator("groups")
    @classmethod
    def _not_empty(cls, groups: dict[str, list[str]]) -> dict[str, list[str]]:
        empty = [name for name, members in groups.items() if not members]
        if empty:
            raise ValueError(f"group {empty[0]!r} has no members; a page to it reaches nobody")
        return groups

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
    twilio: TwilioConfig | None = None
    """Sends SMS and places calls to people with a ``phone``."""
    webhook_secret: Secret | None = None
    """Signs the webhook requests of people who have no ``webhook_secret`` of their own."""
    ack_link_grace: Duration = timedelta(hours=1)
    """How long the link in a page keeps working after its incident resolved (showing who
    resolved it); until then it works as long as the incident is open."""
    ack_link_ttl: None = Field(default=None, exclude=True)
    """Gone: links last as long as their incident (``ack_link_grace``). Kept as a field only
    to tell whoever still sets it so, at its line."""

    @field_validator("ack_link_ttl", mode="before")
    @classmethod
    def _replaced_by_grace(cls, value: object) -> None:
        raise ValueError(
            "replaced by ack_link_grace: a link now works while its incident is open and "
            "for ack_link_grace (default 1h) after it resolved"
        )

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
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    """Sign-in to the console: session lifetime, and a trusted reverse proxy's header."""
    response_targets: dict[Severity, Duration] = Field(default_factory=dict)
    """How soon each severity should be acknowledged, for reports; the rest keep the
    defaults (``router.reports.DEFAULT_RESPONSE_TARGETS``)."""


@dataclass(frozen=True)
class LoadedConfig:
    path: Path
    config: TocsinConfig
    schedules: dict[str, Schedule] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    """What ``tocsin check`` should point out though it works; in file and line order."""
    complete: bool = True
    """False when parts with mistakes were left out (``read_config``)."""
    version: str = ""
    """Of the files as read (``config_version``): routing and paging write it down."""

    @property
    def routing(self) -> RoutingConfig:
        return RoutingConfig(
            routes=self.config.routes,
            severity=self.config.severity,
            retention=self.config.incident_retention,
            reopen_window=self.config.reopen_window,
            inhibit_rules=self.config.inhibit_rules,
            version=self.version,
        )

    @property
    def response_targets(self) -> dict[Severity, timedelta]:
        return {**DEFAULT_RESPONSE_TARGETS, **self.config.response_targets}

    @property
    def directory(self) -> Directory:
        return Directory(
            people=self.config.people,
            schedules=self.schedules,
            groups=self.config.groups,
            policies=self.config.escalation_policies,
            maintenance=self.config.maintenance_windows,
            inhibit_rules=self.config.inhibit_rules,
            routes=by_name(route_tree(self.config.routes)),
            version=self.version,
        )


_STAND_INS: dict[str, object] = {"routes": [{}]}
"""A stand-in for required sections with mistakes, so the other sections are still checked."""

Loc = tuple[str | int, ...]


def load_config(path: Path) -> LoadedConfig:
    """Raises ``ConfigFileError`` listing every problem in the file and its schedules: the
    root file's first, then each schedule file's, each file's in line order."""
    loaded, problems = read_config(path)
    if problems or loaded is None:
        raise ConfigFileError(problems)
    return loaded


def read_config(path: Path) -> tuple[LoadedConfig | None, list[Problem]]:
    """The configuration as far as it could be read (parts with mistakes left out; ``None``
    when the root file gives nothing), and every problem in order: for ``tocsin check``,
    which also lints what could be read."""
    root = read_yaml_model(path, TocsinConfig, _STAND_INS)
    problems = list(root.problems)
    config = root.value
    if config is None:
        return None, problems
    schedules: dict[str, Schedule] = {}
    schedules_dir = None if config.schedules_dir is None else path.parent / config.schedules_dir
    if schedules_dir is not None:
        schedules, schedule_problems = read_schedules(schedules_dir)
        problems += schedule_problems
    checks = _References(path, config, schedules, root.dropped)
    problems += checks.problems
    expanded = {name: s.with_groups(config.groups) for name, s in schedules.items()}
    warnings = in_file_order(path, checks.warnings)
    version = config_version(path, schedules_dir)
    loaded = LoadedConfig(path, config, expanded, warnings, not problems, version)
    return loaded, in_file_order(path, problems)


def in_file_order(path: Path, problems: list[Problem]) -> list[Problem]:
    """The root file ``path``'s first, then each other file's, each file's by line."""
    return sorted(problems, key=lambda p: (p.file != path, str(p.file), p.line or 0))


class _References:
    """Every check across sections and files; what failed to load is not named again."""

    def __init__(
        self,
        path: Path,
        config: TocsinConfig,
        schedules: dict[str, Schedule],
        dropped: frozenset[Loc],
    ) -> None:
        self.path, self.config, self.schedules, self.dropped = path, config, schedules, dropped
        self.schedules_dir = path.parent / (config.schedules_dir or ".")
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._routes()
        self._policies()
        self._people()
        self._schedules()
        self._sign_in_links()

    def _problem(self, loc: Loc, message: str) -> None:
        line = line_of(self.path, loc)
        self.problems.append(Problem(self.path, line, f"{format_loc(loc)}: {message}"))

    def _warning(self, loc: Loc, message: str) -> None:
        self.warnings.append(warning(self.path, loc, message))

    def _failed(self, section: str, name: str) -> bool:
        """Whether ``name`` may be in ``section`` but had mistakes, reported already."""
        return (section,) in self.dropped or (section, name) in self.dropped

    def _routes(self) -> None:
        integrations = self.config.integrations
        for loc, message in [
            *integration_conflicts(integrations),
            *heartbeat_problems(integrations),
        ]:
            self._problem(loc, message)
        if ("routes",) in self.dropped:
            return  # a stand-in: the mistakes in the routes are reported already
        tree = route_tree(self.config.routes)
        for loc, message in route_problems(tree):
            self._problem(loc, message)
        policies = self.config.escalation_policies
        for node in walk(tree):
            wanted = node.route.policy
            if wanted is None or wanted in policies or self._failed("escalation_policies", wanted):
                continue
            message = unknown("escalation policy", wanted, policies, "not in escalation_policies")
            self._problem((*node.loc, "policy"), message)

    def _policies(self) -> None:
        for name, policy in self.config.escalation_policies.items():
            reached: set[str] | None = set()
            for j, level in enumerate(policy.levels):
                for k, target in enumerate(level.targets):
                    loc = ("escalation_policies", name, "levels", j, "targets", k)
                    self._check_target(loc, target.kind, target.name)
                    people = self._target_people(target.kind, target.name)
                    reached = None if people is None or reached is None else reached | people
            if reached is not None and not any(map(self._reachable, reached)):
                who = ", ".join(sorted(reached))
                whom = f"none of {who} has a" if len(reached) > 1 else f"{who} has no"
                self._problem(
                    ("escalation_policies", name),
                    f"pages nobody: {whom} contact method (email, webhook, chat, console)",
                )

    def _target_people(self, kind: str, name: str) -> set[str] | None:
        """Who a target may page, or ``None`` when it cannot be known (a mistake elsewhere)."""
        if kind == "schedule":
            schedule = self.schedules.get(name)
            if schedule is None:
                return None
            names = [self._target_people(*_kind_and_name(n)) for n in schedule.people]
            return None if None in names else set().union(*filter(None, names))
        members = self.config.groups.get(name) if kind == "group" else [name]
        if members is None or not all(p in self.config.people for p in members):
            return None
        return set(members)

    def _check_target(self, loc: Loc, kind: str, name: str) -> None:
        if kind == "schedule":
            if name in self.schedules or ("schedules_dir",) in self.dropped:
                return
            if self.config.schedules_dir is None:
                self._problem(loc, f"unknown schedule {name!r} (no schedules_dir is set)")
            elif not schedule_file(self.schedules_dir, name).exists():
                # An existing file that failed to load says why itself.
                where = schedule_file(self.config.schedules_dir, name)
                self._problem(loc, unknown("schedule", name, self.schedules, f"no file {where}"))
        elif kind == "group":
            if name not in self.config.groups and not self._failed("groups", name):
                self._problem(loc, unknown("group", name, self.config.groups, "not in groups"))
        elif name not in self.config.people and not self._failed("people", name):
            self._problem(loc, unknown("person", name, self.config.people, "not in people"))

    def _reachable(self, person_id: str) -> bool:
        return self.config.people[person_id].reachable

    def _people(self) -> None:
        for group, members in self.config.groups.items():
            for i, member in enumerate(members):
                if member not in self.config.people and not self._failed("people", member):
                    message = unknown("person", member, self.config.people, "not in people")
                    self._problem(("groups", group, i), message)
        for person_id, person in self.config.people.items():
            if person.email:
                message = "an email address needs an smtp section"
                self._needs(("people", person_id, "email"), "smtp", message)
            for key in ("slack_user", "slack_channel"):
                if getattr(person, key):
                    message = f"{key} needs a slack section (bot_token)"
                    self._needs(("people", person_id, key), "slack", message)
            self._phone(person_id, person)
            for where, message in rule_problems(person):
                self._problem(("people", person_id, *where), message)
            if not self._reachable(person_id):
                self._warning(
                    ("people", person_id),
                    "cannot be paged: give them a contact method (email, webhook, chat, console)",
                )

    def _needs(self, loc: Loc, section: str, message: str) -> None:
        """A way to page that needs a section the file lacks; a section that is there but
        had mistakes was reported already, at its own line."""
        if getattr(self.config, section) is None and (section,) not in self.dropped:
            self._problem(loc, message)

    def _phone(self, person_id: str, person: Person) -> None:
        twilio = self.config.twilio
        if person.phone:
            message = "a phone number needs a twilio section"
            self._needs(("people", person_id, "phone"), "twilio", message)
        if person.by_phone("voice") and twilio is not None and twilio.sender is None:
            self._problem(
                ("people", person_id, "phone_methods"),
                "voice calls need twilio.from (a messaging service cannot call)",
            )

    def _schedules(self) -> None:
        for schedule in self.schedules.values():
            file = schedule_file(self.schedules_dir, schedule.name)
            for where, name in schedule.named_people():
                kind, name = _kind_and_name(name) if where[-2] == "members" else ("person", name)
                if kind == "group":
                    if name in self.config.groups or self._failed("groups", name):
                        continue
                    message = unknown("group", name, self.config.groups, "not in groups")
                elif name in self.config.people or self._failed("people", name):
                    continue
                else:
                    message = unknown("person", name, self.config.people, "not in people")
                self.problems.append(
                    Problem(file, line_of(file, where), f"{format_loc(where)}: {message}")
                )

    def _sign_in_links(self) -> None:
        config = self.config
        if not config.console.magic_links or any(loc[0] == "people" for loc in self.dropped):
            return
        if not any(way_to(p, config.smtp, config.slack) for p in config.people.values()):
            self._problem(
                ("console", "magic_links"),
                "nobody can get a sign-in link: it goes to a person's email (with an smtp "
                "section), a Slack direct message (slack_user, with a slack section) or "
                "their webhook",
            )


def warning(file: Path, loc: YamlLoc, message: str) -> Problem:
    """What works but probably not as meant, at ``loc`` in ``file``."""
    return Problem(file, line_of(file, loc), f"warning: {format_loc(loc)}: {message}")


def _kind_and_name(member: str) -> tuple[str, str]:
    """A rotation member: ``("group", NAME)`` for ``group:NAME``, else ``("person", id)``."""
    if member.startswith(GROUP_PREFIX):
        return "group", member.removeprefix(GROUP_PREFIX)
    return "person", member


def unknown(kind: str, name: str, known: Iterable[str], where: str) -> str:
    """The one wording of a name that refers to nothing, with the likely meant one."""
    guess = get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {guess[0]!r}?" if guess else ""
    return f"unknown {kind} {name!r} ({where}){hint}"
