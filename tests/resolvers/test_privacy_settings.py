"""What the privacy Consents add up to, and when they add up to nothing known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from gateway.access.policy import PrivacySettings
from gateway.errors import PrivacySettingsUnknown, SourceBadResponse
from gateway.identity import parse
from gateway.upstream.fan_out import Page
from gateway.upstream.fhir import FhirSource, SearchResult
from resolvers.core_record.client import CoreRecordClient
from resolvers.core_record.privacy import PRIVACY_SYSTEM, ConsentNotUnderstood, privacy_settings

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


# Which Consents are privacy settings, and what one not understood does (issue 15).

SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
EDGE_CASES = Path(__file__).resolve().parents[1] / "data" / "r4_edge_cases.json"


def _scope(code: str) -> dict[str, Any]:
    return {"coding": [{"system": SCOPE_SYSTEM, "code": code}]}


def _loinc_consent(scope: str | None = "patient-privacy", status: str = "active") -> dict[str, Any]:
    """A Consent as another system writes it: LOINC 59284-0 "Patient Consent", an OPTOUT policy
    and a deny provision the gateway does not model (R4 consent-example-notOrg shape)."""
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "status": status,
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "policyRule": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}]},
        "provision": {"type": "deny", "actor": [{"reference": {"reference": "Organization/f001"}}],
                      "action": [{"coding": [{"code": "access"}]}]},
    }  # fmt: skip
    if scope is not None:
        consent["scope"] = _scope(scope)
    return consent


def test_an_active_patient_privacy_consent_of_another_category_is_not_understood() -> None:
    bundle = json.loads(EDGE_CASES.read_text())
    [b_consent] = [e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "b-consent"]
    with pytest.raises(ConsentNotUnderstood, match="category"):
        privacy_settings(SearchResult([b_consent]))
    with pytest.raises(ConsentNotUnderstood, match="category"):
        privacy_settings(SearchResult([_block("9144901"), _loinc_consent()]))


def test_a_consent_with_no_scope_we_recognise_is_taken_as_a_privacy_setting() -> None:
    for scope in (None, "something-else"):
        consent = _loinc_consent(scope=None)
        if scope is not None:
            consent["scope"] = {"coding": [{"system": "urn:example", "code": scope}]}
        with pytest.raises(ConsentNotUnderstood):
            privacy_settings(SearchResult([consent]))


@pytest.mark.parametrize("scope", ["treatment", "research", "adr"])
def test_consents_of_another_scope_are_not_privacy_settings(scope: str) -> None:
    settings = privacy_settings(SearchResult([_loinc_consent(scope), _block("9144902")]))
    assert settings == PrivacySettings(False, frozenset(), frozenset({"9144902"}))
    # Even with a status FHIR does not define: it is not ours to read.
    assert privacy_settings(SearchResult([_loinc_consent(scope, status="revoked")])) == (
        PrivacySettings()
    )


def test_a_privacy_setting_under_another_scope_still_holds() -> None:
    # Ignoring a block because its scope says "treatment" would open the record.
    consent = {**_block("9144903"), "scope": _scope("treatment")}
    assert privacy_settings(SearchResult([consent])).blocked_hpr_numbers == {"9144903"}


def test_a_consent_not_in_force_counts_for_nothing_however_foreign() -> None:
    for status in ("inactive", "rejected", "draft", "proposed", "entered-in-error"):
        assert privacy_settings(SearchResult([_loinc_consent(status=status)])) == (
            PrivacySettings()
        )


@pytest.mark.parametrize(
    "extra",
    [
        {"data": [{"meaning": "related", "reference": {"reference": "Condition/x"}}]},
        {"purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                      "code": "HRESCH"}]},
        {"action": [{"coding": [{"code": "access"}]}]},
    ],
    ids=["data", "purpose", "action"],
)  # fmt: skip
def test_a_deny_provision_with_parts_the_gateway_does_not_model_is_not_understood(
    extra: dict[str, Any],
) -> None:
    consent = _block("9144901")
    consent["provision"] = {**consent["provision"], **extra}
    with pytest.raises(ConsentNotUnderstood, match="parts"):
        privacy_settings(SearchResult([consent]))


class _Registry:
    """A stand-in for ``FhirSource.fetch``: maps the Consents as the real one does, turning a
    mapping failure into SOURCE_BAD_RESPONSE (gateway/upstream/fhir.py)."""

    name = "core_record"

    def __init__(self, result: SearchResult) -> None:
        self.result = result

    async def fetch(self, resource_type: str, params: Any, build: Any, **_: Any) -> Page[Any]:
        assert resource_type == "Consent"
        try:
            return Page(build(self.result))
        except ValueError as exc:
            raise SourceBadResponse(self.name, "unusable FHIR") from exc


async def _read(result: SearchResult) -> PrivacySettings:
    core = CoreRecordClient(cast(FhirSource, _Registry(result)))
    return (await core.privacy(parse("03827327793"))).items


async def test_a_consent_not_understood_withholds_with_its_own_stable_code() -> None:
    with pytest.raises(PrivacySettingsUnknown) as raised:
        await _read(SearchResult([_loinc_consent()]))
    assert raised.value.extensions == {"code": "PRIVACY_SETTINGS_UNKNOWN", "source": "core_record"}
    assert "category" in raised.value.message


async def test_a_read_cut_short_is_still_a_bad_response_not_an_unknown_setting() -> None:
    with pytest.raises(SourceBadResponse) as raised:
        await _read(SearchResult([_block("9144901")], truncated=True))
    assert raised.value.code == "SOURCE_BAD_RESPONSE"


async def test_settings_understood_are_read_through_the_client() -> None:
    settings = await _read(SearchResult([_block("9144901"), _loinc_consent("research")]))
    assert settings.blocked_hpr_numbers == {"9144901"}


def test_a_privacy_setting_with_a_coded_opt_in_or_opt_out_policy_is_not_understood() -> None:
    for policy in ("OPTIN", "OPTOUT"):
        coded = {"coding": [{"system": ACT_CODE, "code": policy}]}
        consent = {**_block("9144901"), "policyRule": coded}
        with pytest.raises(ConsentNotUnderstood, match="opt-out"):
            privacy_settings(SearchResult([consent]))
    # The legal basis as text, as the core record writes it, is fine.
    text_only = {**_block("9144901"), "policyRule": {"text": "Kjernejournalforskriften: block"}}
    assert privacy_settings(SearchResult([text_only])).blocked_hpr_numbers == {"9144901"}


def test_a_restriction_of_our_sections_under_another_scope_still_holds() -> None:
    consent = {
        "resourceType": "Consent",
        "status": "active",
        "scope": _scope("research"),
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "provision": {"type": "deny", "code": [{"coding": [{"system": PRIVACY_SYSTEM,
                                                            "code": "medications"}]}]},
    }  # fmt: skip
    with pytest.raises(ConsentNotUnderstood, match="category"):
        privacy_settings(SearchResult([consent]))
