"""Bearer tokens: the attack set over HTTP, and an issuer's JWKS fetched, cached and rotated."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway.access.actor import ActorKind, PurposeOfUse
from gateway.access.dev_issuer import DEV_AUDIENCE, DEV_ISSUER
from gateway.access.tokens import Unauthenticated, build_authenticator, stated_access
from gateway.errors import BadUserInput
from gateway.settings import AuthSettings, IssuerSettings
from mocks.fixtures import fixture
from mocks.personas import token_persona
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import GatewayServer, dev_issuer, served, token_for

PATIENT = fixture("home-care-elderly").nin
QUERY = "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        **token_persona("home-care-gp").claims,
        **changes,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The algorithm-confusion attack: HMAC keyed with the issuer's public key."""
    jwk = dev_issuer().jwks().keys[0]
    pem = jwk.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk.key_id}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tampered() -> str:
    header, _payload, signature = token_for().split(".")
    forged = _b64(json.dumps(_claims(**{"helseid://claims/hpr/hpr_number": "9999999"})).encode())
    return f"{header}.{forged}.{signature}"


# attack → (Authorization header, or a maker of one; what the 401 must say)
ATTACKS: dict[str, tuple[Any, str]] = {
    "no token": (None, "bearer token is required"),
    "not bearer": ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
    "garbage": ("Bearer not.a.jwt", "not a well-formed JWT"),
    "alg none": (lambda: f"Bearer {_unsigned(_claims())}", "algorithm is not allowed"),
    "hs256 with the public key": (
        lambda: f"Bearer {_hs256_with_public_key(_claims())}",
        "algorithm is not allowed",
    ),
    "expired": (
        lambda: f"Bearer {dev_issuer().sign(_claims(exp=int(time.time()) - 120))}",
        "has expired",
    ),
    "not yet valid": (
        lambda: f"Bearer {dev_issuer().sign(_claims(nbf=int(time.time()) + 600))}",
        "not valid yet",
    ),
    "wrong audience": (
        lambda: f"Bearer {dev_issuer().sign(_claims(aud='someone-else'))}",
        "audience",
    ),
    "wrong issuer": (
        lambda: f"Bearer {dev_issuer().sign(_claims(iss='https://evil.example'))}",
        "issuer is not trusted",
    ),
    "unknown kid": (
        lambda: f"Bearer {dev_issuer().sign(_claims(), kid='rotated-away')}",
        "signing key is unknown",
    ),
    "tampered payload": (lambda: f"Bearer {_tampered()}", "signature or claims are invalid"),
    "no exp": (lambda: f"Bearer {dev_issuer().sign(_claims(exp=None))}", "claim exp"),
    "no sub": (lambda: f"Bearer {dev_issuer().sign(_claims(sub=None))}", "claim sub"),
    "no hpr and no pid": (
        lambda: "Bearer " + dev_issuer().sign(_claims(**{"helseid://claims/hpr/hpr_number": None})),
        "neither an HPR number nor a person identifier",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_every_bad_token_is_a_401_and_no_registry_is_asked(
    gateway: GatewayServer, registries: MockRegistries, attack: str
) -> None:
    made, reason = ATTACKS[attack]
    authorization = made() if callable(made) else made
    headers = {"Authorization": authorization} if authorization else {}
    async with gateway.anonymous.post(
        f"{gateway.url}/graphql",
        json={"query": QUERY, "variables": {"nin": PATIENT}},
        headers=headers,
    ) as response:
        body = await response.json()
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert reason in body["errors"][0]["message"]
    assert "data" not in body
    if authorization:
        assert authorization.split()[-1] not in json.dumps(body), "the token is not echoed"
    assert all(registries.stats(source).total == 0 for source in Source)


async def test_a_valid_token_passes_within_the_clock_leeway(gateway: GatewayServer) -> None:
    # Issued "in the future" by 10 s, as a skewed issuer clock would: within the 30 s leeway.
    token = dev_issuer().sign(_claims(nbf=int(time.time()) + 10, iat=int(time.time()) + 10))
    body = await gateway.graphql(
        QUERY, {"nin": PATIENT}, headers={"Authorization": f"Bearer {token}"}, persona=None
    )
    assert body["data"]["patient"]["medications"]["status"] == "COMPLETE"


async def test_graphiql_page_needs_no_token_but_a_query_does(gateway: GatewayServer) -> None:
    async with gateway.anonymous.get(
        f"{gateway.url}/graphql", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 200
        assert "graphiql" in (await response.text()).lower()
    async with gateway.anonymous.get(
        f"{gateway.url}/graphql",
        params={"query": "{ __typename }"},
        headers={"apollo-require-preflight": "true"},
    ) as response:
        assert response.status == 401


def test_header_purpose_overrides_the_tokens_default_and_bad_values_are_refused() -> None:
    claims = token_persona("home-care-nurse").claims
    assert stated_access(claims, {}).purpose is PurposeOfUse.TREAT
    stated = stated_access(
        claims,
        {"X-Purpose-Of-Use": "btg", "nhn-access-basis": "AKUTT", "X-BTG-Reason": "unconscious"},
    )
    assert stated.purpose is PurposeOfUse.BTG
    assert stated.basis is not None and stated.basis.value == "EMERGENCY"
    assert stated.btg_reason == "unconscious"
    for bad in [{"X-Purpose-Of-Use": "CURIOSITY"}, {"nhn-access-basis": "MAYBE"}]:
        with pytest.raises(BadUserInput):
            stated_access(claims, bad)


# An issuer of our own, publishing its JWKS over HTTP, to test fetching and key rotation.


@dataclass
class Issuer:
    url: str
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    fetches: int = 0

    def rotate(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published.append(kid)

    def token(self, kid: str, **changes: Any) -> str:
        claims = _claims(**{"iss": self.url, "aud": "summary-gateway", **changes})
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in self.published:
            jwk = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    state = Issuer(url="")

    async def jwks(_request: web.Request) -> web.Response:
        state.fetches += 1
        return web.json_response(state.jwks())

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    async with served(app) as url:
        state.url = url
        state.rotate("k1")
        yield state


def _settings(issuer: Issuer, **options: Any) -> AuthSettings:
    return AuthSettings(
        issuers=(
            IssuerSettings(
                issuer=issuer.url, jwks_url=f"{issuer.url}/jwks", audience="summary-gateway"
            ),
        ),
        **options,
    )


async def test_keys_are_fetched_once_and_cached(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer), session)
        for _ in range(5):
            actor, _ = await authenticator.authenticate(f"Bearer {issuer.token('k1')}")
            assert actor.kind is ActorKind.HEALTH_PERSONNEL
            assert (
                actor.hpr_number
                == token_persona("home-care-gp").claims["helseid://claims/hpr/hpr_number"]
            )
    assert issuer.fetches == 1


async def test_a_rotated_key_is_fetched_once_on_its_first_unknown_kid(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer, jwks_refetch_min_s=0), session)
        await authenticator.authenticate(f"Bearer {issuer.token('k1')}")
        issuer.rotate("k2")
        actor, _ = await authenticator.authenticate(f"Bearer {issuer.token('k2')}")
        assert actor.name == "Ingrid Bakken"
        assert issuer.fetches == 2
        await authenticator.authenticate(f"Bearer {issuer.token('k2')}")
        assert issuer.fetches == 2, "the new key is cached"


async def test_junk_kids_cannot_make_the_gateway_hammer_the_issuer(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer, jwks_refetch_min_s=60), session)
        await authenticator.authenticate(f"Bearer {issuer.token('k1')}")
        issuer.rotate("junk")
        for _ in range(10):
            junk = jwt.encode(
                _claims(iss=issuer.url, aud="summary-gateway"),
                issuer.keys["junk"],
                algorithm="RS256",
                headers={"kid": "junk-" + str(_)},
            )
            with pytest.raises(Unauthenticated, match="signing key is unknown"):
                await authenticator.authenticate(f"Bearer {junk}")
        assert issuer.fetches == 1, "no refetch within jwks_refetch_min_s"


async def test_a_token_for_another_issuer_or_audience_is_refused(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer), session)
        with pytest.raises(Unauthenticated, match="audience"):
            await authenticator.authenticate(f"Bearer {issuer.token('k1', aud='other-api')}")
        with pytest.raises(Unauthenticated, match="issuer is not trusted"):
            await authenticator.authenticate(
                f"Bearer {issuer.token('k1', iss='https://other.example')}"
            )


def test_settings_refuse_symmetric_algorithms_and_none() -> None:
    for algorithms in [("HS256",), ("none",), ()]:
        with pytest.raises(ValueError, match="asymmetric"):
            IssuerSettings(
                issuer="https://i", jwks_url="https://i/jwks", audience="a", algorithms=algorithms
            )


# A token's signature is checked once and the result reused (gateway/access/tokens.py); these
# hold that the reuse never outlives what made the token valid.


async def test_a_token_accepted_before_is_refused_once_it_expires(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer, leeway_s=0), session)
        token = issuer.token("k1", exp=int(time.time()) + 2)
        await authenticator.authenticate(f"Bearer {token}")
        await authenticator.authenticate(f"Bearer {token}")
        await asyncio.sleep(
            max(0.0, jwt.decode(token, options={"verify_signature": False})["exp"] - time.time())
            + 0.1
        )
        with pytest.raises(Unauthenticated, match="expired"):
            await authenticator.authenticate(f"Bearer {token}")


async def test_a_token_accepted_before_is_refused_once_its_key_is_withdrawn(
    issuer: Issuer,
) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer, jwks_cache_s=1), session)
        token = issuer.token("k1")
        await authenticator.authenticate(f"Bearer {token}")
        issuer.rotate("k2")
        issuer.published.remove("k1")  # the issuer withdraws k1 (compromised, say)
        await asyncio.sleep(1.1)  # past jwks_cache_s: the next use refetches the set
        with pytest.raises(Unauthenticated, match="signing key is unknown"):
            await authenticator.authenticate(f"Bearer {token}")
        assert issuer.fetches == 2
        await authenticator.authenticate(f"Bearer {issuer.token('k2')}")


async def test_a_forgery_of_an_accepted_token_is_still_refused(issuer: Issuer) -> None:
    async with aiohttp.ClientSession() as session:
        authenticator = build_authenticator(_settings(issuer), session)
        token = issuer.token("k1")
        await authenticator.authenticate(f"Bearer {token}")
        header, payload, signature = token.split(".")
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = _b64(json.dumps({**claims, "helseid://claims/hpr/hpr_number": "9999999"}).encode())
        # Change the first character: the last one's low bits must stay zero (base64url), and
        # "…AA" turned "…BB" was refused as not well-formed instead (about 1 run in 256).
        flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
        for bad in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}"):
            with pytest.raises(Unauthenticated, match="signature or claims are invalid"):
                await authenticator.authenticate(f"Bearer {bad}")
        actor, _ = await authenticator.authenticate(f"Bearer {token}")
        assert actor.hpr_number == claims["helseid://claims/hpr/hpr_number"]


async def test_an_oversized_signed_token_is_refused_before_its_signature_is_checked(
    gateway: GatewayServer,
) -> None:
    # Signed by the trusted issuer, every claim valid, but 2 MB of padding in it.
    token = token_for(padding="x" * 2_000_000)
    body = await gateway.graphql(
        "{ __typename }", headers={"Authorization": f"Bearer {token}"}, persona=None
    )
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "too large" in body["errors"][0]["message"]
