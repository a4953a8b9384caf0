"""Pages printed to the service's output: for demos and laptops, where the link is clicked from
the terminal."""

import sys
from typing import TextIO

from notifier.channels import DeliveryResult, Notification
from notifier.channels.render import text_body
from notifier.config import Person

_RULE = "=" * 72


class ConsoleChannel:
    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def reaches(self, person: Person) -> bool:
        return person.console

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if not person.console:
            return DeliveryResult.failed("console paging is off for this person", retryable=False)
        # One write, so blocks from concurrent pages do not interleave line by line.
        block = f"{_RULE}\nTo: {note.person_name} ({note.person})\n{text_body(note)}{_RULE}\n"
        try:
            self.stream.write(block)
            self.stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            return DeliveryResult.failed(f"cannot write: {exc}", retryable=False)
        return DeliveryResult.delivered("printed")

    async def aclose(self) -> None:
        """The stream belongs to whoever passed it in."""
