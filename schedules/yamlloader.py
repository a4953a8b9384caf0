"""PyYAML's ``SafeLoader`` made safe for any file: whatever the bytes, it fails only with a
``yaml.YAMLError``, and says where when it can.

- Nesting deeper than ``MAX_DEPTH`` is refused: PyYAML composes recursively and would
  exhaust Python's stack (a file of ``[`` 5,000 times).
- A document that holds more than ``MAX_VALUES`` values once its aliases are expanded is
  refused (``check_expansion``): aliases let a file of a few lines stand for billions of
  values ("billion laughs"), and checking them would take minutes and gigabytes.
- A value an explicit tag cannot read (``!!bool maybe``, ``!!timestamp soon``, an integer of
  5,000 digits) is a ``ConstructorError`` at its line, not a bare ``KeyError``.
- Date-like scalars stay strings: models parse times themselves (a schedule reads them in
  its own zone). YAML 1.1 would silently turn ``2026-01-05 09:00:00`` into a naive or UTC
  datetime, and ``2026-02-30 09:00:00`` into a bare ``ValueError`` without a line number.
"""

import codecs
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.reader import ReaderError

MAX_DEPTH = 100
"""Levels of nesting; real configuration files have fewer than ten."""
MAX_VALUES = 100_000
"""Values in a document once its aliases are expanded; a large team's file has some
thousands."""

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_STANDARD_TAG = "tag:yaml.org,2002:"
_LINE_BREAKS = "\n\r\x85\u2028\u2029"  # YAML's; "\r\n" counts as one


class Loader(yaml.SafeLoader):
    def __init__(self, stream: bytes) -> None:
        self._depth = 0
        super().__init__(stream)

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                problem = f"nested too deeply (more than {MAX_DEPTH} levels)"
                raise ComposerError(None, None, problem, self.get_mark())
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, AttributeError) as exc:  # what PyYAML's constructors raise
            tag = node.tag.replace(_STANDARD_TAG, "!!")
            problem = f"{_shown(node.value)} is not a valid {tag}"
            raise ConstructorError(None, None, problem, node.start_mark) from exc


# Set after the class body: the base class declares it as an instance attribute.
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def check_expansion(root: Node) -> None:
    """Raise ``ComposerError`` at the first node that, aliases expanded, holds more than
    ``MAX_VALUES`` values. Each node is counted once, whatever it expands to."""
    sizes: dict[int, int] = {}
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        if id(node) not in seen:
            seen.add(id(node))
            stack += [child for child in _children(node) if id(child) not in seen]
            continue
        stack.pop()
        if id(node) in sizes:
            continue
        # A child seen but not yet sized is an ancestor (an alias may point up): once.
        size = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
        if size > MAX_VALUES:
            problem = f"more than {MAX_VALUES} values once aliases are expanded"
            raise ComposerError(None, None, problem, node.start_mark)
        sizes[id(node)] = size


def text_problem(text: bytes, exc: ReaderError) -> tuple[int, str]:
    """The line and a message for bytes that are not text, or a character YAML does not
    allow. PyYAML says where by position only: in bytes when decoding failed, in characters
    (``encoding`` "unicode") when a decoded character is not allowed."""
    if exc.encoding == "unicode":
        before = text.decode(_encoding(text))[: exc.position]
        message = f"invalid text: the character U+{exc.character:04X} is not allowed in YAML"
    else:
        before = text[: exc.position].decode(exc.encoding, errors="replace")
        message = f"invalid text: not {exc.encoding.upper()} ({exc.reason})"
    before = before.replace("\r\n", "\n")
    return 1 + sum(map(before.count, _LINE_BREAKS)), message


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _encoding(text: bytes) -> str:
    """The encoding PyYAML reads ``text`` in: UTF-16 after its byte order mark, else UTF-8."""
    if text.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if text.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    return "utf-8"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
