"""``summary-gateway verify-document FILE --jwks SOURCE``: check a saved, signed summary document.

Exit 0 and ``valid: signed by kid <kid> (<alg>) at <when>`` when the signature holds; exit 1 and
``INVALID: <reason>`` when it does not; exit 2 when the document or the key set cannot be read.
"""

from __future__ import annotations

import http.client
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from gateway.ips.signing import SignatureInvalid, verify_document

FETCH_TIMEOUT_S = 10.0
_MAX_JWKS_BYTES = 1024 * 1024


class _Unreadable(Exception):
    """The document or the key set could not be read (exit 2)."""


def run_verify_document(document: str, jwks_source: str) -> int:
    """Verify the document in file ``document`` with the JWKS in file or URL ``jwks_source``."""
    try:
        bundle = _json_object(Path(document).read_bytes(), document)
        jwks = _json_object(_read_jwks(jwks_source), jwks_source)
    except OSError as exc:
        print(
            f"summary-gateway: cannot read {exc.filename or document}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    except _Unreadable as exc:
        print(f"summary-gateway: {exc}", file=sys.stderr)
        return 2
    try:
        check = verify_document(bundle, jwks)
    except SignatureInvalid as exc:
        print(f"INVALID: {exc}")
        return 1
    print(f"valid: signed by kid {check.kid} ({check.alg}) at {check.when}")
    return 0


def _read_jwks(source: str) -> bytes:
    if not source.startswith(("http://", "https://")):
        return Path(source).read_bytes()
    try:
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_S) as response:
            body: bytes = response.read(_MAX_JWKS_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:  # URLError and timeouts are OSErrors
        raise _Unreadable(f"cannot fetch the key set from {source}: {exc}") from exc
    if len(body) > _MAX_JWKS_BYTES:
        raise _Unreadable(f"the key set at {source} is larger than {_MAX_JWKS_BYTES} bytes")
    return body


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _Unreadable(f"{name} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _Unreadable(f"{name} is not a JSON object")
    return value
