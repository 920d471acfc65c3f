"""A token issuer of the benchmark's own: a real issuer configuration, not the dev issuer.

The gateway trusts it as it would HelseID (``GATEWAY_AUTH__ISSUERS``): it fetches the JWKS over
HTTP from a small server on loopback, and verifies every request's ES256 token against it. The
token is a doctor's (the ``home-care-gp`` persona's HelseID claims); the purpose and basis travel
in request headers, as an EHR sends them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from mocks.personas import token_persona

ISSUER = "https://bench-issuer.invalid"
AUDIENCE = "urn:summary-gateway:bench"
KID = "bench-key-1"
PERSONA = "home-care-gp"
ACCESS_HEADERS = {"X-Purpose-Of-Use": "TREAT", "nhn-access-basis": "CONSENT"}
"""A doctor treating the patient with consent: every section open, no privacy alert."""


class Issuer:
    """Signs the benchmark's tokens and serves the public key as a JWKS on ``127.0.0.1:0``."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        body = json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "ES256"}]})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(body.encode()))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Issuer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def jwks_url(self) -> str:
        """Where the gateway fetches the key set."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/jwks.json"

    def settings_json(self) -> str:
        """The value of ``GATEWAY_AUTH__ISSUERS`` that trusts this issuer."""
        return json.dumps(
            [
                {
                    "issuer": ISSUER,
                    "jwks_url": self.jwks_url,
                    "audience": AUDIENCE,
                    "algorithms": ["ES256"],
                }
            ]
        )

    def token(self, lifetime_s: int = 8 * 3600) -> str:
        """A doctor's token, valid for ``lifetime_s`` (longer than any run)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            **token_persona(PERSONA).claims,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "jti": uuid.uuid4().hex,
        }
        # The persona's default purpose claims are dropped: the headers state them per request.
        claims.pop("purpose_of_use", None)
        claims.pop("access_basis", None)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": KID})

    def headers(self) -> dict[str, str]:
        """Every header a summary request carries besides the content type."""
        return {"Authorization": f"Bearer {self.token()}", **ACCESS_HEADERS}


def _handler(body: bytes) -> type[BaseHTTPRequestHandler]:
    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the gateway fetches the keys once an hour at most."""

    return JwksHandler
