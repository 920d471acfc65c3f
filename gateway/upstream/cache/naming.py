"""The names of cache entries: keyed hashes, so no key holds an identity number.

Each name is an HMAC of its parts under a key derived from the cache's encryption key, so every
process sharing a Redis names an entry alike. With no key configured, the naming key is random
per process, which only the memory cache can use.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

import orjson

_NAMING_CONTEXT = b"summary-gateway cache key names"


class Names:
    """Names entries (``v``) and per-patient generation counters (``g``) under ``namespace``."""

    def __init__(self, secret: bytes | None, namespace: str, remember: int) -> None:
        self._key = (
            hmac.digest(secret, _NAMING_CONTEXT, "sha256") if secret is not None else os.urandom(32)
        )
        self._namespace = namespace
        # A summary names 28 entries per request: recent names are kept (in this process only,
        # like the opened entries), at most ``remember`` of them, the oldest going first.
        self._remember = max(1, remember)
        self._made: dict[tuple[str, tuple[object, ...]], str] = {}

    def entry(
        self, source: str, patient: str, resource_type: str, params: Sequence[tuple[str, str]]
    ) -> str:
        """The name of one search's answer."""
        return self._name("v", source, patient, resource_type, tuple(map(tuple, params)))

    def generation(self, source: str, patient: str) -> str:
        """The name of ``source``'s generation counter for ``patient``."""
        return self._name("g", source, patient)

    def _name(self, kind: str, *parts: object) -> str:
        made = self._made.get((kind, parts))
        if made is not None:
            return made
        digest = hmac.new(self._key, orjson.dumps(parts), hashlib.sha256).hexdigest()
        name = f"{self._namespace}:{kind}:{digest}"
        if len(self._made) >= self._remember:
            self._made.pop(next(iter(self._made)))
        self._made[(kind, parts)] = name
        return name
