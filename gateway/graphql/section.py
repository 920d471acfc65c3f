"""What every section of the summary says about itself: complete, partial or unavailable, and why.

The rule a clinician relies on: an empty list means "none recorded" and nothing else. When a
search behind a list failed, that list is ``null`` and a GraphQL error with the source's code
stands at its path; the section's ``status`` and ``emptyReason`` say the same in data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import Any

import strawberry

from gateway.access.policy import AccessDenied, Restricted
from gateway.upstream.fan_out import Fetched, SearchOutcome


@strawberry.enum(
    description="The registries the summary is gathered from: PRESCRIPTIONS (Reseptformidleren, "
    "the national e-prescription hub), GP_REGISTRY (Fastlegeregisteret), VISIT_HISTORY (Norsk "
    "pasientregister: hospital visits, time and place), DOCUMENTS (clinical documents shared by "
    "the health trusts), LAB_RESULTS (laboratory results, Covid-19 tests among them), "
    "CORE_RECORD (the summary care record itself: the patient, critical information, the "
    "patient's own registrations)."
)
class SourceName(Enum):
    # The values are the sources' names in settings (GATEWAY_SOURCES__<NAME>__…).
    PRESCRIPTIONS = "prescriptions"
    GP_REGISTRY = "gp_registry"
    VISIT_HISTORY = "visit_history"
    DOCUMENTS = "documents"
    LAB_RESULTS = "lab_results"
    CORE_RECORD = "core_record"


@strawberry.enum(description="How complete a section is.")
class SectionStatus(Enum):
    COMPLETE = strawberry.enum_value(
        "COMPLETE", description="Everything the source holds for the patient is here."
    )
    PARTIAL = strawberry.enum_value(
        "PARTIAL",
        description="Some of it is here: a part of the section's source failed (that part is "
        "null, with an error at its path), or the result was cut at the page cap.",
    )
    UNAVAILABLE = strawberry.enum_value(
        "UNAVAILABLE",
        description="The source could not be read: nothing here may be taken as 'none recorded'.",
    )
    RESTRICTED = strawberry.enum_value(
        "RESTRICTED",
        description="The patient has restricted this section. It was not fetched; it opens "
        "with the access basis CONSENT or EMERGENCY. Its lists are null with a RESTRICTED error.",
    )
    FORBIDDEN = strawberry.enum_value(
        "FORBIDDEN",
        description="Your role or authorisation does not include this section. It was not "
        "fetched; its lists are null with a FORBIDDEN error.",
    )
    STALE = strawberry.enum_value(
        "STALE",
        description="The source could not be read just now, so the gateway's last copy is shown "
        "(no part failed outright): it is staleAgeSeconds old, and may have changed since.",
    )


@strawberry.enum(description="Why a section holds no entries.")
class EmptyReason(Enum):
    NONE_RECORDED = strawberry.enum_value(
        "NONE_RECORDED", description="The source answered and holds nothing for this patient."
    )
    SOURCE_UNAVAILABLE = strawberry.enum_value(
        "SOURCE_UNAVAILABLE",
        description="Some or all of the source could not be read; the absence means nothing.",
    )
    WITHHELD = strawberry.enum_value(
        "WITHHELD",
        description="The section was withheld (status RESTRICTED or FORBIDDEN) and not fetched; "
        "the absence means nothing.",
    )


@strawberry.enum(description="How one upstream search went.")
class SearchStatus(Enum):
    OK = strawberry.enum_value("OK", description="Every page was read.")
    TRUNCATED = strawberry.enum_value(
        "TRUNCATED", description="Stopped at the configured page cap; more entries exist."
    )
    FAILED = strawberry.enum_value("FAILED", description="No usable answer; see errorCode.")
    STALE = strawberry.enum_value(
        "STALE",
        description="The source failed (see errorCode); an older cached answer was used instead "
        "(see ageSeconds).",
    )


@strawberry.type(description="One upstream FHIR search made for this request.")
class SourceOutcome:
    source: SourceName = strawberry.field(description="The registry asked.")
    resource_type: str = strawberry.field(description="The FHIR resource type searched.")
    status: SearchStatus = strawberry.field(description="How the search went.")
    error_code: str | None = strawberry.field(
        description="The error's stable code when it failed or was served stale "
        "(SOURCE_UNAVAILABLE, SOURCE_TIMEOUT, SOURCE_BAD_RESPONSE, SOURCE_CIRCUIT_OPEN, "
        "SOURCE_BUSY, SOURCE_INCOMPLETE, SOURCE_WRONG_PATIENT, SOURCE_FILTER_IGNORED, "
        "SOURCE_AMBIGUOUS_PATIENT, SOURCE_AUTH_FAILED)."
    )
    fetched_at: dt.datetime = strawberry.field(
        description="When the answer was fetched from the registry (for a cached answer, when "
        "it was cached; else when the search was started)."
    )
    duration_ms: float = strawberry.field(description="How long it took, in milliseconds.")
    pages: int = strawberry.field(description="Bundle pages read.")
    entries: int = strawberry.field(description="Matching resources received.")
    from_cache: bool = strawberry.field(
        description="Answered from the gateway's cache instead of the registry."
    )
    age_seconds: float | None = strawberry.field(
        description="How old a cached answer was when served, in seconds. Null when live."
    )

    @classmethod
    def of(cls, outcome: SearchOutcome) -> SourceOutcome:
        """The GraphQL view of a search outcome."""
        failure = outcome.error or outcome.stale_after
        if outcome.error is not None:
            status = SearchStatus.FAILED
        elif outcome.stale_after is not None:
            status = SearchStatus.STALE
        elif outcome.truncated:
            status = SearchStatus.TRUNCATED
        else:
            status = SearchStatus.OK
        return cls(
            source=SourceName(outcome.source),
            resource_type=outcome.resource_type,
            status=status,
            error_code=failure.code if failure else None,
            fetched_at=outcome.fetched_at,
            duration_ms=round(outcome.duration_ms, 3),
            pages=outcome.pages,
            entries=outcome.entries,
            from_cache=outcome.from_cache,
            age_seconds=_rounded(outcome.age_s),
        )


@strawberry.interface(description="What every section of the summary says about itself.")
class Section:
    status: SectionStatus = strawberry.field(
        description="Complete, partial, stale, unavailable, or withheld (restricted, forbidden)."
    )
    empty_reason: EmptyReason | None = strawberry.field(
        description="Set only when the section holds no entries: why. Null when it has entries."
    )
    source: SourceName = strawberry.field(description="The registry the section comes from.")
    fetched_at: dt.datetime | None = strawberry.field(
        description="When the section's data was fetched from its registry."
    )
    duration_ms: float | None = strawberry.field(
        description="How long the slowest search behind the section took, in milliseconds."
    )
    _outcomes: strawberry.Private[list[SearchOutcome]]
    from_cache: bool = strawberry.field(
        description="Some of the section was answered from the gateway's cache."
    )
    stale_age_seconds: float | None = strawberry.field(
        description="Age in seconds of the oldest part served stale because its source failed; "
        "null when nothing is stale."
    )

    @strawberry.field(description="Each upstream search behind this section and how it went.")
    def searches(self) -> list[SourceOutcome]:
        # Made when asked for: most queries do not select it.
        return [SourceOutcome.of(outcome) for outcome in self._outcomes]


def section_fields(
    source: SourceName, parts: Sequence[Fetched[Any]], entry_count: int
) -> dict[str, Any]:
    """The ``Section`` fields for a section built from ``parts`` holding ``entry_count`` entries."""
    denial = next(
        (p.outcome.error for p in parts if isinstance(p.outcome.error, AccessDenied)), None
    )
    if denial is not None:
        restricted = isinstance(denial, Restricted)
        withheld = SectionStatus.RESTRICTED if restricted else SectionStatus.FORBIDDEN
        return {
            "status": withheld,
            "empty_reason": EmptyReason.WITHHELD,
            "source": source,
            "fetched_at": None,
            "duration_ms": None,
            "_outcomes": [],
            "from_cache": False,
            "stale_age_seconds": None,
        }
    failed = sum(1 for part in parts if part.outcome.error is not None)
    truncated = any(part.outcome.truncated for part in parts)
    stale_ages = [p.outcome.stale_age_s for p in parts if p.outcome.stale_age_s is not None]
    if failed == len(parts):
        status = SectionStatus.UNAVAILABLE
    elif failed:
        status = SectionStatus.PARTIAL
    elif stale_ages:
        # Old beats cut short: the nurse must first learn the data may have changed.
        status = SectionStatus.STALE
    elif truncated:
        status = SectionStatus.PARTIAL
    else:
        status = SectionStatus.COMPLETE
    empty_reason: EmptyReason | None = None
    if entry_count == 0:
        empty_reason = EmptyReason.NONE_RECORDED if not failed else EmptyReason.SOURCE_UNAVAILABLE
    outcomes = [part.outcome for part in parts]
    return {
        "status": status,
        "empty_reason": empty_reason,
        "source": source,
        "fetched_at": min((o.fetched_at for o in outcomes), default=None),
        "duration_ms": round(max((o.duration_ms for o in outcomes), default=0.0), 3),
        "_outcomes": outcomes,
        "from_cache": any(o.from_cache for o in outcomes),
        "stale_age_seconds": _rounded(max(stale_ages, default=None)),
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def count(*parts: Fetched[Sequence[Any]] | Fetched[Any]) -> int:
    """Entries across the parts that arrived (failed parts count as none)."""
    total = 0
    for part in parts:
        value = part.value
        if isinstance(value, Sequence):
            total += len(value)
        elif value is not None:
            total += 1
    return total
