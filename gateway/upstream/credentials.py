"""How the gateway proves who it is to one registry: nothing, a static bearer token, or OAuth2
client credentials (HelseID: a ``private_key_jwt`` client assertion, RFC 7523, optionally with
DPoP, RFC 9449); and the TLS context (client certificate, CA bundle) of its connections.

``gateway/upstream/fhir.py`` and ``gateway/upstream/fhir_write.py`` ask ``authorize`` for the
headers of each request and tell ``answered`` what came back: a 401 is worth one more try when the
credential could be renewed (the token is forgotten, a token file re-read, a DPoP nonce learnt); a
second 401 is SOURCE_AUTH_FAILED.

Tokens are cached until shortly before they expire and renewed by one flight per source, which
runs outside any request's deadline (each waiting request still ends at its own). No secret,
token or token endpoint answer ever goes into a message, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import ssl
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from gateway.errors import ConfigurationError, SourceAuthFailed, SourceTimeout
from gateway.settings import SourceSettings, UpstreamAuthSettings, UpstreamTlsSettings
from gateway.upstream.deadline import remaining, request_deadline
from gateway.upstream.http_errors import Answer, Peer, decode_json, exchange

log = logging.getLogger("gateway.credentials")

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_LIFETIME_S = 60
# Without ``expires_in`` (only RECOMMENDED by RFC 6749) a token is used this long.
_DEFAULT_EXPIRES_IN_S = 60
# An OAuth error code as RFC 6749 §5.2 allows it; anything else the endpoint sent is not logged.
_OAUTH_ERROR = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class Authorization:
    """The headers of one request, and the token they carry (to forget it after a 401)."""

    headers: Mapping[str, str] = field(repr=False)
    token: object | None = field(default=None, repr=False)


NO_AUTHORIZATION = Authorization({})


class Credentials:
    """No credentials: plain requests (over TLS with ``ssl`` when it is set)."""

    def __init__(self, source: str, tls: ssl.SSLContext | None = None) -> None:
        self.source = source
        self.ssl: ssl.SSLContext | bool = tls if tls is not None else True
        """What aiohttp's ``ssl=`` gets: the source's context, or default verification."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r})"

    async def authorize(self, method: str, url: str) -> Authorization:
        """The headers that authenticate ``method url``."""
        return NO_AUTHORIZATION

    def answered(
        self, sent: Authorization, url: str, status: int, headers: Mapping[str, str]
    ) -> bool:
        """Learn from the registry's answer to a request sent with ``sent``; True when it is
        a 401 that one more try, with what was learnt, may get past."""
        return False

    async def send(
        self,
        session: aiohttp.ClientSession,
        peer: Peer,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        timeouts: aiohttp.ClientTimeout,
        params: Sequence[tuple[str, str]] | None = None,
        data: bytes | None = None,
    ) -> Answer:
        """``method url`` authorised by these credentials, through the one error boundary. A
        401 they learn from (a renewed token, a DPoP nonce) is tried once more: a 401 means the
        registry did nothing, so even a write is safe to send again. A refusal that stands is
        ``SOURCE_AUTH_FAILED``."""
        for attempt in range(2):
            # Asked for each try: a 401 may have made the credentials renew their token.
            sent = await self.authorize(method, url)
            answer = await exchange(
                session,
                peer,
                method,
                url,
                params=params,
                data=data,
                headers={**headers, **sent.headers} if sent.headers else headers,
                timeouts=timeouts,
                ssl=self.ssl,
            )
            retry = self.answered(sent, url, answer.status, answer.headers)
            if answer.status != 401:
                return answer
            if attempt == 1 or not retry:
                break
        log.warning("%s: the registry refused the gateway's credentials", self.source)
        raise peer.failed(SourceAuthFailed, "refused the gateway's credentials (HTTP 401)")


class StaticBearer(Credentials):
    """A long-lived token from a file (re-read after a 401: it may have been rotated) or from
    an environment variable."""

    def __init__(
        self,
        source: str,
        token_file: Path | None,
        token_env: str | None,
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(source, tls)
        self._file = token_file
        self._env = token_env
        self._token = self._read()

    def _read(self) -> SecretStr:
        if self._file is not None:
            value = _read_secret(self.source, "auth.token_file", self._file)
        else:
            assert self._env is not None  # the settings require one of the two
            value = os.environ.get(self._env, "").strip()
            if not value:
                raise ConfigurationError(
                    f"source {self.source}: auth.token_env names an unset or empty variable"
                )
        return SecretStr(value)

    async def authorize(self, method: str, url: str) -> Authorization:
        token = self._token
        return Authorization({"Authorization": f"Bearer {token.get_secret_value()}"}, token)

    def answered(
        self, sent: Authorization, url: str, status: int, headers: Mapping[str, str]
    ) -> bool:
        if status != 401 or self._file is None:
            return False
        try:
            fresh = self._read()
        except ConfigurationError:
            log.warning("%s: the bearer token file cannot be read again", self.source)
            return False
        self._token = fresh
        # Compared with what was sent: another request may have read the new token already.
        return not isinstance(sent.token, SecretStr) or (
            fresh.get_secret_value() != sent.token.get_secret_value()
        )


@dataclass(frozen=True, slots=True, repr=False)
class _Token:
    value: str
    dpop: bool
    renew_at: float


class ClientCredentials(Credentials):
    """OAuth2 client credentials: a token per source, cached until shortly before it expires,
    renewed by one flight at a time."""

    def __init__(
        self,
        source: str,
        settings: UpstreamAuthSettings,
        session: aiohttp.ClientSession,
        tls: ssl.SSLContext | None,
    ) -> None:
        super().__init__(source, tls)
        assert settings.token_url is not None and settings.client_id is not None
        self._settings = settings
        self._token_url = settings.token_url
        self._client_id = settings.client_id
        self._session = session
        self._signing_key: Any = None
        self._algorithm = ""
        self._secret: SecretStr | None = None
        if settings.private_key_file is not None:
            self._signing_key, self._algorithm = _signing_key(source, settings.private_key_file)
        if settings.client_secret_file is not None:
            self._secret = SecretStr(
                _read_secret(source, "auth.client_secret_file", settings.client_secret_file)
            )
        # One DPoP key per source and process: tokens are bound to it, and die with it.
        self._dpop_key = ec.generate_private_key(ec.SECP256R1()) if settings.dpop else None
        self._dpop_jwk = _public_jwk(self._dpop_key) if self._dpop_key is not None else {}
        self._token: _Token | None = None
        self._flight: asyncio.Task[_Token] | None = None
        self._token_nonce: str | None = None
        self._nonces: dict[str, str] = {}

    async def authorize(self, method: str, url: str) -> Authorization:
        token = await self._current()
        if not token.dpop:
            return Authorization({"Authorization": f"Bearer {token.value}"}, token)
        proof = self._proof(method, url, self._nonces.get(_origin(url)), token.value)
        return Authorization({"Authorization": f"DPoP {token.value}", "DPoP": proof}, token)

    def answered(
        self, sent: Authorization, url: str, status: int, headers: Mapping[str, str]
    ) -> bool:
        nonce = headers.get("DPoP-Nonce")
        if self._dpop_key is not None and nonce:
            # A registry may rotate its nonce on any answer (RFC 9449 §9).
            self._nonces[_origin(url)] = nonce
            if status == 401 and "use_dpop_nonce" in headers.get("WWW-Authenticate", ""):
                return True
        if status != 401:
            return False
        if self._token is sent.token:
            # Refused: renewed on the next try (unless another request already renewed it).
            self._token = None
        return True

    async def _current(self) -> _Token:
        token = self._token
        if token is not None and time.monotonic() < token.renew_at:
            return token
        flight = self._flight
        if flight is None or flight.done():
            flight = asyncio.ensure_future(self._renew())
            flight.add_done_callback(_retrieved)
            self._flight = flight
        left = remaining()
        if left is None:
            return await asyncio.shield(flight)
        try:
            return await asyncio.wait_for(asyncio.shield(flight), max(left, 0.0))
        except TimeoutError as exc:
            raise SourceTimeout(
                self.source, f"{_label(self.source)}: no token came in time"
            ) from exc

    async def _renew(self) -> _Token:
        # The flight serves every request waiting, so no one request's deadline bounds it.
        request_deadline.set(None)
        for attempt in range(2):
            status, headers, body = await self._post_token_request()
            nonce = headers.get("DPoP-Nonce")
            if self._dpop_key is not None and nonce:
                self._token_nonce = nonce
            if status == 200:
                token = self._token_from(body)
                self._token = token
                return token
            error = _oauth_error(body)
            if attempt == 0 and status == 400 and error == "use_dpop_nonce" and nonce:
                continue
            log.warning(
                "%s: the token endpoint refused the client (HTTP %d, %s)",
                self.source,
                status,
                error or "no OAuth error code",
            )
            raise SourceAuthFailed(
                self.source, f"{_label(self.source)}: its token endpoint refused the gateway"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _post_token_request(self) -> tuple[int, Mapping[str, str], bytes]:
        form = {"grant_type": "client_credentials"}
        if self._settings.scope:
            form["scope"] = self._settings.scope
        if self._settings.audience:
            form["resource"] = self._settings.audience
        headers = {"Accept": "application/json"}
        if self._signing_key is not None:
            form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
            form["client_assertion"] = self._assertion()
        if self._secret is not None:
            # RFC 6749 §2.3.1: both parts form-urlencoded before they are joined.
            pair = f"{quote(self._client_id, safe='')}:"
            pair += quote(self._secret.get_secret_value(), safe="")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        if self._dpop_key is not None:
            headers["DPoP"] = self._proof("POST", self._token_url, self._token_nonce, None)
        timeout = aiohttp.ClientTimeout(total=self._settings.token_timeout_s)
        try:
            answer = await exchange(
                self._session,
                Peer(self.source, token_endpoint=True),
                "POST",
                self._token_url,
                data=form,
                headers=headers,
                timeouts=timeout,
                ssl=self.ssl,
            )
        except SourceAuthFailed as failed:
            # Logged here (what failed, never what was sent): the boundary only names it.
            log.warning("%s: the token endpoint failed: %s", self.source, failed.message)
            raise
        return answer.status, answer.headers, answer.body

    def _token_from(self, body: bytes) -> _Token:
        refused = SourceAuthFailed(
            self.source, f"{_label(self.source)}: its token endpoint sent an unusable token"
        )
        answer = decode_json(Peer(self.source, token_endpoint=True), body)
        if not isinstance(answer, dict):
            raise refused
        value = answer.get("access_token")
        kind = str(answer.get("token_type", "")).lower()
        expires_in = answer.get("expires_in", _DEFAULT_EXPIRES_IN_S)
        wanted = "dpop" if self._dpop_key is not None else "bearer"
        if (
            not isinstance(value, str)
            or not value
            or kind != wanted
            or not isinstance(expires_in, int | float)
            or expires_in <= 0
        ):
            # A Bearer token where DPoP was asked would be usable by anyone who saw it.
            log.warning("%s: the token endpoint sent an unusable token answer", self.source)
            raise refused
        margin = min(self._settings.refresh_before_s, expires_in / 2)
        log.info("%s: a token was issued, valid for %d s", self.source, int(expires_in))
        return _Token(value, kind == "dpop", time.monotonic() + expires_in - margin)

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "iat": now,
            "nbf": now,
            "exp": now + _ASSERTION_LIFETIME_S,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": self._settings.key_id} if self._settings.key_id else None
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm, headers=headers)

    def _proof(self, method: str, url: str, nonce: str | None, token: str | None) -> str:
        assert self._dpop_key is not None  # only called with dpop on
        claims: dict[str, Any] = {
            "htm": method,
            "htu": dpop_htu(url),
            "iat": int(time.time()),
            "jti": uuid.uuid4().hex,
        }
        if token is not None:
            claims["ath"] = access_token_hash(token)
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(
            claims,
            self._dpop_key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": self._dpop_jwk},
        )


def build_credentials(
    source: str, settings: SourceSettings, session: aiohttp.ClientSession
) -> Credentials:
    """The credentials ``settings`` describe; ConfigurationError when a file is missing or
    unusable (the message names the setting, never what the file holds)."""
    tls = tls_context(source, settings.tls)
    auth = settings.auth
    if auth.kind == "bearer":
        return StaticBearer(source, auth.token_file, auth.token_env, tls)
    if auth.kind == "client_credentials":
        return ClientCredentials(source, auth, session, tls)
    return Credentials(source, tls)


def tls_context(source: str, settings: UpstreamTlsSettings) -> ssl.SSLContext | None:
    """A verifying client context with the source's CA bundle and client certificate, or None
    when neither is set (aiohttp's default verification)."""
    if not settings.configured:
        return None
    try:
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file is not None else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"source {source}: tls.ca_file cannot be used") from exc
    if settings.client_cert_file is not None and settings.client_key_file is not None:
        try:
            context.load_cert_chain(settings.client_cert_file, settings.client_key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"source {source}: tls.client_cert_file and tls.client_key_file cannot be used"
            ) from exc
    return context


def dpop_htu(url: str) -> str:
    """A request URL as DPoP's ``htu`` names it: without query and fragment (RFC 9449 §4.2)."""
    return urlsplit(url)._replace(query="", fragment="").geturl()


def access_token_hash(token: str) -> str:
    """DPoP's ``ath``: base64url of the SHA-256 of the access token, unpadded."""
    return _b64url(hashlib.sha256(token.encode("ascii")).digest())


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of a public EC or RSA JWK (DPoP's ``cnf.jkt``)."""
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canonical = orjson.dumps({name: jwk[name] for name in members}, option=orjson.OPT_SORT_KEYS)
    return _b64url(hashlib.sha256(canonical).digest())


def _public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def _signing_key(source: str, path: Path) -> tuple[Any, str]:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"source {source}: auth.private_key_file is not a readable unencrypted PEM key"
        ) from exc
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key, "ES256"
    raise ConfigurationError(
        f"source {source}: auth.private_key_file must be an RSA or a P-256 EC key"
    )


def _read_secret(source: str, setting: str, path: Path) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"source {source}: {setting} cannot be read") from exc
    if not value:
        raise ConfigurationError(f"source {source}: {setting} is empty")
    return value


def _oauth_error(body: bytes) -> str | None:
    # Only for the log line of a refusal already decided by its status: a body that is not
    # JSON just has no code to log, so this is not a failure for the boundary to name.
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    error = answer.get("error") if isinstance(answer, dict) else None
    return error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _label(source: str) -> str:
    return f"the {source.replace('_', ' ')} registry"


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _retrieved(future: asyncio.Future[Any]) -> None:
    """A renewal may fail with no one left waiting; its error is then not news."""
    if not future.cancelled():
        future.exception()
