"""Clinical documents shared by the health trusts: the list (DocumentReference metadata), and
one document's content (its Binary, or the content the DocumentReference carries inline), opened
on request and logged as a document opened.

Documents entered in error are not listed; superseded versions are, marked SUPERSEDED."""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.errors import SourceBadResponse
from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, count, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, Page
from gateway.upstream.fhir import FhirSource, SearchResult, first, text
from resolvers.common import Organization, newest_first
from resolvers.parties import Party, PartyKind, party, reference_target, resolver_for

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


@strawberry.enum(description="Whether a document is the one in force or an older version.")
class DocumentStatus(Enum):
    CURRENT = strawberry.enum_value("CURRENT", description="The version in force (current).")
    SUPERSEDED = strawberry.enum_value(
        "SUPERSEDED",
        description="Replaced by a newer version (superseded): shown, but read the newer one.",
    )


@strawberry.enum(description="How far the document itself was written (docStatus).")
class DocumentCompositionStatus(Enum):
    PRELIMINARY = strawberry.enum_value("PRELIMINARY", description="Not yet final.")
    FINAL = strawberry.enum_value("FINAL", description="Final.")
    AMENDED = strawberry.enum_value("AMENDED", description="Changed after it was final.")


_STATUSES = {"current": DocumentStatus.CURRENT, "superseded": DocumentStatus.SUPERSEDED}
_COMPOSITION_STATUSES = {
    "preliminary": DocumentCompositionStatus.PRELIMINARY,
    "final": DocumentCompositionStatus.FINAL,
    "amended": DocumentCompositionStatus.AMENDED,
}
LOINC = "http://loinc.org"
MAX_CONTENT_BYTES = 20 * 1024 * 1024
"""The largest content opened, whether read as a Binary or carried inline in the document."""


@strawberry.type(description="A document's metadata; its content is fetched separately.")
class Document:
    id: strawberry.ID = strawberry.field(description="The registry's id for the document.")
    kind: DocumentKind = strawberry.field(description="Epicrisis, lab report, imaging report…")
    type_display: str | None = strawberry.field(
        description="The document type as the source names it."
    )
    title: str | None = strawberry.field(
        description="The document's title: its description, else its type, else the title of "
        "its content."
    )
    status: DocumentStatus = strawberry.field(
        description="CURRENT, or SUPERSEDED by a newer version (see replacedBy)."
    )
    doc_status: DocumentCompositionStatus | None = strawberry.field(
        description="Preliminary, final or amended, when the source says."
    )
    replaced_by: strawberry.ID | None = strawberry.field(
        description="The id of the document that replaces this one, when it is among these."
    )
    date: FhirDateTime | None = strawberry.field(
        description="When the document was written, at the precision the source recorded."
    )
    author: Organization | None = strawberry.field(
        description="The organisation that wrote it: the first author that is an organisation. "
        "Null when only persons are named (see authors)."
    )
    authors: list[Party] = strawberry.field(
        description="Everyone named as author, each a person or an organisation."
    )
    custodian: str | None = strawberry.field(description="Who holds the document.")
    content_type: str | None = strawberry.field(description="MIME type of the content.")
    size_bytes: int | None = strawberry.field(description="Size of the content in bytes.")
    _binary_id: strawberry.Private[str | None] = None
    _inline: strawberry.Private[str | None] = None
    _content_url: strawberry.Private[str | None] = None
    """An absolute content URL: opened only when it lies at the registry's own base."""
    """Content carried in the document itself (``attachment.data``, base64)."""


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

    @strawberry.field(
        description="Documents, newest first. Null when they could not be read. Superseded "
        "versions are shown with status SUPERSEDED; documents entered in error are not shown."
    )
    def documents(self) -> list[Document] | None:
        return self._documents.unwrap()


def _shown(resource: Mapping[str, Any]) -> bool:
    """Entered in error (status or docStatus): never shown. Only current or superseded are."""
    return resource.get("status") in _STATUSES and resource.get("docStatus") != "entered-in-error"


def _kind(concept: Mapping[str, Any]) -> DocumentKind:
    for coding in concept.get("coding") or ():
        if isinstance(coding, Mapping) and coding.get("system") in (LOINC, None):
            kind = _KINDS.get(str(coding.get("code")))
            if kind is not None:
                return kind
    return DocumentKind.OTHER


def _attachment(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first attachment with content (a url or inline data), else the first one."""
    attachments = [
        c["attachment"]
        for c in resource.get("content") or ()
        if isinstance(c, Mapping) and isinstance(c.get("attachment"), Mapping)
    ]
    return next((a for a in attachments if a.get("url") or a.get("data")), first(attachments))


def _decoded_size(data: str) -> int:
    """The size of base64 ``data`` once decoded, without decoding it."""
    stripped = "".join(data.split())
    return len(stripped) * 3 // 4 - stripped[-2:].count("=")


def _document(
    resource: Mapping[str, Any], replaced_by: Mapping[str, str], result: SearchResult
) -> Document:
    concept = resource.get("type") or {}
    coding = first(concept.get("coding"))
    attachment = _attachment(resource)
    size = attachment.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
        raise TypeError("attachment.size is not an integer")
    inline = attachment.get("data")
    if inline is not None and not isinstance(inline, str):
        raise TypeError("attachment.data is not base64 text")
    url = text(attachment.get("url"))
    binary = _BINARY_URL.fullmatch(url) if url else None
    resolve = resolver_for(resource, result.included)

    authors = [p for p in (party(a, resolve) for a in resource.get("author") or ()) if p]
    organisation = next((a for a in authors if a.kind is PartyKind.ORGANISATION), None)
    type_text = text(concept.get("text")) or text(coding.get("display"))
    return Document(
        id=strawberry.ID(resource["id"]),
        kind=_kind(concept),
        type_display=type_text,
        title=text(resource.get("description")) or type_text or text(attachment.get("title")),
        status=_STATUSES[resource["status"]],
        doc_status=_COMPOSITION_STATUSES.get(str(resource.get("docStatus"))),
        replaced_by=_id_or_none(replaced_by.get(str(resource["id"]))),
        date=FhirDateTime.parse(resource.get("date")),
        author=Organization(
            name=organisation.name, organization_number=organisation.organization_number
        )
        if organisation
        else None,
        authors=authors,
        custodian=text((resource.get("custodian") or {}).get("display")),
        content_type=text(attachment.get("contentType")),
        size_bytes=_decoded_size(inline) if inline else size,
        _binary_id=binary.group(1) if binary else None,
        _inline=inline or None,
        _content_url=url if url and not binary else None,
    )


def _id_or_none(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)


def _replacements(resources: list[Mapping[str, Any]]) -> dict[str, str]:
    """Which shown document replaces which (``relatesTo`` code ``replaces``): old id → new id."""
    replaced: dict[str, str] = {}
    for resource in resources:
        for relation in resource.get("relatesTo") or ():
            if not isinstance(relation, Mapping) or relation.get("code") != "replaces":
                continue
            target = reference_target(relation.get("target") or {})
            if target is not None and target[0] == "DocumentReference":
                replaced.setdefault(target[1], str(resource["id"]))
    return replaced


def _documents(result: SearchResult) -> list[Document]:
    shown = [r for r in result.matches if _shown(r)]
    replaced_by = _replacements(shown)
    return newest_first([_document(r, replaced_by, result) for r in shown], "date")


# Content lives at the same registry, as ``Binary/<id>``, relative or absolute at the registry's
# own base (docs/fhir-profile.md).
_BINARY_URL = re.compile(r"Binary/([A-Za-z0-9\-.]{1,64})")


def _opened(document: Document, content_type: str, data: str) -> DocumentContent:
    """The content of base64 ``data``; raises ValueError when it is not base64, too large, or
    not UTF-8 while it says it is text."""
    if _decoded_size(data) > MAX_CONTENT_BYTES:
        raise ValueError("the document is too large to open")
    raw = base64.b64decode(data, validate=True)
    as_text = raw.decode("utf-8") if content_type.startswith("text/") else None
    return DocumentContent(
        id=document.id,
        title=document.title,
        content_type=content_type,
        size_bytes=len(raw),
        text=as_text,
        data_base64=None if as_text is not None else data,
    )


def _content(document: Document) -> Callable[[Mapping[str, Any]], DocumentContent]:
    def build(binary: Mapping[str, Any]) -> DocumentContent:
        return _opened(document, str(binary["contentType"]), binary["data"])

    return build


def inline_content(document: Document) -> DocumentContent | None:
    """The content a document carries itself (``attachment.data``), opened without a read;
    None when it carries none. Raises SOURCE_BAD_RESPONSE when that content is unusable."""
    if document._inline is None:
        return None
    try:
        return _opened(
            document, document.content_type or "application/octet-stream", document._inline
        )
    except ValueError as exc:
        raise SourceBadResponse(
            "documents", "the documents registry sent a document whose content cannot be opened"
        ) from exc


class DocumentsClient:
    """Typed reads from the document registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def documents(self, nin: NationalIdentityNumber) -> Page[list[Document]]:
        """Every document's metadata (current and superseded, never entered in error),
        newest first."""
        return await self._fhir.fetch(
            "DocumentReference",
            # Names the person or organisation an author is given only as a reference.
            [("_include", "DocumentReference:author")],
            _documents,
            patient=nin,
            by="subject",
        )

    async def content(self, nin: NationalIdentityNumber, document: Document) -> DocumentContent:
        """The content of one of the patient's documents: carried inline, or its Binary."""
        inline = inline_content(document)
        if inline is not None:
            return inline
        binary_id = document._binary_id or self._binary_at(document._content_url)
        if binary_id is None:
            raise SourceBadResponse("documents", "the documents registry gave no content link")
        return await self._fhir.read("Binary", binary_id, _content(document), patient=nin)

    def _binary_at(self, url: str | None) -> str | None:
        """The Binary id of an absolute ``<base>/Binary/<id>`` at this registry's own base. A
        URL anywhere else is never followed: the request would go to another host."""
        base = f"{self._fhir.base_url}/"
        if url is None or not url.startswith(base):
            return None
        binary = _BINARY_URL.fullmatch(url.removeprefix(base))
        return binary.group(1) if binary else None


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
