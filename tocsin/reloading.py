"""Hot reload: a process takes up an edited configuration while it runs, and only when all
of it validates.

A broken edit keeps the last good configuration, whole: half of an edit (a new schedule
whose person is not in ``people`` yet) could page nobody, and paging must never stop. The
problems are logged as ``file:line: message``, kept for ``/readyz`` and counted by
``tocsin_config_valid``; the process stays ready, still paging with what it had.

What each role built once from the configuration follows through subscribers (the router's
routing, the pager's directory, the webhooks' integrations, the API's and the console's
sign-in rules); web handlers read ``ConfigHolder.current`` per request. A subscriber hands
its handler a whole new immutable value in one assignment, and a reload runs between
requests, so a request is served by one configuration, never by parts of two; one in flight
finishes with what it started with. What is bound into long-lived connections
(``RESTART_KEYS``) is kept until the process restarts, with a warning when an edit changes it.
"""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge
from watchfiles import Change, awatch

from schedules.yamlfile import Problem
from tocsin.config import LoadedConfig, read_config

log = logging.getLogger(__name__)

RESTART_KEYS = ("smtp", "slack", "twilio")
"""Read once when a process starts: the channels' servers and credentials, bound into the
mail, chat and phone clients (and their connections) the pager and the console's sign-in
links send through, and into the phone callbacks' routes."""

WATCH_DEBOUNCE_MS = 300
"""An editor's save is several events (write, rename, chmod): one reload for all of them."""
WATCH_RETRY_SECONDS = 1.0
"""After a folder being watched went away, before watching again."""

Subscriber = Callable[[LoadedConfig], None]


class ConfigHolder:
    """The configuration a process runs now, replaced whole by a reload that validates."""

    def __init__(self, loaded: LoadedConfig, registry: CollectorRegistry) -> None:
        self.current = loaded
        self.problems: list[Problem] = []
        """Why the files as they are now were not taken up; empty when they were."""
        self._subscribers: list[Subscriber] = []
        self._valid = Gauge(
            "tocsin_config_valid",
            "1 when the configuration files as they are now were taken up; 0 when an edit "
            "was refused and the last good configuration still runs.",
            registry=registry,
        )
        self._info = Gauge(
            "tocsin_config_info",
            "The configuration version this process runs, as a label.",
            ["version"],
            registry=registry,
        )
        self._valid.set(1)
        self._info.labels(loaded.version).set(1)
        log.info("configuration version %s from %s", loaded.version, loaded.path)

    @property
    def version(self) -> str:
        return self.current.version

    def subscribe(self, subscriber: Subscriber) -> None:
        """``subscriber`` gets every configuration taken up from now on."""
        self._subscribers.append(subscriber)

    def reload(self) -> bool:
        """Read the files again and take them up if all of them validate; whether a new
        version now runs. Also what SIGHUP calls."""
        path = self.current.path
        loaded, problems = read_config(path)
        if loaded is None or problems:
            self.problems = problems or [Problem(path, None, "gives no configuration")]
            self._valid.set(0)
            for problem in self.problems:
                log.error("configuration not reloaded: %s", problem)
            log.error("still running configuration version %s", self.version)
            return False
        self._valid.set(1)
        if self.problems:
            log.info("configuration files valid again")
        self.problems = []
        if loaded.version == self.version:
            return False
        old, self.current = self.current, loaded
        self._info.remove(old.version)
        self._info.labels(loaded.version).set(1)
        for key in restart_needed(old, loaded):
            log.warning("%s changed: it takes effect when the process restarts", key)
        log.info("configuration reloaded: version %s (was %s)", loaded.version, old.version)
        for subscriber in self._subscribers:
            subscriber(loaded)
        return True

    def watched(self) -> tuple[Path, ...]:
        """The folders whose changes may change the configuration: the root file's (an
        editor often saves by replacing the file, which a watch on the file itself would
        lose) and the schedules folder, if it exists."""
        root = self.current.path.absolute()
        folders = [root.parent]
        if self.current.config.schedules_dir is not None:
            schedules = root.parent / self.current.config.schedules_dir
            if schedules.is_dir():
                folders.append(schedules.absolute())
        return tuple(dict.fromkeys(folders))

    def concerns(self, _: Change, changed: str) -> bool:
        """Whether a change to ``changed`` may change the configuration: not a log file or
        an editor's swap file beside it."""
        path = Path(changed)
        if path == self.current.path.absolute():
            return True
        if path.name.startswith(".."):
            # A Kubernetes ConfigMap volume swaps its files at once by pointing its ..data
            # link elsewhere; the files themselves are links that never change.
            return True
        return path.parent in self.watched()[1:] and path.suffix in {".yaml", ".yml"}


def restart_needed(old: LoadedConfig, new: LoadedConfig) -> list[str]:
    """The keys of ``RESTART_KEYS`` the edit changed."""
    return [key for key in RESTART_KEYS if getattr(old.config, key) != getattr(new.config, key)]


async def watch(holder: ConfigHolder, stop: asyncio.Event) -> None:
    """Reload on every change of the files, until ``stop``; a reload that moves the
    schedules folder moves the watch with it."""
    while not stop.is_set():
        folders = holder.watched()
        try:
            async for _ in awatch(
                *folders,
                watch_filter=holder.concerns,
                debounce=WATCH_DEBOUNCE_MS,
                stop_event=stop,
                recursive=False,
            ):
                holder.reload()
                if holder.watched() != folders:
                    break
        except OSError as error:
            # A folder removed (a deployment swapping a symlinked folder): the reload that
            # follows says what is missing; watch again what is there now.
            log.warning("watching the configuration files: %s", error)
            await asyncio.sleep(WATCH_RETRY_SECONDS)
