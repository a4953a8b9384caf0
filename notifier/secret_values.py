"""Secrets written in the configuration, either inline or as ``env:NAME``.

``env:NAME`` keeps a token out of a file that is checked in or shared: the value is read from
the environment when the configuration loads, so a missing variable is a configuration
problem at the line that names it, not a failed page at 3 a.m. The value is a ``SecretStr``,
so it never shows in a repr, a log line or a validation error.
"""

import os
import re
from typing import Annotated

from pydantic import BeforeValidator, SecretStr

_ENV = re.compile(r"env:(.*)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _from_env(value: object) -> object:
    if not isinstance(value, str):
        return value
    match = _ENV.fullmatch(value)
    if match is None:
        if not value:
            raise ValueError("a secret cannot be empty")
        return value
    name = match[1]
    if not _NAME.fullmatch(name):
        raise ValueError(f"env:{name} is not an environment variable name")
    found = os.environ.get(name)
    if not found:
        raise ValueError(f"environment variable {name} is not set (named by env:{name})")
    return found


Secret = Annotated[SecretStr, BeforeValidator(_from_env)]
"""A secret given inline or as ``env:NAME``; unwrap with ``get_secret_value()``."""
