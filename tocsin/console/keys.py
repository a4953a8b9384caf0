"""Redis keys owned by the console: people's password hashes, sign-in links not yet used, and
the counters that slow down guessing and link requests. Only ``tocsin.console.passwords``,
``tocsin.console.attempts`` and ``tocsin.console.magic_links`` read and write them."""

PREFIX = "tocsin:console:"

PASSWORDS = PREFIX + "passwords"
"""Hash of person id -> argon2 hash of their console password."""


def failed_logins(person: str, address: str) -> str:
    """Counter of failed sign-ins as ``person`` from ``address``, expiring with its window:
    one guesser is slowed down without locking the person out from everywhere."""
    return f"{PREFIX}failed-logins:{person}:{address}"


def link_requests(person: str, address: str) -> str:
    """Counter of sign-in links asked for ``person`` from ``address``: nobody can flood a
    person's mailbox through the sign-in page."""
    return f"{PREFIX}link-requests:{person}:{address}"


def sign_in_link(nonce: str) -> str:
    """A sign-in link sent and not yet used (its person), expiring with the link; taken with
    GETDEL, so only the first use of a link signs in."""
    return f"{PREFIX}sign-in-link:{nonce}"
