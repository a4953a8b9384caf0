"""Secrets written in the configuration, either inline or as ``env:NAME``.

``env:NAME`` keeps a token out of a file that is checked in or shared: the value is read from
the environment when the configuration loads, so a missing variable is a configuration
problem at the line that names it, not a refused webhook or a failed page at 3 a.m. No error
here ever repeats the value.
"""

import os
import re
from typing import Annotated

from pydantic import BeforeValidator

ENV_PREFIX = "env:"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def from_env(value: object) -> object:
    """The secret ``value`` stands for: itself, or the variable an ``env:NAME`` names."""
    if not isinstance(value, str):
        # YAML reads `1234` as a number, which pydantic's own message would print.
        raise ValueError("must be text (quote it in YAML)")
    if not value:
        raise ValueError("a secret cannot be empty")
    if not value.startswith(ENV_PREFIX):
        return value
    name = value.removeprefix(ENV_PREFIX)
    if not _NAME.fullmatch(name):
        raise ValueError(f"{value!r}: after env: comes an environment variable's name")
    found = os.environ.get(name)
    if not found:
        raise ValueError(f"the environment variable {name} is not set, or empty")
    return found


Secret = Annotated[str, BeforeValidator(from_env)]
"""A secret given inline or as ``env:NAME``, as text (webhook tokens are compared as such)."""
