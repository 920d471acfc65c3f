"""A signed summary document, end to end: the gateway signs what it serves, publishes the key,
and ``summary-gateway verify-document`` proves a saved copy came from it unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.ips.signing import JWKS_PATH
from gateway.settings import IpsSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from tests.conftest import serve, settings_for
from tests.ips.rules import ips_problems
from tests.ips.support import fetch_document
from tests.ips.validation import r4_problems
from tests.process_support import run_cli

PATIENT = fixture("critical-allergies")


async def _verify(document: Path, jwks_url: str) -> tuple[int, str]:
    ran = await run_cli("verify-document", str(document), "--jwks", jwks_url)
    return ran.returncode, ran.out


async def test_a_served_document_verifies_and_a_changed_byte_does_not(
    registries: MockRegistries, tmp_path: Path
) -> None:
    # The run's data directory: its development issuer signs the test's token, and the
    # development signing key is generated there.
    base = settings_for(registries)
    settings = base.model_copy(update={"ips": IpsSettings(signing="on")})
    async with serve(settings) as gateway:
        code, document = await fetch_document(gateway, PATIENT.nin)
        assert code == 200
        saved = tmp_path / "summary.json"
        saved.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        jwks_url = gateway.url + JWKS_PATH
        status, out = await _verify(saved, jwks_url)
        assert (status, out.split(":")[0]) == (0, "valid"), out

        signature = document["signature"]
        assert signature["sigFormat"] == "application/jose"
        # The signer is the document's author: the gateway's Device.
        assert signature["who"] == document["entry"][0]["resource"]["author"][0]
        assert ips_problems(document) == [] and r4_problems(document) == []

        # One byte: a single letter of an allergy's reaction, as a careless edit would change it.
        text = saved.read_text(encoding="utf-8")
        assert text.count("Anafylaksi") >= 1
        changed = tmp_path / "changed.json"
        changed.write_text(text.replace("Anafylaksi", "Anafylaksj", 1), encoding="utf-8")
        status, out = await _verify(changed, jwks_url)
        assert status == 1
        assert out.startswith("INVALID")
