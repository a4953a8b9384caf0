import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.fingerprint import labels_fingerprint

# Any str, lone surrogates included: the fingerprint must never fail, whatever it is given.
any_text = st.text(st.characters(codec=None, exclude_categories=()))
label_sets = st.dictionaries(any_text, any_text)


def test_is_pinned_because_dedup_keys_are_stored() -> None:
    labels = {"alertname": "HighErrorRate", "instance": "api-1:8080"}
    assert labels_fingerprint(labels) == "133b2f23cb48848897e4c1056c1413b3"


@given(label_sets)
def test_is_32_hex_characters(labels: dict[str, str]) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", labels_fingerprint(labels))


@given(st.lists(st.tuples(any_text, any_text), unique_by=lambda pair: pair[0]), st.randoms())
def test_does_not_depend_on_label_order(pairs: list[tuple[str, str]], rng: random.Random) -> None:
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    assert labels_fingerprint(dict(pairs)) == labels_fingerprint(dict(shuffled))


@given(label_sets, label_sets)
def test_distinct_label_sets_have_distinct_fingerprints(
    a: dict[str, str], b: dict[str, str]
) -> None:
    if a != b:
        assert labels_fingerprint(a) != labels_fingerprint(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Naive concatenations of names and values would make each of these pairs collide.
        ({"a": "b"}, {"ab": ""}),
        ({"a": "b,c=d"}, {"a": "b", "c": "d"}),
        ({"a": 'x","b":"y'}, {"a": "x", "b": "y"}),
        ({}, {"": ""}),
        ({"severity": "critical"}, {"severity": "Critical"}),
    ],
)
def test_label_sets_that_look_alike_differ(a: dict[str, str], b: dict[str, str]) -> None:
    assert labels_fingerprint(a) != labels_fingerprint(b)
