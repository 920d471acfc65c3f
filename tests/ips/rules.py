"""Independent checks of an International Patient Summary document, written from the HL7 IPS IG.

Sources: the IPS IG 2.0.1 profiles (github.com/HL7/fhir-ips, ``input/fsh/profiles/
BundleUvIps.fsh`` and ``CompositionUvIps.fsh``, invariants ``bdl-ips-1`` and ``ips-comp-1``), the
R4 Composition invariants ``cmp-1``/``cmp-2``, the R4 Bundle reference rules
(``tests/fhir_bundle_index.py``) and the R4 value sets (``tests/ips_vocabulary.py``). They never
read the gateway's own code: they are what a document must satisfy, whoever built it.

``ips_problems(bundle)`` returns human-readable problems; an empty list means the bundle passes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree import ElementTree

from tests.ips.bundle_index import (
    ABSOLUTE_URL,
    OID_URN,
    RESTFUL,
    UUID_URN,
    BundleIndex,
    Json,
)
from tests.ips.vocabulary import (
    ATC,
    ATC_ANY_LEVEL,
    ATC_CODE,
    CODED_STATUS,
    CONFIDENTIALITY,
    DATE,
    DATE_ELEMENTS,
    DATE_TIME,
    DATE_TIME_ELEMENTS,
    INSTANT,
    INSTANT_ELEMENTS,
    LIST_EMPTY_REASON,
    LIST_EMPTY_REASONS,
    LOINC,
    REQUIRED_SECTIONS,
    SECTION_ENTRY_TYPES,
    STATUS_CODES,
    XHTML_DIV,
)


def ips_problems(bundle: Json, *, every_empty_section_coded: bool = True) -> list[str]:
    """Everything in ``bundle`` that an IPS document (and our profile of it) must not have.

    ``every_empty_section_coded`` is our profile's rule that every section without entries
    says why in ``emptyReason``; the IPS IG requires that only of the three required sections
    (``ips-comp-1``) and lets an optional section be narrative only.
    """
    if bundle.get("resourceType") != "Bundle":
        return [f"resourceType is {bundle.get('resourceType')!r}, not 'Bundle'"]
    index = BundleIndex(bundle)
    problems = [*_bundle_problems(bundle, index), *_reference_problems(index)]
    problems += _date_problems(bundle, "Bundle")
    for i in range(len(index.entries)):
        problems += _coding_problems(index.resource(i), f"Bundle.entry[{i}].resource")
    if index.entries and index.resource(0).get("resourceType") == "Composition":
        problems += _composition_problems(index, every_empty_section_coded)
    return problems


def _bundle_problems(bundle: Json, index: BundleIndex) -> Iterator[str]:
    if bundle.get("type") != "document":
        yield f"Bundle.type is {bundle.get('type')!r}, not 'document'"
    identifier = bundle.get("identifier") or {}
    if not (identifier.get("system") and identifier.get("value")):
        yield "Bundle.identifier needs a system and a value"
    if not bundle.get("timestamp"):
        yield "Bundle.timestamp is missing"
    if not index.entries:
        yield "Bundle has no entries"
        return
    if index.resource(0).get("resourceType") != "Composition":
        yield "Bundle.entry[0] is not a Composition"
    seen: set[str] = set()
    for i, entry in enumerate(index.entries):
        where, resource = f"Bundle.entry[{i}]", index.resource(i)
        if i > 0 and resource.get("resourceType") == "Composition":
            yield f"{where} is a second Composition (bdl-ips-1)"
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str):
            yield f"{where}.fullUrl is missing"
            continue
        if full_url in seen:
            yield f"{where}.fullUrl {full_url} is not unique in the Bundle"
        seen.add(full_url)
        if not (
            UUID_URN.match(full_url) or OID_URN.match(full_url) or ABSOLUTE_URL.match(full_url)
        ):
            yield f"{where}.fullUrl {full_url!r} is neither urn:uuid:<uuid> nor an absolute URL"
        yield from _id_matches_full_url(where, full_url, resource)


def _id_matches_full_url(where: str, full_url: str, resource: Json) -> Iterator[str]:
    resource_id = resource.get("id")
    if resource_id is None:
        return
    if full_url.startswith("urn:uuid:"):
        expected = full_url.removeprefix("urn:uuid:")
    elif restful := RESTFUL.match(full_url):
        expected = restful.group("id")
        if restful.group("type") != resource.get("resourceType"):
            yield f"{where}.fullUrl {full_url} names another type than {resource['resourceType']}"
    else:
        return
    if resource_id != expected:
        yield f"{where}.resource.id {resource_id!r} does not match fullUrl {full_url}"


def _reference_problems(index: BundleIndex) -> Iterator[str]:
    for found in index.all_references():
        if index.resolve(found.reference, found.entry_index, found.container) is None:
            yield f"{found.path}: reference {found.reference!r} does not resolve in the Bundle"


def _composition_problems(index: BundleIndex, every_empty_section_coded: bool) -> Iterator[str]:
    composition, where = index.resource(0), "Composition"
    for element in ("status", "date", "title"):
        if not composition.get(element):
            yield f"{where}.{element} is missing"
    yield from _loinc(composition.get("type"), f"{where}.type", expected="60591-5")
    if (confidentiality := composition.get("confidentiality")) is not None and (
        confidentiality not in CONFIDENTIALITY
    ):
        yield f"{where}.confidentiality {confidentiality!r} is not a v3 Confidentiality code"
    subject = _target(index, composition.get("subject"))
    if subject is None or index.resource(subject).get("resourceType") != "Patient":
        yield f"{where}.subject does not resolve to a Patient entry"
    authors = [_target(index, a) for a in composition.get("author") or []]
    if not authors or None in authors:
        yield f"{where}.author needs at least one author, each resolving in the Bundle"
    sections = composition.get("section") or []
    codes = [_section_code(section) for section in sections]
    for code, name in REQUIRED_SECTIONS.items():
        if code not in codes:
            yield f"{where}: required {name} section (LOINC {code}) is missing"
    for i, section in enumerate(sections):
        yield from _section_problems(
            index, section, f"{where}.section[{i}]", subject, every_empty_section_coded
        )


def _section_problems(
    index: BundleIndex, section: Json, where: str, subject: int | None, coded_empty: bool
) -> Iterator[str]:
    code = _section_code(section)
    if not section.get("title"):
        yield f"{where}.title is missing"
    yield from _section_code_problems(section.get("code"), f"{where}.code")
    text = section.get("text") or {}
    if not text.get("status") or not _is_xhtml_div(text.get("div")):
        yield f"{where}.text needs a status and a well-formed XHTML div"
    entries, empty_reason = section.get("entry") or [], section.get("emptyReason")
    if entries and empty_reason:
        yield f"{where} has entries and an emptyReason (cmp-2)"
    if not entries and not empty_reason and (coded_empty or code in REQUIRED_SECTIONS):
        rule = "ips-comp-1" if code in REQUIRED_SECTIONS else "our profile"
        yield f"{where} has neither entries nor an emptyReason ({rule})"
    if empty_reason:
        codings = empty_reason.get("coding") or []
        if not any(
            c.get("system") == LIST_EMPTY_REASON and c.get("code") in LIST_EMPTY_REASONS
            for c in codings
        ):
            yield f"{where}.emptyReason is not coded from {LIST_EMPTY_REASON}"
    allowed = SECTION_ENTRY_TYPES.get(code or "")
    for j, entry in enumerate(entries):
        target = _target(index, entry)
        if target is None:
            continue  # reported with its path by the reference check
        resource = index.resource(target)
        rtype = resource.get("resourceType")
        if allowed is not None and rtype not in allowed:
            yield f"{where}.entry[{j}] is a {rtype}, not allowed in section {code}"
        for element in ("subject", "patient"):
            if isinstance(reference := resource.get(element), Mapping):
                found = index.resolve_index(str(reference.get("reference", "")), target)
                if subject is not None and found != subject:
                    yield f"{where}.entry[{j}] ({rtype}).{element} is not the Composition subject"


def _coding_problems(resource: Json, where: str) -> Iterator[str]:
    rtype = str(resource.get("resourceType"))
    for (bound_type, element), (system, codes) in CODED_STATUS.items():
        concept = resource.get(element)
        if bound_type == rtype and isinstance(concept, Mapping):
            codings = concept.get("coding") or []
            if not codings or any(
                c.get("system") != system or c.get("code") not in codes for c in codings
            ):
                yield f"{where}.{element} is not coded from {system}"
    if rtype in STATUS_CODES and resource.get("status") not in STATUS_CODES[rtype]:
        yield f"{where}.status {resource.get('status')!r} is not in the R4 {rtype} status set"
    for path, coding in _codings(resource, where):
        coding_system, code = coding.get("system"), str(coding.get("code", ""))
        if ATC_CODE.match(code) and coding_system != ATC:
            yield f"{path}: ATC code {code} needs system {ATC}, not {coding_system!r}"
        if coding_system == ATC and not ATC_ANY_LEVEL.match(code):
            yield f"{path}: {code!r} is not an ATC code"
    yield from _date_problems(resource, where)


def _codings(node: Any, path: str) -> Iterator[tuple[str, Json]]:
    if isinstance(node, Mapping):
        if "code" in node and ("system" in node or "display" in node):
            yield path, node
        for key, value in node.items():
            yield from _codings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _codings(item, f"{path}[{i}]")


def _date_problems(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _date_problems(item, f"{path}[{i}]")
        return
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if key == "entry" and path == "Bundle":
            continue  # entries are checked resource by resource
        here = f"{path}.{key}"
        if isinstance(value, str):
            pattern = _date_pattern(key)
            if pattern is not None and not pattern.match(value):
                yield f"{here}: {value!r} is not a valid FHIR {_PATTERN_NAMES[pattern]}"
        else:
            yield from _date_problems(value, here)


_PATTERN_NAMES = {DATE: "date", DATE_TIME: "dateTime", INSTANT: "instant"}


def _date_pattern(key: str) -> re.Pattern[str] | None:
    if key in DATE_ELEMENTS:
        return DATE
    if key in INSTANT_ELEMENTS or key.endswith("Instant"):
        return INSTANT
    if key in DATE_TIME_ELEMENTS or key.endswith("DateTime"):
        return DATE_TIME
    return None


def _loinc(concept: Any, where: str, expected: str | None = None) -> Iterator[str]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    loinc = [c for c in codings or [] if c.get("system") == LOINC]
    if not loinc:
        yield f"{where} has no coding with system {LOINC}"
    elif expected is not None and all(c.get("code") != expected for c in loinc):
        yield f"{where} is not LOINC {expected}"


def _section_code_problems(concept: Any, where: str) -> Iterator[str]:
    """An IPS section is coded in LOINC; a section of the document's own (R4 binds
    Composition.section.code by example only) needs a system and a code, in any code system."""
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    codes = {c.get("code") for c in codings or [] if isinstance(c, Mapping)}
    if codes & set(SECTION_ENTRY_TYPES) or not any(
        isinstance(c, Mapping) and c.get("system") and c.get("code") for c in codings or []
    ):
        yield from _loinc(concept, where)


def _is_xhtml_div(div: Any) -> bool:
    # Parsed rather than matched: the root may quote its xmlns either way (both are XML).
    try:
        return isinstance(div, str) and ElementTree.fromstring(div).tag == XHTML_DIV
    except ElementTree.ParseError:
        return False


def _section_code(section: Json) -> str | None:
    for coding in (section.get("code") or {}).get("coding") or []:
        if coding.get("system") == LOINC:
            return str(coding.get("code"))
    return None


def _target(index: BundleIndex, reference: Any) -> int | None:
    """The entry a Composition-level reference names (the Composition is entry 0)."""
    if not isinstance(reference, Mapping) or not isinstance(reference.get("reference"), str):
        return None
    return index.resolve_index(reference["reference"], 0)
