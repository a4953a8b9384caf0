"""``console`` in ``tocsin.yaml``: how long a sign-in lasts, whether people may sign in by a
link sent to them, and whether a reverse proxy in front of Tocsin says who someone is."""

from datetime import timedelta
from ipaddress import ip_address
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, model_validator

from schedules.durations import Duration

MAX_MAGIC_LINK_TTL = timedelta(days=1)
"""A sign-in link is for signing in now; one that lies in a mailbox for days is a risk."""


class ConsoleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    session_lifetime: Duration = timedelta(hours=12)
    magic_links: bool = False
    """Offer "email me a sign-in link": off unless asked for, as it makes a person's mailbox
    (or chat, or webhook) a way into the console."""
    magic_link_ttl: Duration = timedelta(minutes=15)
    trusted_proxy_header: str | None = Field(default=None, min_length=1, pattern=r"^[!-~]+$")
    """The header in which the proxy names the signed-in person (``X-Forwarded-User``)."""
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    """Only requests from these addresses may name a person by the header: anyone else could
    send it too."""

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if self.trusted_proxy_header is not None and not self.trusted_proxies:
            raise ValueError("trusted_proxy_header needs trusted_proxies, the proxy's addresses")
        if self.trusted_proxies and self.trusted_proxy_header is None:
            raise ValueError("trusted_proxies needs trusted_proxy_header")
        if self.session_lifetime <= timedelta(0):
            raise ValueError("session_lifetime must be longer than zero")
        if "magic_link_ttl" in self.model_fields_set and not self.magic_links:
            raise ValueError("magic_link_ttl is set, but magic_links is not true")
        if not timedelta(0) < self.magic_link_ttl <= MAX_MAGIC_LINK_TTL:
            raise ValueError("magic_link_ttl must be longer than zero and at most 1d")
        return self

    def trusts(self, peer: str | None) -> bool:
        """Whether a request from ``peer`` (its IP address) may name its person by header."""
        if peer is None or self.trusted_proxy_header is None:
            return False
        try:
            address = ip_address(peer)
        except ValueError:  # a Unix socket's peer
            return False
        return any(address in network for network in self.trusted_proxies)
