"""The gateway against a prescriptions registry served over TLS that requires a client
certificate (mTLS), with a CA, server and client certificates generated for the test."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mocks.faults import FaultInjector
from mocks.fixtures import FIXTURES
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.server import create_app
from mocks.sources import Source
from mocks.token_endpoint import bearer_guard, guarded_registry
from tests.conftest import serve
from tests.e2e.upstream_auth import MEDICATIONS, codes, medications, prescriptions_at, write_key

NIN = FIXTURES[0].nin


@dataclass(frozen=True)
class Pki:
    """PEM files: a CA, a server certificate for 127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed neither."""


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def _leaf(
    directory: Path,
    name: str,
    issuer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    usage: x509.ObjectIdentifier,
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer[1].subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer[0], hashes.SHA256())
    cert_file = directory / f"{name}.crt"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, write_key(key, directory / f"{name}.key")


def make_pki(directory: Path) -> Pki:
    """A fresh PKI in ``directory``."""
    ca = _ca(directory, "test-ca")
    _ca(directory, "other-ca")
    server_cert, server_key = _leaf(directory, "registry", ca, ExtendedKeyUsageOID.SERVER_AUTH)
    client_cert, client_key = _leaf(directory, "gateway", ca, ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(
        directory / "test-ca.pem",
        server_cert,
        server_key,
        client_cert,
        client_key,
        directory / "other-ca.pem",
    )


@contextlib.asynccontextmanager
async def served_mtls(app: web.Application, pki: Pki) -> AsyncIterator[str]:
    """``app`` over TLS on a loopback port, requiring a client certificate from the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.verify_mode = ssl.CERT_REQUIRED
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_client_certificate_opens_the_registry(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    injector = FaultInjector()
    async with served_mtls(create_app(Source.PRESCRIPTIONS, population, injector), pki) as url:
        tls = {
            "client_cert_file": pki.client_cert,
            "client_key_file": pki.client_key,
            "ca_file": pki.ca,
        }
        async with serve(prescriptions_at(registries, url, tls=tls)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body
    assert medications(body)["prescriptions"]
    assert injector.stats().total > 0


async def test_mtls_and_a_bearer_token_together(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    token_file = tmp_path / "token"
    token_file.write_text("token-over-mtls")
    app = guarded_registry(Source.PRESCRIPTIONS, population, bearer_guard("token-over-mtls"))
    async with served_mtls(app, pki) as url:
        tls = {
            "client_cert_file": pki.client_cert,
            "client_key_file": pki.client_key,
            "ca_file": pki.ca,
        }
        auth = {"kind": "bearer", "token_file": token_file}
        async with serve(prescriptions_at(registries, url, auth, tls)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert medications(body)["status"] == "COMPLETE", body


async def test_without_a_client_certificate_nothing_is_read(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    injector = FaultInjector()
    async with served_mtls(create_app(Source.PRESCRIPTIONS, population, injector), pki) as url:
        settings = prescriptions_at(registries, url, tls={"ca_file": pki.ca})
        async with serve(settings) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    # The TLS handshake fails: to the gateway the registry cannot be reached.
    assert codes(body) == {"SOURCE_UNAVAILABLE"}
    assert medications(body)["prescriptions"] is None
    assert injector.stats().total == 0


async def test_a_registry_certificate_from_another_ca_is_refused(
    registries: MockRegistries, population: Population, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path)
    injector = FaultInjector()
    async with served_mtls(create_app(Source.PRESCRIPTIONS, population, injector), pki) as url:
        tls = {
            "client_cert_file": pki.client_cert,
            "client_key_file": pki.client_key,
            "ca_file": pki.other_ca,
        }
        async with serve(prescriptions_at(registries, url, tls=tls)) as gateway:
            body = await gateway.graphql(MEDICATIONS, {"nin": NIN})
    assert codes(body) == {"SOURCE_UNAVAILABLE"}
    assert injector.stats().total == 0
