"""The version of a configuration: a short hash of the bytes of its files, the root file and
every schedule file. Every process that reads the same files says the same version, so an
operator can tell at a glance whether a fleet runs the edit they just made, and which edit
an incident was routed and paged under."""

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path

from schedules.loader import schedule_files

VERSION_LENGTH = 12
"""Hex digits: enough that two edits of one configuration never meet, short enough to read."""


def config_version(path: Path, schedules_dir: Path | None) -> str:
    """Of the root file ``path`` and the schedule files in ``schedules_dir``, as they are
    now. A file that cannot be read counts as empty: reading the configuration reports it."""
    files = [path]
    if schedules_dir is not None:
        with contextlib.suppress(OSError):
            files += schedule_files(schedules_dir)
    return version_of((file.name, _content(file)) for file in files)


def version_of(files: Iterable[tuple[str, bytes]]) -> str:
    """Of files given by name and content, in order: where the files are does not count
    (the same checkout gives the same version on every machine), their names do (a schedule
    is named after its file)."""
    digest = hashlib.sha256()
    for name, content in files:
        # Lengths first, so bytes moved from one file to the next change the hash.
        encoded = name.encode()
        digest.update(b"%d:%s%d:" % (len(encoded), encoded, len(content)))
        digest.update(content)
    return digest.hexdigest()[:VERSION_LENGTH]


def _content(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError:
        return b""
