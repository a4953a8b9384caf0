"""Inhibition, as Alertmanager has it: while a *source* alert fires (say "cluster eu1 is
down"), *target* alerts with the same values of the ``equal`` labels ("payments is down in
eu1") join their incidents but page nobody.

Pure: which rules an alert is a source for and a target of, and the key naming the group of
sources that would inhibit it (the router keeps the firing sources of each such group in
Redis, see ``router.store``).
"""

import hashlib
import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from router.matchers import Matcher, matches_all, parse_matcher


class InhibitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)
    """Labels whose values source and target must share (a missing label is empty)."""

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _parsed(cls, matchers: list[str]) -> list[str]:
        for text in matchers:
            parse_matcher(text)  # MatcherError is a ValueError: reported at its line
        return matchers

    _id: str = PrivateAttr()
    _sources: list[Matcher] = PrivateAttr()
    _targets: list[Matcher] = PrivateAttr()

    def model_post_init(self, context: object) -> None:
        # Worked out once: a rule is checked against every alert.
        canonical = json.dumps(self.model_dump(), sort_keys=True)
        self._id = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        self._sources = [parse_matcher(text) for text in self.source_matchers]
        self._targets = [parse_matcher(text) for text in self.target_matchers]

    @property
    def id(self) -> str:
        """Stable while the rule is unchanged, wherever it stands in the list."""
        return self._id

    @property
    def sources(self) -> list[Matcher]:
        return self._sources

    @property
    def targets(self) -> list[Matcher]:
        return self._targets

    def group(self, labels: Mapping[str, str]) -> str:
        """Which sources can inhibit which targets: the rule and its equal labels' values."""
        values = json.dumps([labels.get(name, "") for name in self.equal])
        return f"{self.id}:{hashlib.sha256(values.encode()).hexdigest()[:16]}"


def source_groups(rules: Sequence[InhibitRule], labels: Mapping[str, str]) -> list[str]:
    """The groups an alert with these labels inhibits while it fires."""
    return [rule.group(labels) for rule in rules if matches_all(rule.sources, labels)]


def target_groups(rules: Sequence[InhibitRule], labels: Mapping[str, str]) -> list[str]:
    """The groups whose firing sources would inhibit an alert with these labels. An alert
    that is a source of a rule is not its target, so it cannot inhibit itself."""
    return [
        rule.group(labels)
        for rule in rules
        if matches_all(rule.targets, labels) and not matches_all(rule.sources, labels)
    ]
