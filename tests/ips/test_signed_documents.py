"""A signed summary document, end to end: the gateway signs what it serves, publishes the key,
and ``summary-gateway verify-document`` proves a saved copy came from it unchanged."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from gateway.ips.signing import JWKS_PATH
from gateway.settings import IpsSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from tests.conftest import serve, settings_for
from tests.ips.rules import ips_problems
from tests.ips.support import fetch_document
from tests.ips.validation import r4_problems

PATIENT = fixture("critical-allergies")


async def _verify(document: Path, jwks_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "verify-document",
        str(document),
        "--jwks",
        jwks_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, _err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


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
