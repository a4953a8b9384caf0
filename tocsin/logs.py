"""Log output for every process: one line per event, as text or as JSON objects (for log
pipelines). Lifecycle lines carry their facts (incident, person, channel) as fields; no line
carries a secret, a token or an acknowledge link (callers log ids, never links)."""

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
QUIET = ("arq", "aiohttp.access", "watchfiles")
"""Loggers whose per-job or per-request lines are only wanted when debugging: arq's job
lines read like escalations even for incidents long acknowledged; watchfiles counts file
events, and the reload says what came of them."""
NEVER_DEBUG = ("apprise",)
"""Loggers kept at warnings even when debugging: Apprise's info and debug lines show the
URLs and payloads it sends, and an Apprise URL holds its service's token."""


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(log_format: str, *, debug: bool = False) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    for name in NEVER_DEBUG:
        logging.getLogger(name).setLevel(logging.WARNING)
