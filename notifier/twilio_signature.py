"""Twilio's signature on the requests it sends us (``X-Twilio-Signature``). Pure: no I/O.

Twilio signs the URL it was given (scheme, host, path and query exactly as we wrote them)
followed by every POST parameter, sorted by name (and by value for a repeated name), each
name written straight before its value without separators: base64 of the HMAC-SHA1 of that
text, keyed with the account's auth token.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_by_twilio(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str
) -> bool:
    expected = twilio_signature(auth_token, url, params)
    return hmac.compare_digest(expected.encode(), signature.encode())
