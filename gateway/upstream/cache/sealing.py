"""Cached values as bytes: a JSON envelope, sealed with AES-256-GCM when a key is configured.

The envelope carries the answer (``v``, JSON data), when it was fetched (``t``, Unix time) and
the patient's generation it was stored under (``g``). Values are JSON (orjson), never pickle.
Sealing is required for Redis and optional in memory; the entry's own name is the associated
data, so a value moved to another name (another patient's entry) does not open.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class Unopenable(ValueError):
    """A stored value that is not an envelope this cache made under this name and key."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One cached answer as stored."""

    generation: int
    stored_at: float
    value: Any


class Sealer:
    """Turns envelopes into bytes for one name and back; ``secret`` None: plain JSON."""

    def __init__(self, secret: bytes | None) -> None:
        self._aead = AESGCM(secret) if secret is not None else None

    @property
    def sealed(self) -> bool:
        """Whether values are encrypted."""
        return self._aead is not None

    def seal(self, name: str, envelope: Envelope) -> bytes:
        """``envelope`` as the bytes to store at ``name``."""
        plain = orjson.dumps(
            {"g": envelope.generation, "t": envelope.stored_at, "v": envelope.value}
        )
        if self._aead is None:
            return plain
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, name.encode())

    def open(self, name: str, blob: Any) -> Envelope:
        """The envelope stored at ``name``; raises ``Unopenable`` (the reason's type only, no
        content) when it was not sealed for this name with this key, or is not an envelope."""
        try:
            data = bytes(blob)
            if self._aead is not None:
                data = self._aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], name.encode())
            loaded = orjson.loads(data)
        except (InvalidTag, ValueError, TypeError) as exc:
            raise Unopenable(type(exc).__name__) from None
        if not isinstance(loaded, dict):
            raise Unopenable("not an envelope")
        try:
            return Envelope(int(loaded["g"]), float(loaded["t"]), loaded["v"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Unopenable(type(exc).__name__) from None
