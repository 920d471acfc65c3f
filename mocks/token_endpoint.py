"""A local OAuth2 token endpoint and a guard that makes a mock registry require its tokens.

The endpoint (``TokenEndpoint.app``, ``POST /token``) speaks the client credentials grant as
HelseID does: the client authenticates with a ``private_key_jwt`` client assertion (RFC 7523;
signature against the configured public key, ``aud`` = the token URL, ``iss`` = ``sub`` = the
client id, ``exp``, a ``jti`` never seen before) or with ``client_secret_basic``. With a DPoP
proof (RFC 9449) the token is bound to the proof's key (``token_type: DPoP``, ``cnf.jkt``); it
can demand DPoP and a server nonce. Tokens are opaque or JWTs, with ``expires_in``.

``TokenEndpoint.guard()`` is an aiohttp middleware for a registry built by the mocks
(``guarded_registry``): every FHIR request must carry a live token it issued, DPoP-bound ones
with a valid proof (signature, ``htm``, ``htu``, ``iat``, ``jti``, ``ath``, the key the token is
bound to, the nonce when one is demanded). ``bearer_guard`` accepts one static token instead.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import jwt
import orjson
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from cryptography.hazmat.primitives.asymmetric import ec

from mocks.faults import FaultInjector
from mocks.population import Population
from mocks.server import create_app
from mocks.sources import ADMIN_PREFIX, Source

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PROOF_AGE_S = 60
_ALGORITHMS = ["RS256", "ES256"]


@dataclass
class Issued:
    """A token the endpoint issued."""

    client_id: str
    expires_at: float
    jkt: str | None


@dataclass
class TokenEndpoint:
    """One client's token endpoint; ``token_url`` must be set to where it is served."""

    client_id: str
    public_key: Any = None
    """The key the client assertion must verify with (PEM bytes or a key object)."""
    client_secret: str | None = None
    lifetime_s: int = 300
    token_format: Literal["opaque", "jwt"] = "opaque"
    require_dpop: bool = False
    require_nonce: bool = False
    """Demand a DPoP nonce: at the token endpoint (400 ``use_dpop_nonce``) and, through the
    guard, at the registry (401 ``WWW-Authenticate: DPoP error="use_dpop_nonce"``)."""
    token_url: str = ""
    token_requests: int = 0
    refused_requests: int = 0
    """Registry requests the guard refused."""
    forms: list[dict[str, str]] = field(default_factory=list)
    """The token requests' form fields (the client assertion left out)."""
    issued: dict[str, Issued] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    _jtis: set[str] = field(default_factory=set)
    _signing_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def app(self) -> web.Application:
        """An application serving ``POST /token``."""
        app = web.Application()
        app.router.add_post("/token", self._token)
        return app

    def revoke_all(self) -> None:
        """Forget every token issued: the registry refuses them from now on."""
        self.issued.clear()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.forms.append({k: v for k, v in form.items() if k != "client_assertion"})
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        if not self._client_authenticated(request, form):
            return _oauth_error(401, "invalid_client")
        jkt: str | None = None
        proof = request.headers.get("DPoP")
        if proof is not None:
            checked = self._check_proof(proof, "POST", self.token_url, None)
            if isinstance(checked, web.Response):
                return checked
            jkt = checked
        elif self.require_dpop:
            return _oauth_error(400, "invalid_dpop_proof")
        token = self._issue(jkt)
        body = {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": self.lifetime_s,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _client_authenticated(self, request: web.Request, form: Mapping[str, str]) -> bool:
        if self.client_secret is not None:
            return request.headers.get("Authorization") == _basic(
                self.client_id, self.client_secret
            )
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or not assertion:
            return False
        try:
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=_ALGORITHMS,
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError:
            return False
        if claims["sub"] != self.client_id or claims["jti"] in self._jtis:
            return False
        self._jtis.add(claims["jti"])
        return True

    def _check_proof(
        self, proof: str, method: str, url: str, token: str | None
    ) -> str | web.Response:
        """The thumbprint of the proof's key, or the answer refusing it."""
        at_token = token is None
        refusal = (
            _oauth_error(400, "invalid_dpop_proof")
            if at_token
            else _challenge('DPoP error="invalid_dpop_proof"')
        )
        try:
            header = jwt.get_unverified_header(proof)
            jwk = header.get("jwk")
            if header.get("typ") != "dpop+jwt" or not isinstance(jwk, dict) or "d" in jwk:
                return refusal
            key = jwt.PyJWK(jwk)
            claims = jwt.decode(
                proof,
                key.key,
                algorithms=_ALGORITHMS,
                options={"require": ["iat", "jti", "htm", "htu"], "verify_aud": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError):
            return refusal
        if claims["htm"] != method or claims["htu"] != url:
            return refusal
        if abs(time.time() - claims["iat"]) > _PROOF_AGE_S or claims["jti"] in self._jtis:
            return refusal
        if token is not None and claims.get("ath") != _sha256(token):
            return refusal
        self._jtis.add(claims["jti"])
        if self.require_nonce and claims.get("nonce") != self.nonce:
            headers = {"DPoP-Nonce": self.nonce}
            if at_token:
                return _oauth_error(400, "use_dpop_nonce", headers)
            return _challenge('DPoP error="use_dpop_nonce"', headers)
        return thumbprint(jwk)

    def _issue(self, jkt: str | None) -> str:
        expires_at = time.time() + self.lifetime_s
        if self.token_format == "jwt":
            claims: dict[str, Any] = {
                "iss": self.token_url,
                "client_id": self.client_id,
                "exp": int(expires_at),
                "jti": secrets.token_hex(8),
            }
            if jkt:
                claims["cnf"] = {"jkt": jkt}
            token = jwt.encode(claims, self._signing_key, algorithm="ES256")
        else:
            token = secrets.token_urlsafe(32)
        self.issued[token] = Issued(self.client_id, expires_at, jkt)
        return token

    def guard(self) -> Middleware:
        """Middleware refusing every FHIR request without a live token of this endpoint."""

        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path.startswith(ADMIN_PREFIX):
                return await handler(request)
            refusal = self._check_request(request)
            if refusal is not None:
                self.refused_requests += 1
                return refusal
            return await handler(request)

        return guard

    def _check_request(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued = self.issued.get(token)
        if issued is None or issued.expires_at <= time.time():
            return _challenge(f'{scheme or "Bearer"} error="invalid_token"')
        if issued.jkt is None:
            return None if scheme == "Bearer" else _challenge('Bearer error="invalid_token"')
        proof = request.headers.get("DPoP")
        if scheme != "DPoP" or proof is None:
            return _challenge('DPoP error="invalid_token"')
        url = str(request.url.with_query(None).with_fragment(None))
        checked = self._check_proof(proof, request.method, url, token)
        if isinstance(checked, web.Response):
            return checked
        return None if checked == issued.jkt else _challenge('DPoP error="invalid_token"')


def bearer_guard(token: str) -> Middleware:
    """Middleware refusing every FHIR request without ``Authorization: Bearer <token>``."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        if request.headers.get("Authorization") != f"Bearer {token}":
            return _challenge('Bearer error="invalid_token"')
        return await handler(request)

    return guard


def guarded_registry(
    source: Source,
    population: Population,
    guard: Middleware,
    injector: FaultInjector | None = None,
) -> web.Application:
    """The mock registry of ``source`` with ``guard`` in front of everything it serves."""
    app = create_app(source, population, injector)
    # Allowed until the app is frozen when its runner starts; outermost, so nothing is served
    # (nor counted) unauthenticated.
    app.middlewares.insert(0, guard)
    return app


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of a public EC or RSA JWK."""
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canonical = orjson.dumps({name: jwk[name] for name in members}, option=orjson.OPT_SORT_KEYS)
    return _b64url(hashlib.sha256(canonical).digest())


def _sha256(token: str) -> str:
    return _b64url(hashlib.sha256(token.encode("ascii")).digest())


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _basic(user: str, password: str) -> str:
    # RFC 6749 §2.3.1: each part form-urlencoded before they are joined.
    pair = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _oauth_error(status: int, error: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": error}, status=status, headers=headers)


def _challenge(value: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": "unauthorized"},
        status=401,
        headers={"WWW-Authenticate": value, **(headers or {})},
    )
