"""The IPS document: a FHIR R4 ``Bundle`` of type ``document`` built from one gathered summary.

Sections, in the order IPS lists them, then the Kjernejournal's own (docs/ips.md maps each to
its GraphQL section):

=====================  ==========  =========================================================
Section                Code        Entries
=====================  ==========  =========================================================
Medication summary     10160-0     MedicationStatement per medication-list row, each
                                   ``derivedFrom`` its MedicationRequests and
                                   MedicationDispenses (also in the Bundle)
Allergies              48765-2     AllergyIntolerance
Problem list           11450-4     Condition (critical conditions)
History of procedures  47519-4     Procedure (ongoing treatment, procedure changes)
Medical devices        46264-8     DeviceUseStatement (each with its Device)
Diagnostic results     30954-2     DiagnosticReport (with its Observations), and
                                   Observations reported outside any report
Alerts                 104605-1    Flag (other critical warnings)
Care team              85847-2     PractitionerRole of the regular GP
Hospital visits        46240-8     Encounter (time and place only)
Clinical documents     (own code)  DocumentReference (metadata; content is a separate read)
Own registrations      (own code)  RelatedPerson, Condition asserted by the patient, Flag
=====================  ==========  =========================================================

Every section says how complete it is, as the GraphQL section does: ``emptyReason`` exactly
when it has no entries (``nilknown`` none recorded, ``withheld`` restricted or outside the
caller's role, ``unavailable`` its registry could not be read), an extension with the section's
status (complete, partial, stale, unavailable, restricted, forbidden), the age of stale data,
and an ``OperationOutcome`` naming each registry search that failed or was served stale.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.access.policy import AccessDenied
from gateway.graphql.context import Context
from gateway.graphql.section import SectionStatus, SourceName, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.ips.profile import BASE, GATEWAY_ERRORS
from gateway.ips.route import SummaryDocument
from gateway.upstream.fan_out import Fetched, SearchOutcome
from resolvers.ips import narrative as html
from resolvers.ips import resources
from resolvers.ips.datatypes import LOINC, compact, date_time
from resolvers.ips.entries import Entries
from resolvers.ips.gather import SummaryParts, gather_summary

Reference = dict[str, Any]

SECTION_CODES = f"{BASE}/CodeSystem/summary-section"
SECTION_STATUS = f"{BASE}/StructureDefinition/section-status"
SECTION_STALE_AGE = f"{BASE}/StructureDefinition/section-stale-age"
SECTION_OUTCOME = f"{BASE}/StructureDefinition/section-outcome"
SECTION_SOURCE = f"{BASE}/StructureDefinition/section-source"
EMPTY_REASONS = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

_SOURCE_NAMES = {
    SourceName.PRESCRIPTIONS: "the prescription hub (Reseptformidleren)",
    SourceName.GP_REGISTRY: "the GP registry (Fastlegeregisteret)",
    SourceName.VISIT_HISTORY: "the patient register (NPR)",
    SourceName.DOCUMENTS: "the document sharing service",
    SourceName.LAB_RESULTS: "the laboratory results service",
    SourceName.CORE_RECORD: "the core record (Kjernejournal)",
}
_EMPTY_TEXT = {
    "nilknown": "None recorded.",
    "withheld": "Withheld: {why}. Nothing here may be read as 'none recorded'.",
    "unavailable": "Unavailable: {source} could not be read. Nothing here may be read as 'none "
    "recorded'.",
}
_EMPTY_DISPLAY = {
    "nilknown": "Nil Known",
    "withheld": "Information Withheld",
    "unavailable": ("Unavailable"),
}


@dataclass(slots=True)
class Completeness:
    """How complete one IPS section is, from the searches behind it (as GraphQL says it)."""

    source: SourceName
    status: SectionStatus
    outcomes: list[SearchOutcome]
    stale_age_s: float | None

    @classmethod
    def of_parts(cls, source: SourceName, parts: Sequence[Fetched[Any]]) -> Completeness:
        found = section_fields(source, parts, 1)
        return cls(source, found["status"], found["_outcomes"], found["stale_age_seconds"])

    @property
    def failed(self) -> list[SearchOutcome]:
        return [o for o in self.outcomes if o.error is not None]

    def empty_reason(self) -> str:
        """Why a section with no entries has none."""
        if self.status in (SectionStatus.RESTRICTED, SectionStatus.FORBIDDEN):
            return "withheld"
        return "unavailable" if self.failed else "nilknown"


@dataclass(slots=True)
class SectionContent:
    """One section before it is written: its entries and its words."""

    code: tuple[str, str, str]
    title: str
    completeness: Completeness
    entries: list[Reference] = field(default_factory=list)
    headers: Sequence[str] = ()
    rows: list[Sequence[object]] = field(default_factory=list)


def _of(section: Any) -> Completeness:
    """The completeness of a whole GraphQL section (its Section fields)."""
    return Completeness(
        section.source, section.status, list(section._outcomes), section.stale_age_seconds
    )


def _value(fetched: Fetched[Any], pick: Callable[[Any], Any] | None = None) -> list[Any]:
    """The items a search gave, or none when it failed or was withheld (its completeness then
    says why)."""
    if fetched.value is None:
        return []
    return list(pick(fetched.value) if pick is not None else fetched.value)


def _words(*values: object) -> str:
    return " / ".join(str(v) for v in values if v not in (None, ""))


class DocumentBuilder:
    """Builds one document; each ``_section`` method adds its entries and returns its content."""

    def __init__(self, parts: SummaryParts, now: dt.datetime, document_id: uuid.UUID) -> None:
        self.parts = parts
        self.now = now
        self.document_id = document_id
        self.entries = Entries(document_id)
        self.subject: Reference = {"reference": self.entries.url("Patient")}

    def build(self, gateway_version: str) -> dict[str, Any]:
        parts = self.parts
        self._add_patient()
        author = self.entries.add(
            "Device/gateway",
            compact(
                {
                    "resourceType": "Device",
                    "deviceName": [{"name": "summary-gateway", "type": "model-name"}],
                    "version": [{"value": gateway_version}],
                }
            ),
        )
        sections = [
            self._medications(),
            self._allergies(),
            self._problems(),
            self._procedures(),
            self._devices(),
            self._results(),
            self._alerts(),
            self._care_team(),
            self._visits(),
            self._documents(),
            self._own_registrations(),
        ]
        composition = {
            "resourceType": "Composition",
            "id": self.entries.url("Composition")[9:],
            "status": "final",
            "type": {
                "coding": [
                    {"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}
                ]
            },
            "subject": self.subject,
            "date": self._instant(),
            "author": [author],
            "title": "Patient summary",
            # Restricted ("R") when it holds a section the patient restricted, opened on
            # consent or in an emergency; else normal health data ("N").
            "confidentiality": "R" if parts.restricted_opened else "N",
            "section": [self._written(section) for section in sections],
        }
        entries = [
            {"fullUrl": self.entries.url("Composition"), "resource": composition},
            *self.entries.bundle_entries(),
        ]
        return {
            "resourceType": "Bundle",
            "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{self.document_id}"},
            "type": "document",
            "timestamp": self._instant(),
            "entry": entries,
        }

    def _add_patient(self) -> None:
        """The subject, first after the Composition. Languages and the need of an interpreter
        are the patient's own registrations: shown only when that section was opened, and the
        GP only when the GP registry's section was."""
        parts = self.parts
        core = parts.demographics._patient.value
        own = parts.own_registrations
        registered = own._patient.value if _open(_of(own)) else None
        gp = self.entries.url("PractitionerRole/gp")
        self.entries.add(
            "Patient",
            resources.patient(
                parts.nin,
                core.details if core is not None else None,
                registered.languages if registered is not None else [],
                registered.interpreter_required if registered is not None else None,
                [{"reference": gp}] if parts.general_practitioner._gp.value is not None else [],
            ),
        )

    def _instant(self) -> str:
        return self.now.isoformat(timespec="seconds").replace("+00:00", "Z")

    # Writing one section

    def _written(self, content: SectionContent) -> dict[str, Any]:
        system, code, display = content.code
        state = content.completeness
        extensions: list[dict[str, Any]] = [
            {"url": SECTION_STATUS, "valueCode": state.status.name.lower()},
            {"url": SECTION_SOURCE, "valueCode": state.source.value},
        ]
        if state.stale_age_s is not None:
            extensions.append(
                {
                    "url": SECTION_STALE_AGE,
                    "valueDuration": {
                        "value": state.stale_age_s,
                        "unit": "s",
                        "system": "http://unitsofmeasure.org",
                        "code": "s",
                    },
                }
            )
        outcome = self._outcome(content)
        if outcome is not None:
            extensions.append({"url": SECTION_OUTCOME, "valueReference": outcome})
        section: dict[str, Any] = {
            "title": content.title,
            "code": {"coding": [{"system": system, "code": code, "display": display}]},
            "extension": extensions,
            "text": {"status": "generated", "div": self._narrative(content)},
        }
        if content.entries:
            section["entry"] = content.entries
        else:
            reason = state.empty_reason()
            section["emptyReason"] = {
                "coding": [
                    {"system": EMPTY_REASONS, "code": reason, "display": _EMPTY_DISPLAY[reason]}
                ]
            }
        return section

    def _narrative(self, content: SectionContent) -> str:
        state = content.completeness
        notes: list[str] = []
        if state.status is SectionStatus.STALE:
            age = round(state.stale_age_s or 0)
            notes.append(
                f"Stale: {_SOURCE_NAMES[state.source]} could not be read just now; this is the "
                f"gateway's copy from {age} s ago and may have changed since."
            )
        elif state.status is SectionStatus.PARTIAL:
            notes.append(
                f"Partial: part of {_SOURCE_NAMES[state.source]} could not be read, or the "
                "answer was cut short; entries may be missing."
            )
        if content.rows:
            body = html.table(content.headers, content.rows)
        else:
            reason = state.empty_reason()
            why = (
                "the patient has restricted this section"
                if state.status is SectionStatus.RESTRICTED
                else "your role does not include this section"
            )
            body = html.paragraph(
                _EMPTY_TEXT[reason].format(why=why, source=_SOURCE_NAMES[state.source])
            )
        return html.div(*(html.paragraph(n) for n in notes), body)

    def _outcome(self, content: SectionContent) -> Reference | None:
        """An OperationOutcome naming each search behind the section that failed or was
        served stale; None when every one answered."""
        state = content.completeness
        issues = []
        for found in state.outcomes:
            if found.error is not None and not isinstance(found.error, AccessDenied):
                severity = "error" if not content.entries else "warning"
                issues.append(self._issue(severity, "transient", found, found.error.code))
            elif found.stale_after is not None:
                age = round(found.stale_age_s or 0)
                issues.append(
                    self._issue(
                        "warning", "informational", found, found.stale_after.code, f", {age} s old"
                    )
                )
            elif found.truncated:
                issues.append(self._issue("warning", "incomplete", found, "SOURCE_TRUNCATED"))
        if not issues:
            return None
        key = f"OperationOutcome/{content.code[1]}"
        return self.entries.add(key, {"resourceType": "OperationOutcome", "issue": issues})

    @staticmethod
    def _issue(
        severity: str, kind: str, found: SearchOutcome, code: str, more: str = ""
    ) -> dict[str, Any]:
        source = SourceName(found.source)
        return {
            "severity": severity,
            "code": kind,
            "details": {
                "coding": [{"system": GATEWAY_ERRORS, "code": code}],
                "text": f"{_SOURCE_NAMES[source]}: {found.resource_type} search, {code}{more}",
            },
            "diagnostics": f"source={source.value} resourceType={found.resource_type}",
        }

    # The sections

    def _medications(self) -> SectionContent:
        parts = self.parts
        prescriptions = _value(parts.medications._prescriptions)
        dispensings = _value(parts.medications._dispensings)
        for item in prescriptions:
            self.entries.add(
                f"MedicationRequest/{item.id}", resources.medication_request(item, self.subject)
            )
        for item in dispensings:
            authorising = (
                self.entries.reference(f"MedicationRequest/{item.prescription_id}")
                if item.prescription_id
                else None
            )
            self.entries.add(
                f"MedicationDispense/{item.id}",
                resources.medication_dispense(item, self.subject, authorising),
            )
        content = SectionContent(
            ("http://loinc.org", "10160-0", "History of Medication use Narrative"),
            "Medication summary",
            _of(parts.medication_list),
            headers=("Medicine", "ATC", "Status", "Last dispensed", "Flags", "Dosage"),
        )
        for index, row in enumerate(parts.medication_list._rows or []):
            derived = [
                ref
                for ref in (
                    *(
                        self.entries.reference(f"MedicationRequest/{i}")
                        for i in row.prescription_ids
                    ),
                    *(
                        self.entries.reference(f"MedicationDispense/{i}")
                        for i in row.dispensing_ids
                    ),
                )
                if ref is not None
            ]
            statement = resources.medication_statement(row, self.subject, derived)
            content.entries.append(self.entries.add(f"MedicationStatement/{index}", statement))
            last = row.last_dispensing
            content.rows.append(
                (
                    row.medication.name or row.medication.substance,
                    row.medication.atc_code,
                    statement["status"],
                    date_time(last.dispensed_at) if last else None,
                    ", ".join(f.name for f in row.flags),
                    next((p.dosage for p in row.active_prescriptions if p.dosage), None),
                )
            )
        return content

    def _critical(
        self, part: Fetched[Any], pick: Callable[[Any], Any] | None = None
    ) -> tuple[list[Any], Completeness]:
        return _value(part, pick), Completeness.of_parts(SourceName.CORE_RECORD, [part])

    def _allergies(self) -> SectionContent:
        items, state = self._critical(self.parts.critical_information._allergies)
        content = SectionContent(
            (LOINC, "48765-2", "Allergies and adverse reactions Document"),
            "Allergies and intolerances",
            state,
            headers=("Agent", "Reaction", "Criticality", "Verification", "Status"),
        )
        for item in items:
            content.entries.append(
                self.entries.add(
                    f"AllergyIntolerance/{item.id}", resources.allergy(item, self.subject)
                )
            )
            content.rows.append(
                (
                    item.agent.display if item.agent else None,
                    item.reaction,
                    item.criticality.value if item.criticality else None,
                    item.verification.value if item.verification else None,
                    item.clinical_status.value if item.clinical_status else None,
                )
            )
        return content

    def _problems(self) -> SectionContent:
        items, state = self._critical(
            self.parts.critical_information._conditions, lambda v: v.critical
        )
        content = SectionContent(
            (LOINC, "11450-4", "Problem list - Reported"),
            "Problem list",
            state,
            headers=("Condition", "Code", "Status", "Note"),
        )
        for item in items:
            content.entries.append(
                self.entries.add(f"Condition/{item.id}", resources.condition(item, self.subject))
            )
            content.rows.append(
                (
                    item.description or (item.condition.display if item.condition else None),
                    item.condition.code if item.condition else None,
                    item.clinical_status.value if item.clinical_status else None,
                    item.note,
                )
            )
        return content

    def _procedures(self) -> SectionContent:
        items, state = self._critical(self.parts.critical_information._treatments)
        content = SectionContent(
            (LOINC, "47519-4", "History of Procedures Document"),
            "History of procedures",
            state,
            headers=("Treatment", "Status", "Started", "Note"),
        )
        for item in items:
            content.entries.append(
                self.entries.add(f"Procedure/{item.id}", resources.procedure(item, self.subject))
            )
            content.rows.append((item.description, item.status, date_time(item.started), item.note))
        return content

    def _devices(self) -> SectionContent:
        items, state = self._critical(self.parts.critical_information._implants)
        content = SectionContent(
            (LOINC, "46264-8", "History of medical device use"),
            "Medical devices",
            state,
            headers=("Implant", "Implanted", "Note"),
        )
        for item in items:
            implant = self.entries.add(f"Device/{item.id}", resources.device(item, self.subject))
            content.entries.append(
                self.entries.add(
                    f"DeviceUseStatement/{item.id}",
                    resources.device_use(item, self.subject, implant),
                )
            )
            content.rows.append((item.device, date_time(item.implanted_at), item.note))
        return content

    def _alerts(self) -> SectionContent:
        items, state = self._critical(self.parts.critical_information._flags, lambda v: v.warnings)
        content = SectionContent(
            (LOINC, "104605-1", "Alert"), "Alerts", state, headers=("Kind", "Warning", "Since")
        )
        for item in items:
            content.entries.append(
                self.entries.add(f"Flag/{item.id}", resources.flag(item, self.subject))
            )
            content.rows.append((item.category, item.description, date_time(item.since)))
        return content

    def _results(self) -> SectionContent:
        section = self.parts.lab_results
        content = SectionContent(
            (LOINC, "30954-2", "Relevant diagnostic tests/laboratory data Narrative"),
            "Diagnostic results",
            _of(section),
            headers=("Test", "Result", "Reference range", "Interpretation", "Taken"),
        )
        for report in _value(section._reports):
            results = []
            for result in report.results:
                results.append(
                    self.entries.add(
                        f"Observation/{result.id}", resources.observation(result, self.subject)
                    )
                )
                content.rows.append(self._result_row(result))
            content.entries.append(
                self.entries.add(
                    f"DiagnosticReport/{report.id}",
                    resources.diagnostic_report(report, self.subject, results),
                )
            )
        for result in _value(section._unreported):
            content.entries.append(
                self.entries.add(
                    f"Observation/{result.id}", resources.observation(result, self.subject)
                )
            )
            content.rows.append(self._result_row(result))
        return content

    @staticmethod
    def _result_row(result: Any) -> tuple[object, ...]:
        value = result.value
        shown = (
            _words(value.value, value.unit)
            if value is not None and value.value is not None
            else None
        )
        reference = result.reference_range
        return (
            result.test.display or result.test.code,
            shown or result.value_text or result.data_absent_reason,
            reference.text if reference is not None else None,
            result.interpretation_text
            or (result.interpretation.name.lower() if result.interpretation else None),
            date_time(result.effective_at),
        )

    def _care_team(self) -> SectionContent:
        section = self.parts.general_practitioner
        content = SectionContent(
            (LOINC, "85847-2", "Patient Care team information"),
            "Regular general practitioner",
            _of(section),
            headers=("GP", "HPR number", "Office", "Phone", "Since", "Until"),
        )
        gp = section._gp.value
        if gp is not None:
            doctor = self.entries.add("Practitioner/gp", resources.practitioner(gp))
            office_resource = resources.gp_office(gp)
            office = (
                self.entries.add("Organization/gp-office", office_resource)
                if office_resource is not None
                else None
            )
            content.entries.append(
                self.entries.add("PractitionerRole/gp", resources.gp_role(gp, doctor, office))
            )
            content.rows.append(
                (
                    gp.name,
                    gp.hpr_number,
                    gp.office.name if gp.office else None,
                    gp.phone or (gp.office.phone if gp.office else None),
                    gp.since,
                    gp.until,
                )
            )
        return content

    def _visits(self) -> SectionContent:
        section = self.parts.visit_history
        content = SectionContent(
            (LOINC, "46240-8", "History of Hospitalizations+Outpatient visits Narrative"),
            "Hospital visits",
            _of(section),
            headers=("Kind", "Start", "End", "Institution", "Department", "Reported as wrong"),
        )
        for item in _value(section._visits):
            content.entries.append(
                self.entries.add(f"Encounter/{item.id}", resources.encounter(item, self.subject))
            )
            content.rows.append(
                (
                    item.kind.name.lower().replace("_", " "),
                    date_time(item.start),
                    date_time(item.end),
                    item.institution.name if item.institution else None,
                    item.department,
                    "yes" if item.reported_as_wrong else "",
                )
            )
        return content

    def _documents(self) -> SectionContent:
        section = self.parts.documents
        content = SectionContent(
            (SECTION_CODES, "documents", "Clinical documents"),
            "Clinical documents",
            _of(section),
            headers=("Title", "Kind", "Date", "Status", "Custodian"),
        )
        for item in _value(section._documents):
            content.entries.append(
                self.entries.add(
                    f"DocumentReference/{item.id}",
                    resources.document_reference(item, self.subject),
                )
            )
            content.rows.append(
                (
                    item.title,
                    item.kind.name.lower().replace("_", " "),
                    date_time(item.date),
                    item.status.name.lower(),
                    item.custodian,
                )
            )
        return content

    def _own_registrations(self) -> SectionContent:
        section = self.parts.own_registrations
        content = SectionContent(
            (SECTION_CODES, "own-registrations", "The patient's own registrations"),
            "The patient's own registrations",
            _of(section),
            headers=("Kind", "What", "Detail"),
        )
        for kin in _value(section._related):
            content.entries.append(
                self.entries.add(
                    f"RelatedPerson/{kin.id}", resources.related_person(kin, self.subject)
                )
            )
            content.rows.append(
                ("Next of kin", kin.name, _words(kin.relationship_display, kin.phone))
            )
        core = section._patient.value
        if core is not None and (core.languages or core.interpreter_required):
            # Languages and the need of an interpreter are the Patient's own elements.
            content.entries.append(self.subject)
            languages = ", ".join(
                language.name or language.code or "" for language in core.languages
            )
            interpreter = {True: "interpreter required", False: "no interpreter needed"}
            content.rows.append(
                ("Languages", languages, interpreter.get(core.interpreter_required or False))
            )
        needs = _value(section._flags, lambda v: v.communication_needs)
        for need in needs:
            content.entries.append(
                self.entries.add(
                    f"Flag/need/{need.id}", resources.communication_need(need, self.subject)
                )
            )
            content.rows.append(("Communication need", need.description, date_time(need.since)))
        for condition in _value(section._conditions, lambda v: v.self_reported):
            content.entries.append(
                self.entries.add(
                    f"Condition/self/{condition.id}",
                    resources.self_reported(condition, self.subject),
                )
            )
            content.rows.append(
                ("Self-reported disease", condition.description, date_time(condition.recorded_at))
            )
        return content


def _open(state: Completeness) -> bool:
    """Whether a section was opened (its data may be shown), whatever its registry answered."""
    return state.status not in (SectionStatus.RESTRICTED, SectionStatus.FORBIDDEN)


def is_whole(document: dict[str, Any]) -> bool:
    """Whether every section of a document is complete (or served stale): for the request's
    outcome in logs and metrics (``partial`` otherwise, as a GraphQL answer with errors)."""
    return all(
        extension["valueCode"] in ("complete", "stale")
        for section in document["entry"][0]["resource"]["section"]
        for extension in section["extension"]
        if extension["url"] == SECTION_STATUS
    )


def build_document(
    parts: SummaryParts, gateway_version: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The IPS document for ``parts``, with a new document id."""
    builder = DocumentBuilder(parts, now or dt.datetime.now(dt.UTC), uuid.uuid4())
    return builder.build(gateway_version)


async def summary_document(
    ctx: Context, nin: NationalIdentityNumber, *, gateway_version: str
) -> SummaryDocument | None:
    """``nin``'s summary as an IPS document; None when the core record knows no such patient.
    What ``Patient/$summary`` (``gateway/ips/route.py``) serves."""
    parts = await gather_summary(ctx, nin)
    if parts is None:
        return None
    document = build_document(parts, gateway_version)
    return SummaryDocument(document, is_whole(document))
