"""The demo's development issuer: tokens from the command line, and never beside a real issuer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.errors import ConfigurationError
from gateway.settings import AuthSettings, IssuerSettings, Settings
from mocks.fixtures import fixture
from tests.conftest import GatewayServer
from tests.process_support import run_cli

REAL_ISSUER = IssuerSettings(
    issuer="https://helseid-sts.nhn.no",
    jwks_url="https://helseid-sts.nhn.no/.well-known/openid-configuration/jwks",
    audience="nhn:summary-gateway",
)
REQUIRED_PERSONAS = {
    "home-care-nurse",
    "nursing-home-doctor",
    "emergency-doctor",
    "pharmacist",
    "patient",
    "privacy-officer",
}


def test_the_dev_issuer_is_refused_beside_a_real_issuer() -> None:
    with pytest.raises(ValueError, match="cannot be combined"):
        Settings(auth=AuthSettings(dev_issuer=True, issuers=(REAL_ISSUER,)))


def test_the_dev_issuer_is_refused_on_a_non_loopback_host() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Settings(host="0.0.0.0", auth=AuthSettings(dev_issuer=True))
    Settings(host="::1", auth=AuthSettings(dev_issuer=True))  # loopback is fine


def test_the_gateway_refuses_to_start_with_no_issuer_at_all() -> None:
    with pytest.raises(ConfigurationError, match="no token issuer"):
        create_app(
            Settings().with_source_urls({n: "http://x" for n, _ in Settings().sources.items()})
        )


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    ran = await run_cli(*args, env=env)
    return ran.returncode, ran.out, ran.err


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {**env, "GATEWAY_DATA_DIR": str(data_dir), **extra}


async def test_token_list_names_every_demo_persona(data_dir: Path) -> None:
    code, out, _ = await _cli("token", "--list", env=_env(data_dir))
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert listed >= REQUIRED_PERSONAS


async def test_a_printed_persona_token_works_alone_against_the_gateway(
    data_dir: Path, gateway: GatewayServer
) -> None:
    code, out, _ = await _cli("token", "--persona", "home-care-nurse", env=_env(data_dir))
    assert code == 0
    token = out.strip()
    body = await gateway.graphql(
        "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }",
        {"nin": fixture("home-care-elderly").nin},
        headers={"Authorization": f"Bearer {token}"},
        persona=None,
    )
    assert body.get("errors") is None
    assert body["data"]["patient"]["medications"]["status"] == "COMPLETE"


async def test_an_unknown_persona_is_an_error(data_dir: Path) -> None:
    code, _, err = await _cli("token", "--persona", "nobody", env=_env(data_dir))
    assert code == 1
    assert "no persona" in err


async def test_serve_refuses_the_dev_issuer_on_a_public_interface(data_dir: Path) -> None:
    code, _, err = await _cli(
        "serve", "--host", "0.0.0.0", env=_env(data_dir, GATEWAY_AUTH__DEV_ISSUER="true")
    )
    assert code == 1
    assert "loopback" in err


async def test_serve_refuses_to_start_without_an_issuer(data_dir: Path) -> None:
    code, _, err = await _cli("serve", env=_env(data_dir))
    assert code == 1
    assert "GATEWAY_AUTH__DEV_ISSUER=true" in err


def test_the_dev_issuer_is_refused_in_the_production_profile() -> None:
    with pytest.raises(ValueError, match="production profile"):
        Settings(profile="production", auth=AuthSettings(dev_issuer=True))


async def test_invalid_settings_are_named_without_echoing_their_values(data_dir: Path) -> None:
    secret = "not-base64-but-secret-" + "x" * 8
    code, out, err = await _cli(
        "serve",
        env=_env(
            data_dir,
            GATEWAY_CACHE__REDIS_URL="redis://127.0.0.1:6379/0",
            GATEWAY_CACHE__ENCRYPTION_KEY=secret,
        ),
    )
    assert code == 1
    assert "invalid setting cache.encryption_key" in err
    assert secret not in err + out
