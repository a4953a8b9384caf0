"""Grouping keys: alerts with the same key share one open incident."""

import hashlib
import json

from ingest.models import Alert
from router.matching import Placement


def group_labels(alert: Alert, placement: Placement) -> dict[str, str]:
    """The label values that define the group (missing labels count as empty)."""
    names = placement.route.group_by or []
    return {name: alert.labels.get(name, "") for name in names}


def group_key(alert: Alert, placement: Placement) -> str:
    """Stable across processes and restarts: a hash of the route and its group's values.

    Without ``group_by`` each distinct alert is its own group, so unrelated problems are
    never folded into one page.
    """
    identity: dict[str, object] = {"route": placement.route_name}
    if placement.route.group_by is None:
        identity["alert"] = alert.dedup_key
    else:
        identity["labels"] = group_labels(alert, placement)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
