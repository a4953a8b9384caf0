"""Redis keys owned by the application itself (``tocsin/``): API tokens. Other packages never
touch them; ``tocsin.tokens`` is the only reader and writer."""

PREFIX = "tocsin:api:"

TOKENS = PREFIX + "tokens"
"""Hash of a token's SHA-256 (hex) -> ``ApiToken`` JSON: a request is checked with one
lookup."""
TOKEN_NAMES = PREFIX + "token-names"
"""Hash of a token's name -> its SHA-256 (hex): names are unique, and revoking goes by name."""
