"""Files no operator means to write: each is one ``Problem`` naming the file and, where there
is one, the line; never another exception, never a hang."""

import codecs
import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from schedules.durations import Duration
from schedules.yamlfile import ConfigFileError, line_of, load_yaml_model
from schedules.yamlloader import MAX_DEPTH, MAX_VALUES


class Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every: Duration | None = None
    data: object = None


def problems(tmp_path: Path, text: bytes) -> list[str]:
    path = tmp_path / "doc.yaml"
    path.write_bytes(text)
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Doc)
    return [str(problem).replace(str(path), "FILE") for problem in caught.value.problems]


def nested_flow(depth: int) -> bytes:
    """``data:`` holding lists ``depth`` levels deep; with the top mapping, ``depth + 1``."""
    return b"data: " + b"[" * depth + b"]" * depth + b"\n"


def laughs(levels: int, width: int = 10) -> bytes:
    """Each level a list of ``width`` aliases of the level before: ``width ** levels``."""
    lines = [b"data:", b"  l0: &l0 lol"]
    lines += [
        b"  l%d: &l%d [%s]" % (n, n, b", ".join([b"*l%d" % (n - 1)] * width))
        for n in range(1, levels + 1)
    ]
    return b"\n".join(lines) + b"\n"


TOO_DEEP = f"invalid YAML: nested too deeply (more than {MAX_DEPTH} levels)"
TOO_MANY = f"invalid YAML: more than {MAX_VALUES} values once aliases are expanded"


STRANGE_FILES: list[tuple[str, bytes, str]] = [
    ("5000 nested lists", b"data: " + b"[" * 5000 + b"\n", f"FILE:1: {TOO_DEEP}"),
    ("5000 nested mappings", b"data: " + b"{a: " * 5000 + b"\n", f"FILE:1: {TOO_DEEP}"),
    ("one level too deep", nested_flow(MAX_DEPTH), f"FILE:1: {TOO_DEEP}"),
    (
        "3000 indented levels",
        b"".join(b"  " * i + b"k%d:\n" % i for i in range(3000)),
        f"FILE:{MAX_DEPTH}: {TOO_DEEP}",
    ),
    ("a billion laughs", laughs(9), f"FILE:7: {TOO_MANY}"),
    ("binary", bytes(range(256)), "FILE:3: invalid text: not UTF-8 (invalid start byte)"),
    (
        "invalid UTF-8 after CRLF lines",
        b"data:\r\n  - a\r\n  - \xff\r\n",
        "FILE:3: invalid text: not UTF-8 (invalid start byte)",
    ),
    ("Latin-1", b"data: caf\xe9\n", "FILE:1: invalid text: not UTF-8 (invalid continuation byte)"),
    (
        "UTF-16 with a lone surrogate",
        codecs.BOM_UTF16_LE + "data:\n  - \ud800x".encode("utf-16-le", "surrogatepass"),
        "FILE:2: invalid text: not UTF-16-LE (illegal UTF-16 surrogate)",
    ),
    (
        "UTF-16 cut in half",
        b"\xff\xfed\x00a\x00t",
        "FILE:1: invalid text: not UTF-16-LE (truncated data)",
    ),
    (
        "a NUL byte",
        b"data:\n  - a\x00b\n",
        "FILE:2: invalid text: the character U+0000 is not allowed in YAML",
    ),
    (
        "a terminal escape",
        b"data:\n  - \x1b[31m\n",
        "FILE:2: invalid text: the character U+001B is not allowed in YAML",
    ),
    (
        "a bool that is not",
        b"data: !!bool maybe\n",
        "FILE:1: invalid YAML: 'maybe' is not a valid !!bool",
    ),
    (
        "a timestamp that is not",
        b"\ndata: !!timestamp soon\n",
        "FILE:2: invalid YAML: 'soon' is not a valid !!timestamp",
    ),
    (
        "a float that is not",
        b"data: !!float fast\n",
        "FILE:1: invalid YAML: 'fast' is not a valid !!float",
    ),
    (
        "an integer of 5000 digits",
        b"data: " + b"9" * 5000 + b"\n",
        "FILE:1: invalid YAML: '" + "9" * 38 + "… is not a valid !!int",
    ),
]
"""Files refused before any model sees them: (what, bytes, the problem with ``FILE`` for the
path). ``tocsin check`` is run on each too."""

TOO_LONG = "invalid duration '{}': at most 3650 days (about ten years)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *(pytest.param(text, expected, id=what) for what, text, expected in STRANGE_FILES),
        pytest.param(
            b"every: 9999999999w\n",
            "FILE:1: every: " + TOO_LONG.format("9999999999w"),
            id="a duration of 9999999999 weeks",
        ),
        pytest.param(
            b"every: 3651d\n", "FILE:1: every: " + TOO_LONG.format("3651d"), id="3651 days"
        ),
    ],
)
def test_a_strange_file_is_one_problem_at_its_line(
    tmp_path: Path, text: bytes, expected: str
) -> None:
    assert problems(tmp_path, text) == [expected]


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(nested_flow(MAX_DEPTH - 1))
    data = load_yaml_model(path, Doc).data
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(data, list)
        data = data[0] if data else None
    assert data is None


def test_aliases_up_to_the_limit_load(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(laughs(4))  # 10,000 values
    assert load_yaml_model(path, Doc).data is not None


def test_an_alias_of_its_own_ancestor_loads(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(b"data: &a [1, *a]\n")
    data = load_yaml_model(path, Doc).data
    assert isinstance(data, list)
    assert data[1] is data


def test_line_of_a_file_too_deep_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(b"data: " + b"[" * 5000 + b"\n")
    assert line_of(path, ("data",)) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("absent.yaml", "FILE: cannot read file: No such file or directory"),
        (".", "FILE: cannot read file: Is a directory"),
        ("file.yaml/doc.yaml", "FILE: cannot read file: Not a directory"),
    ],
)
def test_a_path_that_is_not_a_readable_file(tmp_path: Path, name: str, expected: str) -> None:
    (tmp_path / "file.yaml").write_text("data: 1\n")
    path = tmp_path / name
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Doc)
    assert str(caught.value) == expected.replace("FILE", str(path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("data: 1\n")
    path.chmod(0)
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Doc)
    assert str(caught.value) == f"{path}: cannot read file: Permission denied"
