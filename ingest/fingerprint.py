"""A stable identity for an alert whose source gives none: a hash of its labels."""

import hashlib
import json
from collections.abc import Mapping


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """32 hex characters of SHA-256 over the labels as canonical JSON.

    Keys are sorted so the order a sender lists labels in does not matter. The result is
    stored as a dedup key, so the encoding must never change: ASCII-escaped JSON with no
    spaces is the same in every Python version and for every string, lone surrogates included.
    """
    canonical = json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]


_SUMMARY_LABEL = "__summary__"
"""Stands in for the labels when there are none; ``__`` names are reserved in Prometheus, so
no real label set hashes the same."""


def identity(labels: Mapping[str, str], summary: str) -> str:
    """A sender's alert with no dedup key of its own: its labels, so a summary whose text
    changes ("91% full", "95% full") stays one alert; with no labels, its summary."""
    return labels_fingerprint(labels or {_SUMMARY_LABEL: summary})
