"""Log output for every process: one line per event, as text or as JSON objects (for log
pipelines). Lifecycle lines carry their facts (incident, person, channel) as fields; no line
carries a secret, a token or an acknowledge link (callers log ids, never links)."""

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO

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


class TurnHandler(logging.StreamHandler[TextIO]):
    """Writes what one turn of the event loop logged in one write, at the end of the turn: a
    busy worker logs a line per page, and a write of its own per line cost as much as the
    rest of logging it. A warning, or a line logged where no loop runs, is written at once,
    after the lines before it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._flushing_on: asyncio.AbstractEventLoop | None = None
        """The loop a flush is due on: a loop that stopped before it ran owes nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or not self._flush_later():
            self.flush()

    def _flush_later(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        if self._flushing_on is not loop:
            loop.call_soon(self.flush)
            self._flushing_on = loop
        return True

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            self._flushing_on = None
            lines, self._lines = "".join(self._lines), []
            try:
                if lines:
                    self.stream.write(lines)
                super().flush()
            except (OSError, ValueError):  # closed: there is nowhere left to say so
                pass


def configure(log_format: str, *, debug: bool = False) -> None:
    handler = TurnHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # No line shows the caller's file, thread or process: not looked up for every record.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    for name in NEVER_DEBUG:
        logging.getLogger(name).setLevel(logging.WARNING)
