"""Load a hand-edited YAML file into a pydantic model, reporting problems as ``file:line: message``.

Generic on purpose: schedule files use it, and so does the application's root config. Every
problem found in a file is reported at once, so an operator fixes a file in one pass.

A file with problems still yields what could be read of it (``read_yaml_model``): checks
across files then go on, and one run reports the mistakes of every file.

No file makes it fail otherwise: whatever ``schedules.yamlloader`` refuses (bytes that are not
text, deep nesting, huge aliases) is one ``Problem``, with its line where it is known.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from schedules.yamlloader import Loader, check_expansion, text_problem

M = TypeVar("M", bound=BaseModel)

Loc = Sequence[str | int]
"""A path into a document, as pydantic reports it: ``("overrides", 0, "to")``."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file; ``line`` is 1-based, ``None`` when no line applies."""

    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class ConfigFileError(Exception):
    """Configuration files are wrong; ``str()`` lists every problem, one per line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


@dataclass(frozen=True)
class ReadModel(Generic[M]):
    """A file read as far as it could be: ``value`` leaves out the parts with ``problems``
    (``dropped``: top-level keys, or ``(key, name)`` entries of a top-level mapping), and is
    ``None`` when what is left is no model (a syntax error, a required field wrong)."""

    value: M | None
    problems: list[Problem]
    dropped: frozenset[tuple[str | int, ...]] = field(default_factory=frozenset)


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read ``path`` and validate it as ``model``.

    Raise ``ConfigFileError`` listing every problem, sorted by line.
    """
    read = read_yaml_model(path, model)
    if read.problems or read.value is None:
        raise ConfigFileError(read.problems)
    return read.value


def read_yaml_model(
    path: Path, model: type[M], stand_ins: Mapping[str, object] | None = None
) -> ReadModel[M]:
    """Read ``path`` as ``model``, keeping what is right when parts are wrong.

    A wrong entry of a top-level mapping (one person) is left out, else the whole top-level
    key; a required key left out is replaced by its ``stand_ins`` value, if one is given.
    """
    try:
        text = _read(path)
        root, data, problems = _parse(path, text)
    except ConfigFileError as error:
        return ReadModel(None, error.problems)
    except yaml.YAMLError as exc:
        return ReadModel(None, [_syntax_problem(path, text, exc)])
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        problems += [
            Problem(path, _line_at(root, error["loc"]), _describe(error)) for error in exc.errors()
        ]
        salvaged, dropped = _salvage(model, data, exc, stand_ins or {})
        return ReadModel(salvaged, _by_line(problems), dropped)
    return ReadModel(value, _by_line(problems))


_SALVAGE_ROUNDS = 3
"""Leaving a part out can only reveal a missing required key, so a few rounds settle it."""


def _salvage(
    model: type[M], data: object, exc: ValidationError, stand_ins: Mapping[str, object]
) -> tuple[M | None, frozenset[tuple[str | int, ...]]]:
    if not isinstance(data, dict):
        return None, frozenset()
    data = dict(data)
    dropped: set[tuple[str | int, ...]] = set()
    for _ in range(_SALVAGE_ROUNDS):
        for error in exc.errors():
            loc = error["loc"]
            if not loc:
                return None, frozenset(dropped)
            section = data.get(loc[0])
            if len(loc) >= 2 and isinstance(section, dict) and loc[1] in section:
                data[loc[0]] = {k: v for k, v in section.items() if k != loc[1]}
                dropped.add(tuple(loc[:2]))
            else:
                data.pop(loc[0], None)
                dropped.add((loc[0],))
                if loc[0] in stand_ins:
                    data[str(loc[0])] = stand_ins[str(loc[0])]
        try:
            return model.model_validate(data), frozenset(dropped)
        except ValidationError as again:
            exc = again
    return None, frozenset(dropped)


def line_of(path: Path, loc: Loc) -> int | None:
    """The line where ``loc`` is written in the YAML file at ``path``, for cross-file checks.

    A mapping entry's line is the line of its key; a list item's is the item's first line.
    If ``loc`` goes further than the file does (a missing field), this is the line of the
    deepest part that exists. ``None`` if the file cannot be read or parsed.
    Example: ``line_of(path, ("rotation", "members", 2))`` for the third member.
    """
    try:
        root = yaml.compose(_read(path), Loader=Loader)
    except (ConfigFileError, yaml.YAMLError):
        return None
    return None if root is None else _line_at(root, loc)


def format_loc(loc: Loc) -> str:
    """``("overrides", 0, "to")`` as operators read it: ``overrides[0].to``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.removeprefix(".")


def _by_line(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda problem: problem.line or 0)


def _read(path: Path) -> bytes:
    # Bytes, so PyYAML detects the encoding and reports bad characters itself.
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigFileError([Problem(path, None, f"cannot read file: {exc.strerror}")]) from exc


def _parse(path: Path, text: bytes) -> tuple[MappingNode, Any, list[Problem]]:
    """The root node, the data built from it, and any duplicate keys."""
    loader = Loader(text)
    try:
        root = _top_level_mapping(path, loader.get_single_node())
        check_expansion(root)
        # Before constructing: merge keys (<<) rewrite the node tree during construction.
        problems = _duplicate_keys(path, root)
        return root, loader.construct_document(root), problems
    finally:
        loader.dispose()


def _top_level_mapping(path: Path, root: Node | None) -> MappingNode:
    if root is None:
        message = "the file is empty; expected a mapping of 'key: value' lines"
        raise ConfigFileError([Problem(path, None, message)])
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        message = f"the top level must be a mapping of 'key: value' lines, not {kind}"
        raise ConfigFileError([Problem(path, _line(root), message)])
    return root


def _syntax_problem(path: Path, text: bytes, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, ReaderError):
        return Problem(path, *text_problem(text, exc))
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return Problem(path, None, f"invalid YAML: {exc}")
    message = f"invalid YAML: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    return Problem(path, exc.problem_mark.line + 1, message)


def _duplicate_keys(path: Path, root: Node) -> list[Problem]:
    # PyYAML keeps the last of two equal keys without a word; an operator who writes
    # `overrides:` twice would silently lose the first list.
    problems = []
    visited: set[int] = set()  # aliases share nodes, and may even point at an ancestor
    stack: list[tuple[Node, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, SequenceNode):
            stack += [(item, (*loc, index)) for index, item in enumerate(node.value)]
        if not isinstance(node, MappingNode):
            continue
        first_lines: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or key.value == "<<":
                continue
            if key.value in first_lines:
                where = format_loc((*loc, key.value))
                message = f"{where}: duplicate key, first written on line {first_lines[key.value]}"
                problems.append(Problem(path, _line(key), message))
            else:
                first_lines[key.value] = _line(key)
            stack.append((value, (*loc, key.value)))
    return problems


def _line_at(root: Node, loc: Loc) -> int:
    node, line = root, _line(root)
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        line, node = child
    return line


def _child(node: Node, part: str | int) -> tuple[int, Node] | None:
    if isinstance(node, MappingNode):
        # The last of equal keys, because that is the one the constructor keeps.
        matches = [
            (key, value)
            for key, value in node.value
            if isinstance(key, ScalarNode) and key.value == str(part)
        ]
        if matches:
            key, value = matches[-1]
            return _line(key), value
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return _line(item), item
    return None


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _describe(error: ErrorDetails) -> str:
    kind, value = error["type"], error["input"]
    if kind == "missing":
        text = "required, but missing"
    elif kind == "extra_forbidden":
        text = "unknown field"
    elif kind == "value_error":
        # A validator's ValueError is already worded for people; drop "Value error, ".
        text = str(error.get("ctx", {}).get("error", error["msg"]))
    elif _is_scalar(value):
        # Shows YAML's surprises, such as a person called `no` read as False.
        text = f"{error['msg']} (got {value!r})"
    else:
        text = error["msg"]
    where = format_loc(error["loc"])
    return f"{where}: {text}" if where else text


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
