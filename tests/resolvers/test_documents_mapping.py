"""Documents mapped from standard-shaped FHIR R4 DocumentReferences (the US Core shapes of
tests/data/r4_edge_cases.json): status and docStatus, title fallbacks, inline content opened
without a read, a Binary still read, authors as person or organisation, partial dates."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import SourceBadResponse
from gateway.identity import parse
from gateway.upstream.fhir import SearchResult
from resolvers.documents import (
    MAX_CONTENT_BYTES,
    Document,
    DocumentCompositionStatus,
    DocumentContent,
    DocumentKind,
    DocumentsClient,
    DocumentStatus,
    _documents,
)
from resolvers.parties import PartyKind

EDGE = Path(__file__).resolve().parents[1] / "data" / "r4_edge_cases.json"
NIN = parse("20863205485")


def _edge() -> dict[str, dict[str, Any]]:
    bundle = json.loads(EDGE.read_text())
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


R = _edge()
DOCUMENTS = ["a-doc-discharge-v1", "a-doc-discharge-v2", "a-doc-type-only", "a-doc-inline"]


def _mapped(
    *resources: Mapping[str, Any], included: Mapping[str, Any] | None = None
) -> dict[str, Document]:
    answer = SearchResult(list(resources), dict(included or {}))
    return {str(d.id): d for d in _documents(answer)}


def _all() -> dict[str, Document]:
    return _mapped(*(R[i] for i in DOCUMENTS))


class FakeFhir:
    """Reads Binaries from a dict and records which were read."""

    base_url = "https://fhir.example.no/documents/fhir"

    def __init__(self, binaries: dict[str, dict[str, Any]]) -> None:
        self.binaries = binaries
        self.reads: list[tuple[str, str]] = []

    async def read(
        self,
        resource_type: str,
        resource_id: str,
        build: Callable[[Mapping[str, Any]], Any],
        *,
        patient: Any,
    ) -> Any:
        assert patient == NIN
        self.reads.append((resource_type, resource_id))
        return build(self.binaries[resource_id])


def test_superseded_documents_are_shown_and_marked_entered_in_error_ones_are_not() -> None:
    wrong = {**copy.deepcopy(R["a-doc-type-only"]), "id": "wrong", "status": "entered-in-error"}
    wrong_draft = {**copy.deepcopy(R["a-doc-type-only"]), "id": "draft"}
    wrong_draft["docStatus"] = "entered-in-error"
    documents = _mapped(*(R[i] for i in DOCUMENTS), wrong, wrong_draft)
    assert set(documents) == set(DOCUMENTS)
    old, new = documents["a-doc-discharge-v1"], documents["a-doc-discharge-v2"]
    assert old.status is DocumentStatus.SUPERSEDED
    assert new.status is DocumentStatus.CURRENT
    assert old.replaced_by == "a-doc-discharge-v2"
    assert new.replaced_by is None
    assert old.doc_status is DocumentCompositionStatus.FINAL
    assert documents["a-doc-inline"].doc_status is None


def test_title_from_description_else_type_else_attachment_title() -> None:
    documents = _all()
    assert documents["a-doc-discharge-v2"].title == "Discharge summary, medical ward"
    assert documents["a-doc-type-only"].title == "Consult note"
    assert documents["a-doc-type-only"].type_display == "Consult note"
    untyped = copy.deepcopy(R["a-doc-inline"])
    del untyped["description"], untyped["type"]
    assert _mapped(untyped)["a-doc-inline"].title == "INR follow-up"
    texted = copy.deepcopy(R["a-doc-type-only"])
    texted["type"]["text"] = "Cardiology consult"
    assert _mapped(texted)["a-doc-type-only"].title == "Cardiology consult"


def test_kind_and_newest_first() -> None:
    documents = _documents(SearchResult([R[i] for i in DOCUMENTS], {}))
    assert [d.id for d in documents] == [
        "a-doc-inline",
        "a-doc-discharge-v2",
        "a-doc-discharge-v1",
        "a-doc-type-only",
    ]
    by_id = {str(d.id): d for d in documents}
    assert by_id["a-doc-discharge-v2"].kind is DocumentKind.EPICRISIS
    assert by_id["a-doc-type-only"].kind is DocumentKind.OTHER


def test_authors_are_persons_or_organisations() -> None:
    documents = _all()
    by_doctor = documents["a-doc-discharge-v2"]
    assert [a.kind for a in by_doctor.authors] == [PartyKind.PERSON]
    assert by_doctor.author is None, "a Practitioner is not shown as the authoring organisation"
    by_office = documents["a-doc-inline"]
    assert [a.kind for a in by_office.authors] == [PartyKind.ORGANISATION]
    assert by_office.author is not None
    named = copy.deepcopy(R["a-doc-type-only"])
    named["author"] = [
        {
            "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "983974899"},
            "display": "Oslo universitetssykehus HF",
        },
        {"reference": "Practitioner/prac-hosp", "display": "Henrik Strand"},
    ]
    document = _mapped(named)["a-doc-type-only"]
    assert document.author is not None
    assert (document.author.name, document.author.organization_number) == (
        "Oslo universitetssykehus HF",
        "983974899",
    )
    assert [(a.kind, a.name) for a in document.authors] == [
        (PartyKind.ORGANISATION, "Oslo universitetssykehus HF"),
        (PartyKind.PERSON, "Henrik Strand"),
    ]


def test_a_partial_date_never_fails_the_list() -> None:
    old = {**copy.deepcopy(R["a-doc-type-only"]), "date": "2010"}
    document = _mapped(old)["a-doc-type-only"]
    assert document.date is not None and document.date.text == "2010"
    assert _all()["a-doc-inline"].date is not None


async def test_inline_content_opens_without_a_read() -> None:
    document = _all()["a-doc-inline"]
    expected = base64.b64decode(R["a-doc-inline"]["content"][0]["attachment"]["data"])
    assert document.size_bytes == len(expected)
    assert document.content_type == "text/plain"
    fhir = FakeFhir({})
    content = await DocumentsClient(fhir).content(NIN, document)  # type: ignore[arg-type]
    assert fhir.reads == []
    assert isinstance(content, DocumentContent)
    assert content.text == expected.decode()
    assert content.text.startswith("Telephone follow-up 2026-10-22: INR 2.6")
    assert (content.size_bytes, content.title, content.data_base64) == (
        len(expected),
        "INR follow-up by telephone",
        None,
    )


async def test_inline_binary_content_is_returned_base64() -> None:
    pdf = copy.deepcopy(R["a-doc-inline"])
    data = base64.b64encode(b"%PDF-1.4 tiny").decode()
    pdf["content"][0]["attachment"] = {"contentType": "application/pdf", "data": data}
    document = _mapped(pdf)["a-doc-inline"]
    content = await DocumentsClient(FakeFhir({})).content(NIN, document)  # type: ignore[arg-type]
    assert (content.text, content.data_base64, content.size_bytes) == (None, data, 13)


async def test_a_binary_url_is_still_read() -> None:
    document = _all()["a-doc-discharge-v2"]
    data = base64.b64encode(b"%PDF-1.4 discharge").decode()
    fhir = FakeFhir({"a-doc-discharge-v2-pdf": {"contentType": "application/pdf", "data": data}})
    content = await DocumentsClient(fhir).content(NIN, document)  # type: ignore[arg-type]
    assert fhir.reads == [("Binary", "a-doc-discharge-v2-pdf")]
    assert (content.content_type, content.data_base64) == ("application/pdf", data)


async def test_unusable_or_oversized_inline_content_is_a_bad_response() -> None:
    broken = copy.deepcopy(R["a-doc-inline"])
    broken["content"][0]["attachment"]["data"] = "not base64!"
    document = _mapped(broken)["a-doc-inline"]
    with pytest.raises(SourceBadResponse):
        await DocumentsClient(FakeFhir({})).content(NIN, document)  # type: ignore[arg-type]
    huge = copy.deepcopy(R["a-doc-inline"])
    huge["content"][0]["attachment"]["data"] = "QUFB" * (MAX_CONTENT_BYTES // 3 + 1)
    document = _mapped(huge)["a-doc-inline"]
    assert document.size_bytes is not None and document.size_bytes > MAX_CONTENT_BYTES
    with pytest.raises(SourceBadResponse):
        await DocumentsClient(FakeFhir({})).content(NIN, document)  # type: ignore[arg-type]


async def test_an_absolute_binary_url_opens_only_at_the_registrys_own_base() -> None:
    data = base64.b64encode(b"%PDF-1.4 discharge").decode()
    absolute = copy.deepcopy(R["a-doc-discharge-v2"])
    attachment = absolute["content"][0]["attachment"]
    attachment["url"] = f"{FakeFhir.base_url}/Binary/a-doc-discharge-v2-pdf"
    fhir = FakeFhir({"a-doc-discharge-v2-pdf": {"contentType": "application/pdf", "data": data}})
    document = _mapped(absolute)["a-doc-discharge-v2"]
    content = await DocumentsClient(fhir).content(NIN, document)  # type: ignore[arg-type]
    assert fhir.reads == [("Binary", "a-doc-discharge-v2-pdf")]
    assert content.data_base64 == data
    # Anywhere else (another host, or a base that only starts the same) is never asked.
    for elsewhere in (
        "https://other.example.no/fhir/Binary/a-doc-discharge-v2-pdf",
        f"{FakeFhir.base_url}-evil/Binary/a-doc-discharge-v2-pdf",
    ):
        attachment["url"] = elsewhere
        fhir = FakeFhir({})
        document = _mapped(absolute)["a-doc-discharge-v2"]
        with pytest.raises(SourceBadResponse, match="no content link"):
            await DocumentsClient(fhir).content(NIN, document)  # type: ignore[arg-type]
        assert fhir.reads == []


async def test_no_url_and_no_data_is_still_no_content_link() -> None:
    empty = copy.deepcopy(R["a-doc-type-only"])
    empty["content"][0]["attachment"] = {"contentType": "application/pdf"}
    document = _mapped(empty)["a-doc-type-only"]
    with pytest.raises(SourceBadResponse, match="no content link"):
        await DocumentsClient(FakeFhir({})).content(NIN, document)  # type: ignore[arg-type]


def test_an_included_author_is_named_from_its_resource() -> None:
    included = {"Practitioner/prac-hosp": R["prac-hosp"], "Organization/org-gp": R["org-gp"]}
    documents = _mapped(R["a-doc-discharge-v2"], R["a-doc-inline"], included=included)
    (doctor,) = documents["a-doc-discharge-v2"].authors
    assert (doctor.kind, doctor.name, doctor.hpr_number) == (
        PartyKind.PERSON,
        "Henrik Strand",
        "9144897",
    )
    office = documents["a-doc-inline"].author
    assert office is not None
    assert (office.name, office.organization_number) == ("Arendal legesenter", "974600951")


def test_a_contained_author_is_named_from_its_resource() -> None:
    document = copy.deepcopy(R["a-doc-type-only"])
    document["contained"] = [
        {
            "resourceType": "Practitioner",
            "id": "p1",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "565501872"}],
            "name": [{"family": "Strand", "given": ["Henrik"]}],
        }
    ]
    document["author"] = [{"reference": "#p1"}]
    (author,) = _mapped(document)["a-doc-type-only"].authors
    assert (author.kind, author.name, author.hpr_number) == (
        PartyKind.PERSON,
        "Henrik Strand",
        "565501872",
    )
