"""What the privacy Consents add up to, and when they add up to nothing known."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.fhir import SearchResult
from resolvers.core_record.privacy import PRIVACY_SYSTEM, privacy_settings

HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"


def _block(hpr: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "status": status,
        "category": [{"coding": [{"system": PRIVACY_SYSTEM, "code": "block"}]}],
        "provision": {
            "type": "deny",
            "actor": [{"reference": {"identifier": {"system": HPR_SYSTEM, "value": hpr}}}],
        },
    }


def test_inactive_consents_count_for_nothing_even_when_the_server_sends_them() -> None:
    # A server that ignores `status=active` still sends the lifted block: it must not hold.
    settings = privacy_settings(SearchResult([_block("9144901", "inactive"), _block("9144902")]))
    assert settings.blocked_hpr_numbers == frozenset({"9144902"})


def test_blocked_numbers_are_kept_in_their_one_spelling() -> None:
    settings = privacy_settings(SearchResult([_block("009144901")]))
    assert settings.blocked_hpr_numbers == frozenset({"9144901"})


def test_a_read_that_was_cut_short_is_not_a_setting() -> None:
    with pytest.raises(ValueError, match="not read whole"):
        privacy_settings(SearchResult([_block("9144901")], truncated=True))


@pytest.mark.parametrize("status", [None, "revoked", "ACTIVE"])
def test_a_status_fhir_does_not_define_is_not_understood(status: str | None) -> None:
    with pytest.raises(ValueError, match="status"):
        privacy_settings(SearchResult([_block("9144901", status)]))  # type: ignore[arg-type]


def test_a_consent_of_no_known_category_is_not_understood() -> None:
    consent = {**_block("9144901"), "category": [{"coding": [{"system": PRIVACY_SYSTEM,
                                                              "code": "research"}]}]}  # fmt: skip
    with pytest.raises(ValueError, match="category"):
        privacy_settings(SearchResult([consent]))


def test_a_block_that_names_nobody_is_not_understood() -> None:
    consent = {**_block("9144901"), "provision": {"type": "deny", "actor": []}}
    with pytest.raises(ValueError, match="names nobody"):
        privacy_settings(SearchResult([consent]))
