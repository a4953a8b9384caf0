"""Secrets of the notifier's configuration (chat tokens, webhook signing keys), inline or as
``env:NAME`` (``ingest.secrets``). Kept as a ``SecretStr``, so they never show in a repr, a log
line or a validation error.
"""

from typing import Annotated

from pydantic import BeforeValidator, SecretStr

from ingest.secrets import from_env

Secret = Annotated[SecretStr, BeforeValidator(from_env)]
"""A secret given inline or as ``env:NAME``; unwrap with ``get_secret_value()``."""
