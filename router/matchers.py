"""Label matchers as Prometheus and Alertmanager users write them: ``name=value``,
``name!=value``, ``name=~regex``, ``name!~regex``, the value optionally in double quotes
(``severity=~"critical|error"``, with ``\\"``, ``\\n`` and ``\\\\`` escapes inside).

Pure. A label an alert does not have matches as the empty string, and a regex must match the
whole value, as in Prometheus: ``env=~"prod"`` does not match ``preprod``.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Op(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


_SYNTAX = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", re.DOTALL)
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


class MatcherError(ValueError):
    """The text is not a matcher; the message says what is wrong and how to write one."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: Op
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, name: str, op: Op, value: str) -> "Matcher":
        pattern = None
        if op in (Op.REGEX, Op.NOT_REGEX):
            try:
                pattern = re.compile(f"(?:{value})", re.DOTALL)
            except re.error as error:
                raise MatcherError(f"{name}{op.value}{value!r}: invalid regex: {error}") from None
        return cls(name, op, value, pattern)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self._pattern is not None:
            return (self._pattern.fullmatch(value) is not None) is (self.op is Op.REGEX)
        return (value == self.value) is (self.op is Op.EQUAL)

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op.value}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    found = _SYNTAX.fullmatch(text)
    if found is None:
        raise MatcherError(
            f"{text!r} is not a matcher: write label=value, label!=value, label=~regex or "
            'label!~regex (for example severity=~"critical|error")'
        )
    name, op, value = found.groups()
    return Matcher.of(name, Op(op), _unquote(text, value))


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)


def _unquote(text: str, value: str) -> str:
    if not value.startswith('"'):
        return value
    if len(value) < 2 or not value.endswith('"'):
        raise MatcherError(f"{text!r}: the value's closing double quote is missing")
    out: list[str] = []
    chars = iter(value[1:-1])
    for char in chars:
        if char == '"':
            raise MatcherError(f'{text!r}: a double quote inside the value must be written \\"')
        if char == "\\":
            following = next(chars, "")
            # A backslash before anything else stands for itself, as Alertmanager reads it.
            out.append(_ESCAPES.get(following, "\\" + following))
        else:
            out.append(char)
    return "".join(out)
