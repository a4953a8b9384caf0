"""Redis keys owned by the console: people's password hashes and failed sign-ins. Only
``tocsin.console.passwords`` reads and writes them."""

PREFIX = "tocsin:console:"

PASSWORDS = PREFIX + "passwords"
"""Hash of person id -> argon2 hash of their console password."""


def failed_logins(person: str, address: str) -> str:
    """Counter of failed sign-ins as ``person`` from ``address``, expiring with its window:
    one guesser is slowed down without locking the person out from everywhere."""
    return f"{PREFIX}failed-logins:{person}:{address}"
