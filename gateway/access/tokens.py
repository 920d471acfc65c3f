"""Bearer-token authentication: HelseID-style JWTs checked against trusted issuers' keys.

PyJWT does the JOSE work (signature, ``exp``/``nbf``/``iss``/``aud``, leeway); this module decides
which key may verify a token and turns the claims into an ``Actor``. The rules:

- the algorithm must be on the issuer's asymmetric allow-list (``none`` and HS* never are), so a
  token signed with HS256 over a public key is refused before any key is looked at;
- the key is found by ``kid`` in the issuer's JWKS, fetched with the shared HTTP session, kept for
  ``jwks_cache_s`` and refetched at most once per ``jwks_refetch_min_s`` when a ``kid`` is unknown
  (key rotation, without letting junk tokens hammer the issuer);
- a token longer than ``auth.max_token_bytes`` is refused before it is decoded;
- every failure is an ``Unauthenticated`` whose message names the rule, never the token's content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
from jwt import PyJWK, PyJWKSet

from gateway.access.actor import (
    ACCESS_BASIS_ALIASES,
    AccessBasis,
    Actor,
    ActorKind,
    PurposeOfUse,
    StatedAccess,
)
from gateway.errors import BadUserInput, GatewayError
from gateway.settings import AuthSettings, IssuerSettings

# HelseID claim names (see DOMAIN.md §2).
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
HPR_DETAILS = "helseid://claims/hpr/hpr_details"
PID = "helseid://claims/identity/pid"
ORG_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORG_CHILD = "helseid://claims/client/claims/orgnr_child"
# Not a HelseID claim: an optional display name for the organisation, shown in access logs.
ORG_NAME = "organisation_name"
# The audit scope marks a privacy officer's client (it reads access logs, never summaries).
PRIVACY_OFFICER_SCOPE = "summary-gateway/access-log"
# Purpose and basis claims: the defaults a token carries (request headers may state their own).
PURPOSE_CLAIM = "purpose_of_use"
BASIS_CLAIM = "access_basis"
BTG_REASON_CLAIM = "btg_reason"

PURPOSE_HEADER = "X-Purpose-Of-Use"
BASIS_HEADER = "nhn-access-basis"
BTG_REASON_HEADER = "X-BTG-Reason"
MAX_BTG_REASON = 500
ACCESS_HEADERS = (PURPOSE_HEADER, BASIS_HEADER, BTG_REASON_HEADER)


class Unauthenticated(GatewayError):
    """No valid token: the request is answered 401 and nothing else happens."""

    code = "UNAUTHENTICATED"


class StaticKeys:
    """A key set known in advance (the development issuer's public key)."""

    def __init__(self, keys: PyJWKSet) -> None:
        self._keys = {key.key_id: key for key in keys.keys if key.key_id}

    async def key(self, kid: str) -> PyJWK | None:
        """The key with ``kid``, if the set has it."""
        return self._keys.get(kid)


class RemoteKeys:
    """An issuer's JWKS, fetched over HTTP, cached, and refetched once for an unknown ``kid``."""

    def __init__(self, url: str, session: aiohttp.ClientSession, settings: AuthSettings) -> None:
        self._url = url
        self._session = session
        self._settings = settings
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The key with ``kid``: from the cache, or after a (rate-limited) refetch."""
        now = time.monotonic()
        expired = self._fetched_at is None or now - self._fetched_at > self._settings.jwks_cache_s
        if not expired and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            # Another request may have refreshed the set while we waited: judge it afresh.
            age = None if self._fetched_at is None else time.monotonic() - self._fetched_at
            expired = age is None or age > self._settings.jwks_cache_s
            if kid in self._keys and not expired:
                return self._keys[kid]
            recently = age is not None and age < self._settings.jwks_refetch_min_s
            if expired or not recently:
                await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._settings.jwks_timeout_s)
        try:
            async with self._session.get(self._url, timeout=timeout) as response:
                if response.status != 200:
                    raise Unauthenticated("the token issuer's keys could not be fetched")
                document = await response.json(content_type=None)
            keys = PyJWKSet.from_dict(document)
        except (aiohttp.ClientError, TimeoutError, ValueError, jwt.PyJWKSetError) as exc:
            # Keep what we had: a flaky issuer must not lock out holders of still-valid keys.
            if not self._keys:
                raise Unauthenticated("the token issuer's keys could not be fetched") from exc
            self._fetched_at = time.monotonic()
            return
        self._keys = {key.key_id: key for key in keys.keys if key.key_id}
        self._fetched_at = time.monotonic()


class TrustedIssuer:
    """One issuer: its settings and where its keys come from."""

    def __init__(self, settings: IssuerSettings, keys: StaticKeys | RemoteKeys) -> None:
        self.settings = settings
        self.keys = keys


class Authenticator:
    """Validates bearer tokens and turns their claims into an ``Actor`` and stated access."""

    def __init__(
        self, issuers: list[TrustedIssuer], leeway_s: int, max_token_bytes: int = 16 * 1024
    ) -> None:
        self._issuers = {issuer.settings.issuer: issuer for issuer in issuers}
        self._leeway = leeway_s
        self._max_token_bytes = max_token_bytes
        self._verified: dict[str, _Verified] = {}

    async def authenticate(self, authorization: str | None) -> tuple[Actor, Mapping[str, Any]]:
        """The actor of a ``Bearer`` token, and its claims; raises ``Unauthenticated``.

        An EHR sends the same token with every request of a user's session. Its signature is
        checked once: a token seen before is accepted again without a signature check (a fifth of
        a warm summary's CPU) while it is within its validity period and its issuer still
        publishes the very key it was checked with. Any change sends it through the full check.
        """
        token = _bearer(authorization)
        if len(token) > self._max_token_bytes:
            # Before any decoding: base64, JSON and a signature over megabytes cost CPU and memory.
            raise Unauthenticated("the bearer token is too large")
        seen = self._verified.get(token)
        if seen is not None:
            now = time.time()
            issuer = self._issuers.get(seen.issuer)
            if (
                issuer is not None
                and seen.not_before - self._leeway <= now < seen.expires + self._leeway
                and await issuer.keys.key(seen.kid) is seen.key
            ):
                return seen.actor, seen.claims
            self._verified.pop(token, None)
        actor, claims, kid, key = await self._verify(token)
        self._remember(token, _Verified(actor, claims, kid, key))
        return actor, claims

    def _remember(self, token: str, verified: _Verified) -> None:
        while len(self._verified) >= _VERIFIED_TOKENS_KEPT:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = verified

    async def _verify(self, token: str) -> tuple[Actor, dict[str, Any], str, PyJWK]:
        """The full check of a token: issuer, algorithm, key, signature and claims."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the bearer token is not a well-formed JWT") from exc
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise Unauthenticated("the token's issuer is not trusted")
        algorithm = header.get("alg")
        if algorithm not in issuer.settings.algorithms:
            raise Unauthenticated("the token's signing algorithm is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("the token names no signing key (kid)")
        key = await issuer.keys.key(kid)
        if key is None:
            raise Unauthenticated("the token's signing key is unknown to its issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=issuer.settings.audience,
                issuer=issuer.settings.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthenticated("the token is not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("the token is not meant for this gateway (audience)") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"the token lacks the required claim {exc.claim}") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token's signature or claims are invalid") from exc
        return actor_of(claims, issuer.settings.issuer), claims, kid, key


_VERIFIED_TOKENS_KEPT = 4096
"""Tokens whose signature was checked, kept for reuse: about one per active user session."""


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that passed the full check, and what it was checked with."""

    actor: Actor
    claims: dict[str, Any]
    kid: str
    key: PyJWK

    @property
    def issuer(self) -> str:
        return str(self.claims["iss"])

    @property
    def expires(self) -> float:
        return float(self.claims["exp"])

    @property
    def not_before(self) -> float:
        return float(self.claims.get("nbf", self.claims["iat"]))


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def _authorizations(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """Volven 9060 codes from HelseID's ``hpr_details`` (``approvals[].profession``)."""
    details = claims.get(HPR_DETAILS)
    approvals = details.get("approvals") if isinstance(details, Mapping) else None
    codes: list[str] = [
        str(approval["profession"])
        for approval in approvals or ()
        if isinstance(approval, Mapping) and isinstance(approval.get("profession"), str)
    ]
    return tuple(dict.fromkeys(codes))


def actor_of(claims: Mapping[str, Any], issuer: str) -> Actor:
    """The actor a token's claims describe; raises ``Unauthenticated`` when they describe none."""
    hpr = _text(claims, HPR_NUMBER)
    pid = _text(claims, PID)
    scope = claims.get("scope")
    scopes = set(scope.split()) if isinstance(scope, str) else set(scope or ())
    if PRIVACY_OFFICER_SCOPE in scopes:
        kind = ActorKind.PRIVACY_OFFICER
    elif hpr is not None:
        kind = ActorKind.HEALTH_PERSONNEL
    elif pid is not None:
        kind = ActorKind.PATIENT
    else:
        raise Unauthenticated("the token carries neither an HPR number nor a person identifier")
    if kind is not ActorKind.HEALTH_PERSONNEL and pid is None:
        raise Unauthenticated("the token lacks the person identifier (pid) claim")
    given, family = _text(claims, "given_name"), _text(claims, "family_name")
    name = " ".join(part for part in (given, family) if part) or _text(claims, "name")
    return Actor(
        kind=kind,
        subject=str(claims["sub"]),
        name=name,
        hpr_number=hpr,
        pid=pid,
        authorizations=_authorizations(claims),
        legal_entity=_text(claims, ORG_PARENT),
        point_of_care=_text(claims, ORG_CHILD),
        organisation_name=_text(claims, ORG_NAME),
        client_name=_text(claims, "client_name"),
        issuer=issuer,
    )


def stated_access(claims: Mapping[str, Any], headers: Mapping[str, str]) -> StatedAccess:
    """Purpose, basis and BTG reason: a request header wins over the token's default claim.

    An EHR gets one token per user session and states each request's purpose in headers (a
    break-the-glass needs no new login); a token that carries them works alone (GraphiQL, curl).
    """
    purpose = headers.get(PURPOSE_HEADER) or _text(claims, PURPOSE_CLAIM)
    basis = headers.get(BASIS_HEADER) or _text(claims, BASIS_CLAIM)
    reason = headers.get(BTG_REASON_HEADER) or _text(claims, BTG_REASON_CLAIM)
    try:
        parsed_purpose = PurposeOfUse(purpose.strip().upper()) if purpose else None
    except ValueError as exc:
        raise BadUserInput(
            f"{PURPOSE_HEADER} must be one of {', '.join(p.value for p in PurposeOfUse)}"
        ) from exc
    parsed_basis: AccessBasis | None = None
    if basis:
        parsed_basis = ACCESS_BASIS_ALIASES.get(basis.strip().upper())
        if parsed_basis is None:
            raise BadUserInput(
                f"{BASIS_HEADER} must be one of CONSENT, EMERGENCY, EXCEPTION "
                "(or SAMTYKKE, AKUTT, UNNTAK)"
            )
    reason = reason.strip() if reason else None
    if reason and len(reason) > MAX_BTG_REASON:
        raise BadUserInput(f"{BTG_REASON_HEADER} is limited to {MAX_BTG_REASON} characters")
    return StatedAccess(parsed_purpose, parsed_basis, reason or None)


def build_authenticator(
    settings: AuthSettings,
    session: aiohttp.ClientSession,
    dev_keys: PyJWKSet | None = None,
    dev_issuer: IssuerSettings | None = None,
) -> Authenticator:
    """The authenticator for the configured issuers (or the development issuer alone)."""
    issuers = [
        TrustedIssuer(issuer, RemoteKeys(issuer.jwks_url, session, settings))
        for issuer in settings.issuers
    ]
    if settings.dev_issuer:
        assert dev_keys is not None and dev_issuer is not None
        issuers = [TrustedIssuer(dev_issuer, StaticKeys(dev_keys))]
    return Authenticator(issuers, settings.leeway_s, settings.max_token_bytes)
