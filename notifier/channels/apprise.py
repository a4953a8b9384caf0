"""Any of the services Apprise knows (Telegram, ntfy, Discord, Pushover, Signal, ...) by the
person's Apprise URLs, with the page's title and text.

Apprise is synchronous, so it runs in a worker thread under our timeout. A thread cannot be
stopped: one that outlives the timeout finishes (or fails) on its own, and the page is
reported failed and retryable. Apprise URLs hold tokens: they are never logged or put in a
result's detail, only the service's name is.
"""

import asyncio
from datetime import timedelta

from notifier.channels import DeliveryResult, Notification
from notifier.channels.posting import DEFAULT_TIMEOUT
from notifier.channels.render import headline, text_body
from notifier.config import Person

_TYPES = {"page": "failure", "severity_raised": "warning"}
"""Apprise's notify types, which some services show as a colour or an icon."""


class AppriseChannel:
    name = "apprise"

    def __init__(self, timeout: timedelta = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def reaches(self, person: Person) -> bool:
        return bool(person.apprise)

    async def send(self, person: Person, note: Notification) -> DeliveryResult:
        if not person.apprise:
            return DeliveryResult.failed("no Apprise URLs", retryable=False)
        seconds = self.timeout.total_seconds()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(_notify, person.apprise, note, seconds), seconds
            )
        except TimeoutError:
            return DeliveryResult.failed(f"no answer within {seconds:g}s", retryable=True)

    async def aclose(self) -> None:
        """Nothing held between pages."""


def _notify(urls: list[str], note: Notification, timeout: float) -> DeliveryResult:
    # Imported on the first send, in its thread: loading Apprise's plugins takes a third of
    # a second, which every command of the CLI would otherwise wait for.
    from apprise import Apprise, AppriseResultStatus

    targets = Apprise()
    for url in urls:
        targets.add(url)
    result = targets.notify(
        body=text_body(note),
        title=headline(note),
        notify_type=_TYPES.get(note.kind, "info"),
        timeout=timeout,
    )
    failed = [r.name for r in result.results if r.status is not AppriseResultStatus.SUCCESS]
    # Apprise does not say why a service failed; a URL it cannot use is refused when the
    # configuration loads, so what is left is the service or the network: worth another
    # try, although the services that did take it will then get the page twice.
    if not result.results or len(failed) == len(result.results):
        names = ", ".join(failed) or "no service"
        return DeliveryResult.failed(f"Apprise: not delivered by {names}", retryable=True)
    if failed:
        return DeliveryResult.failed(
            f"Apprise: {len(result.results) - len(failed)} of {len(result.results)} services"
            f" took it; not {', '.join(failed)}",
            retryable=True,
        )
    return DeliveryResult.delivered(f"Apprise: delivered by {len(result.results)} services")
