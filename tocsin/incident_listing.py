"""A page of the incident list, as the API and the console show it: the window read from the
index, the other filters matched head by head, continuing after a cursor.

A filtered page reads at most ``MAX_SCANNED`` index entries: a bound on one request's work
whatever the filter. Stopping there, it says so and still gives the cursor of the last entry
read, so a client can go on looking further back."""

from dataclasses import dataclass

from router.index_reader import IndexReader, Position
from router.models import Incident
from tocsin.incident_filter import IncidentFilter

MAX_SCANNED = 10_000
"""Index entries read to answer one filtered page."""
SCAN_PAGE = 500


@dataclass(frozen=True)
class Listed:
    incidents: list[Incident]
    next: Position | None
    """Where the next page starts; ``None`` when nothing older is left in the window."""
    truncated: bool
    """The scan stopped at ``MAX_SCANNED`` entries before the page was full."""


async def listed(
    reader: IndexReader,
    chosen: IncidentFilter,
    limit: int,
    *,
    after: Position | None = None,
    offset: int = 0,
    most: int = MAX_SCANNED,
) -> Listed:
    """Up to ``limit`` chosen incidents, newest first, after ``after``; ``offset`` chosen
    ones skipped first (the older way to page: a rank, which shifts as incidents open). At
    most ``most`` index entries are read."""
    found: list[Incident] = []
    scanned = 0
    skip = 0
    if chosen.everything:
        # Every entry is chosen: the index skips them without reading their heads.
        skip, offset = offset, 0
    while scanned < most:
        want = limit - len(found) if chosen.everything else SCAN_PAGE
        page = await reader.newest(min(want, most - scanned), chosen.window, after=after, skip=skip)
        skip = 0
        scanned += page.read
        for index, (position, incident) in enumerate(page.incidents):
            if not chosen.matches(incident):
                continue
            if offset:
                offset -= 1
                continue
            found.append(incident)
            if len(found) == limit:
                left = page.more or index < len(page.incidents) - 1
                return Listed(found, position if left else None, truncated=False)
        if not page.more:
            return Listed(found, None, truncated=False)
        after = page.end
    return Listed(found, after, truncated=True)
