"""Clinical documents shared by the health trusts: the list (DocumentReference metadata), and
one document's content (its Binary), opened on request and logged as a document opened."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.context import Context
from gateway.errors import SourceBadResponse
from gateway.fetch import Fetched, Page
from gateway.fhir import FhirSource, first, parse_datetime, text
from gateway.identity import NationalIdentityNumber
from resolvers.common import Organization, newest_first, organization
from resolvers.section import Section, SourceName, count, section_fields

SOURCE = SourceName.DOCUMENTS


@strawberry.enum(description="What kind of document it is.")
class DocumentKind(Enum):
    EPICRISIS = strawberry.enum_value("EPICRISIS", description="Discharge summary (LOINC 18842-5).")
    LAB_REPORT = strawberry.enum_value("LAB_REPORT", description="Laboratory report (11502-2).")
    IMAGING_REPORT = strawberry.enum_value(
        "IMAGING_REPORT", description="Imaging report (18748-4)."
    )
    REFERRAL = strawberry.enum_value("REFERRAL", description="Referral (57133-1).")
    OTHER = strawberry.enum_value("OTHER", description="Any other document type.")


_KINDS = {
    "18842-5": DocumentKind.EPICRISIS,
    "11502-2": DocumentKind.LAB_REPORT,
    "18748-4": DocumentKind.IMAGING_REPORT,
    "57133-1": DocumentKind.REFERRAL,
}


@strawberry.type(description="A document's metadata; its content is fetched separately.")
class Document:
    id: strawberry.ID = strawberry.field(description="The registry's id for the document.")
    kind: DocumentKind = strawberry.field(description="Epicrisis, lab report, imaging report…")
    type_display: str | None = strawberry.field(
        description="The document type as the source names it."
    )
    title: str | None = strawberry.field(description="The document's title.")
    date: dt.datetime | None = strawberry.field(description="When the document was written.")
    author: Organization | None = strawberry.field(description="The organisation that wrote it.")
    custodian: str | None = strawberry.field(description="Who holds the document.")
    content_type: str | None = strawberry.field(description="MIME type of the content.")
    size_bytes: int | None = strawberry.field(description="Size of the content in bytes.")
    _binary_id: strawberry.Private[str | None] = None


@strawberry.type(description="A document's content, opened for reading (and logged as such).")
class DocumentContent:
    id: strawberry.ID = strawberry.field(description="The document's id.")
    title: str | None = strawberry.field(description="The document's title.")
    content_type: str = strawberry.field(description="MIME type of the content.")
    size_bytes: int = strawberry.field(description="Size of the content in bytes.")
    text: str | None = strawberry.field(
        description="The content as text, when it is text (text/*, UTF-8). Null otherwise."
    )
    data_base64: str | None = strawberry.field(
        description="The content, base64-encoded, when it is not text (a PDF, an image)."
    )


@strawberry.type(description="Documents from the health trusts. Only health personnel see these.")
class DocumentsSection(Section):
    _documents: strawberry.Private[Fetched[list[Document]]]

    @strawberry.field(description="Documents, newest first. Null when they could not be read.")
    def documents(self) -> list[Document] | None:
        return self._documents.unwrap()


def _document(resource: Mapping[str, Any]) -> Document:
    coding = first((resource.get("type") or {}).get("coding"))
    attachment = first(resource.get("content")).get("attachment") or {}
    size = attachment.get("size")
    if size is not None and not isinstance(size, int):
        raise TypeError("attachment.size is not an integer")
    url = text(attachment.get("url"))
    binary = _BINARY_URL.fullmatch(url) if url else None
    return Document(
        id=strawberry.ID(resource["id"]),
        kind=_KINDS.get(coding.get("code", ""), DocumentKind.OTHER),
        type_display=text(coding.get("display")),
        title=text(resource.get("description")) or text(attachment.get("title")),
        date=parse_datetime(resource.get("date")),
        author=organization(first(resource.get("author"))),
        custodian=text((resource.get("custodian") or {}).get("display")),
        content_type=text(attachment.get("contentType")),
        size_bytes=size,
        _binary_id=binary.group(1) if binary else None,
    )


# Content lives at the same registry, as a relative ``Binary/<id>`` (docs/fhir-profile.md).
_BINARY_URL = re.compile(r"Binary/([A-Za-z0-9\-.]{1,64})")


def _content(document: Document) -> Callable[[Mapping[str, Any]], DocumentContent]:
    def build(binary: Mapping[str, Any]) -> DocumentContent:
        content_type = binary["contentType"]
        raw = base64.b64decode(binary["data"], validate=True)
        as_text = raw.decode("utf-8") if str(content_type).startswith("text/") else None
        return DocumentContent(
            id=document.id,
            title=document.title,
            content_type=str(content_type),
            size_bytes=len(raw),
            text=as_text,
            data_base64=None if as_text is not None else binary["data"],
        )

    return build


class DocumentsClient:
    """Typed reads from the document registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def documents(self, nin: NationalIdentityNumber) -> Page[list[Document]]:
        """Every current document's metadata, newest first."""
        return await self._fhir.fetch(
            "DocumentReference",
            [],
            lambda result: newest_first([_document(r) for r in result.matches], "date"),
            patient=nin,
            by="subject",
        )

    async def content(self, nin: NationalIdentityNumber, document: Document) -> DocumentContent:
        """The content of one of the patient's documents."""
        if document._binary_id is None:
            raise SourceBadResponse("documents", "the documents registry gave no content link")
        return await self._fhir.read("Binary", document._binary_id, _content(document), patient=nin)


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[list[Document]]]]:
    """Start (or join) this request's search for the documents section."""
    client = ctx.clients.documents
    return (
        ctx.fetches.search(
            SOURCE.value, "DocumentReference", nin.value, lambda: client.documents(nin)
        ),
    )


async def documents_section(ctx: Context, nin: NationalIdentityNumber) -> DocumentsSection:
    """The documents section for ``nin``."""
    documents = await prefetch(ctx, nin)[0]
    return DocumentsSection(
        **section_fields(SOURCE, [documents], count(documents)), _documents=documents
    )


async def open_document(
    ctx: Context, nin: NationalIdentityNumber, document_id: str
) -> DocumentContent | None:
    """The content of the patient's document ``document_id``; None when the patient has no such
    document (an id is looked up among the patient's own documents, never fetched blindly)."""
    (documents,) = prefetch(ctx, nin)
    found = next((d for d in (await documents).unwrap() if d.id == document_id), None)
    if found is None:
        return None
    return await ctx.clients.documents.content(nin, found)
