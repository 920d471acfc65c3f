"""FHIR search as the registries answer it: the patient, paging, ``_include``, date filters.

A registry declares one ``SearchSpec`` per resource type it serves. The patient is named the
standard R4 ways, exactly one per search: by reference (``subject=Patient/<id>``, several ids
comma-separated, or ``subject:Patient=<id>``), chained
(``subject:Patient.identifier=system|value``), or by the identifier written inside the
reference (``subject:identifier=system|value``, the Norwegian registries' dialect). ``Patient``
itself is searched by ``identifier`` or ``_id``. Parameters outside the spec are rejected with
400 (strict handling), so a client that drifts from docs/fhir-profile.md notices.

That is the default ``dialect`` mode; ``search`` also answers as the other servers of
``mocks/modes.py`` do (a plain R4 server writing patient references by id and ignoring unknown
parameters, one ignoring ``_include``, one ignoring the patient, a strict one).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from multidict import MultiDict, MultiMapping
from yarl import URL

from mocks.datatypes import OSLO, Resource
from mocks.fhir import SearchPage
from mocks.identity_numbers import number, read
from mocks.modes import DIALECT, Mode, ServerMode
from mocks.population import Population
from mocks.record import PatientRecord

DEFAULT_COUNT = 20
MAX_COUNT = 100
PAGE_PARAM = "_offset"

Interval = tuple[dt.datetime, dt.datetime | None]
"""When a resource happened: start and end (None: still going on)."""


class SearchError(Exception):
    """The search request is malformed; answered with 400 and an OperationOutcome."""

    def __init__(self, diagnostics: str, code: str = "invalid") -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.code = code


def references_at(*paths: str) -> Callable[[Resource], list[str]]:
    """Literal references found at dotted ``paths`` (lists are walked), for ``_include``."""

    def collect(resource: Resource) -> list[str]:
        found: list[str] = []
        for path in paths:
            values: list[object] = [resource]
            for step in path.split("."):
                values = [
                    item
                    for value in values
                    if isinstance(value, dict)
                    for item in _as_list(value.get(step))
                ]
            found += [v for v in values if isinstance(v, str)]
        return found

    return collect


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def period_interval(resource: Resource) -> Interval:
    """``period`` as an interval (Encounter's ``date``)."""
    period = resource["period"]
    end = period.get("end")
    return _parse_moment(period["start"]), None if end is None else _parse_moment(end)


def status_of(resource: Resource) -> str | None:
    """``status`` (a token search parameter: ``Consent?status=active``)."""
    status = resource.get("status")
    return status if isinstance(status, str) else None


def last_updated_interval(resource: Resource) -> Interval:
    """``meta.lastUpdated`` as a point in time."""
    moment = _parse_moment(resource["meta"]["lastUpdated"])
    return moment, moment


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """How a registry answers ``GET [base]/<resource_type>?<patient_param>=system|value&…``."""

    resource_type: str
    patient_param: str
    includes: Mapping[str, Callable[[Resource], list[str]]] = field(default_factory=dict)
    date_params: Mapping[str, Callable[[Resource], Interval]] = field(default_factory=dict)
    token_params: Mapping[str, Callable[[Resource], str | None]] = field(default_factory=dict)
    """Code-valued parameters (``status``): a comma-separated value matches any of its codes."""
    iterate_includes: Mapping[str, Callable[[Resource], list[str]]] = field(default_factory=dict)
    """``_include:iterate`` targets, followed from what was already included."""
    present: Callable[[PatientRecord, Resource], Resource] | None = None
    """How a matching resource is shown (the GP registry's Patient names the GP relations)."""

    @property
    def reference_param(self) -> str:
        """The reference parameter naming the patient (``subject``, ``patient``); ``_id`` for
        ``Patient``."""
        return "_id" if self.resource_type == "Patient" else self.patient_param.partition(":")[0]

    def patient_params(self) -> set[str]:
        """The parameters that can name the patient (exactly one of them per search)."""
        if self.resource_type == "Patient":
            return {"identifier", "_id"}
        ref = self.reference_param
        return {ref, f"{ref}:Patient", f"{ref}:identifier", f"{ref}:Patient.identifier"}

    def allowed_params(self) -> set[str]:
        """Every query parameter this search accepts."""
        allowed = {
            *self.patient_params(),
            "_count",
            PAGE_PARAM,
            "_lastUpdated",
            *self.date_params,
            *self.token_params,
        }
        if self.includes:
            allowed.add("_include")
        if self.iterate_includes:
            allowed.add("_include:iterate")
        return allowed

    def capability_params(self) -> list[tuple[str, str]]:
        """(name, type) pairs for the CapabilityStatement."""
        patient = (
            [("identifier", "token"), ("_id", "token")]
            if self.resource_type == "Patient"
            else [(self.reference_param, "reference")]
        )
        return [
            *patient,
            ("_lastUpdated", "date"),
            *((p, "date") for p in self.date_params),
            *((p, "token") for p in self.token_params),
        ]


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """One page of results, and the parameters the server ignored and says so (``standard``)."""

    page: SearchPage
    ignored: tuple[str, ...] = ()


def search(
    spec: SearchSpec,
    query: MultiMapping[str],
    url: URL,
    population: Population,
    mode: ServerMode = DIALECT,
) -> SearchAnswer:
    """Run ``spec`` for the request ``url`` (its ``query``) against ``population``, the way a
    server in ``mode`` runs it (``mocks/modes.py``)."""
    kind = mode.mode
    applied, self_url, unknown = _applied(spec, query, url, mode)
    repeatable = {"_include", "_include:iterate", "_lastUpdated", *spec.date_params}
    for name in set(applied) - repeatable:
        if len(applied.getall(name)) > 1:
            raise SearchError(f"search parameter {name} may be given only once")
    named = sorted(spec.patient_params() & set(applied))
    if len(named) != 1 and kind is not Mode.WRONG_PATIENT:
        raise SearchError(
            f"the patient must be named once: {spec.resource_type}?{spec.reference_param}="
            "Patient/<id> (or one of " + ", ".join(sorted(spec.patient_params())) + ")",
            "required",
        )
    count = min(_non_negative_int(applied, "_count", DEFAULT_COUNT), MAX_COUNT)
    offset = _non_negative_int(applied, PAGE_PARAM, 0)
    includes, iterated = _includes(spec, applied)
    filters = [
        (spec.date_params[name], _parse_comparison(name, value))
        for name in spec.date_params
        for value in applied.getall(name, [])
    ]
    filters += [
        (last_updated_interval, _parse_comparison("_lastUpdated", v))
        for v in applied.getall("_lastUpdated", [])
    ]

    codes = [
        (spec.token_params[name], frozenset(applied[name].split(",")))
        for name in spec.token_params
        if name in applied
    ]

    records = (
        _patient_records(named[0], applied[named[0]], population, mode) if len(named) == 1 else []
    )
    if kind is Mode.WRONG_PATIENT:
        records += _another_patient(records, population, spec.resource_type)
    candidates = [
        (record, resource) for record in records for resource in record.of_type(spec.resource_type)
    ]
    matches = [
        (record, r)
        for record, r in candidates
        if all(_satisfies(interval_of(r), cmp) for interval_of, cmp in filters)
        and all(code_of(r) in wanted for code_of, wanted in codes)
    ]
    page = matches[offset : offset + count]
    next_url = None
    if count and offset + count < len(matches):
        next_url = str(
            self_url.update_query({PAGE_PARAM: str(offset + count), "_count": str(count)})
        )
    shown = [(record, spec.present(record, r) if spec.present else r) for record, r in page]
    included: list[tuple[PatientRecord, Resource]] = []
    for record in records:
        own = [r for owner, r in shown if owner is record]
        found = _included(
            record,
            own,
            [spec.includes[name] for name in includes],
            [spec.iterate_includes[name] for name in iterated],
        )
        included += [(record, r) for r in found]
    if kind.references_by_id:
        shown = [(record, patient_by_id(record, r)) for record, r in shown]
        included = [(record, patient_by_id(record, r)) for record, r in included]
    return SearchAnswer(
        SearchPage(
            str(self_url),
            next_url,
            len(matches),
            [r for _, r in shown],
            [r for _, r in included],
        ),
        tuple(unknown) if kind is Mode.STANDARD else (),
    )


def _applied(
    spec: SearchSpec, query: MultiMapping[str], url: URL, mode: ServerMode
) -> tuple[MultiDict[str], URL, list[str]]:
    """The parameters a server in ``mode`` applies, its ``self`` link, and the unknown ones
    (which only ``standard`` and ``wrong-patient`` ignore; the others answer 400)."""
    kind = mode.mode
    unknown = sorted(set(query) - _known_params(spec, mode))
    if unknown and kind not in (Mode.STANDARD, Mode.WRONG_PATIENT):
        raise SearchError(
            f"unsupported search parameter(s) for {spec.resource_type}: {', '.join(unknown)}",
            "not-supported",
        )
    dropped = set(unknown)
    if kind is Mode.NO_INCLUDE:
        dropped |= {"_include", "_include:iterate"}
    applied: MultiDict[str] = MultiDict((k, v) for k, v in query.items() if k not in dropped)
    # The self link states the search that was run, except on a server that hides what it
    # ignored (wrong-patient echoes the request whatever it did).
    self_url = url if not dropped or kind is Mode.WRONG_PATIENT else url.with_query(applied)
    return applied, self_url, unknown


def _includes(spec: SearchSpec, applied: MultiMapping[str]) -> tuple[list[str], list[str]]:
    """The ``_include`` and ``_include:iterate`` values asked for, each one supported."""
    includes = applied.getall("_include", [])
    for name in includes:
        if name not in spec.includes:
            raise SearchError(
                f"_include={name} is not supported on {spec.resource_type}", "not-supported"
            )
    iterated = applied.getall("_include:iterate", [])
    for name in iterated:
        if name not in spec.iterate_includes:
            raise SearchError(
                f"_include:iterate={name} is not supported on {spec.resource_type}",
                "not-supported",
            )
    return list(includes), list(iterated)


def _known_params(spec: SearchSpec, mode: ServerMode) -> set[str]:
    """The parameters a server in ``mode`` knows for ``spec``."""
    known = spec.allowed_params() - mode.unknown_params
    if mode.mode is Mode.STRICT:
        # Only standard parameters: the dialect's ``:identifier`` on the patient reference is
        # not one a strict server has.
        known -= {p for p in spec.patient_params() if p.endswith(":identifier")}
    return known


# How far a wrong-patient server looks for another patient with data of the searched type.
_OTHERS_SCANNED = 64


def _another_patient(
    records: Sequence[PatientRecord], population: Population, resource_type: str
) -> list[PatientRecord]:
    """Whose data a wrong-patient server mixes in: the next patient in the population after the
    first of ``records`` (after patient -1 for a fixture or nobody) that has ``resource_type``
    resources, or the very next one when none of the following ones has any."""
    start = population.index_of(records[0].nin) if records else None
    start = -1 if start is None else start
    # What was found is kept on the population it was found in (no process-wide memo).
    found = population.others_found
    index = found.get((resource_type, start))
    if index is None:
        index = (start + 1) % population.size
        for step in range(1, min(_OTHERS_SCANNED, population.size) + 1):
            candidate = (start + step) % population.size
            if population.record_at(candidate).of_type(resource_type):
                index = candidate
                break
        if len(found) > 10_000:
            found.clear()
        found[(resource_type, start)] = index
    other = population.record(population.nin(index))
    if other is None or any(r.patient_id == other.patient_id for r in records):
        return []
    return [other]


def patient_by_id(record: PatientRecord, resource: Resource) -> Resource:
    """``resource`` as a plain R4 server holds it: every Reference to the patient written
    ``Patient/<id>``, without the identity number (the stored resource is not changed)."""
    system = number(record.nin).system

    def rewrite(value: object) -> object:
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        if not isinstance(value, dict):
            return value
        identifier = value.get("identifier")
        if (
            isinstance(identifier, dict)
            and identifier.get("value") == record.nin
            and identifier.get("system") == system
        ):
            rest = {k: v for k, v in value.items() if k not in ("identifier", "reference")}
            return {"reference": f"Patient/{record.patient_id}", **rest}
        return {k: rewrite(v) for k, v in value.items()}

    # The resource itself is left as it is: a Patient's own identifier is not a reference.
    return {k: rewrite(v) for k, v in resource.items()}


def _patient_records(
    name: str, value: str, population: Population, mode: ServerMode
) -> list[PatientRecord]:
    """The records a patient parameter names (none when it names no known patient)."""
    if name.endswith(":identifier") and mode.mode.references_by_id:
        # ``:identifier`` matches an identifier written inside the reference (R4); a server
        # that writes references by id has none there, so it finds nobody.
        return []
    if name.endswith("identifier"):
        record = _record_by_token(value, population)
        return [] if record is None else [record]
    ids = [v.strip() for v in value.split(",")]
    if not all(ids):
        raise SearchError(f"{name}: an empty reference")
    records: dict[str, PatientRecord] = {}
    for reference in ids:
        resource_type, slash, patient_id = reference.rpartition("/")
        if slash and resource_type.rpartition("/")[2] != "Patient":
            continue  # a reference to something else names no patient
        found = population.record_by_patient_id(patient_id)
        if found is not None:
            # By number, so the record carries this patient's writes (Population.record).
            record = population.record(found.nin)
            if record is not None:
                records.setdefault(record.patient_id, record)
    return list(records.values())


def _record_by_token(token: str, population: Population) -> PatientRecord | None:
    if "," in token:
        raise SearchError("only one patient per search")
    system, bar, value = token.rpartition("|")
    if not value:
        raise SearchError("the patient token needs a value: system|value")
    found = read(value)
    if found is None:
        return None  # not a number any mock patient has (the mocks make synthetic ones only)
    if bar and system != found.system:
        return None  # "|value" (no system) or the wrong kind of number: no such identifier
    return population.record(found.value)


def _included(
    record: PatientRecord,
    page: Sequence[Resource],
    paths: Sequence[Callable[[Resource], list[str]]],
    iterate: Sequence[Callable[[Resource], list[str]]] = (),
) -> list[Resource]:
    """What ``paths`` reach from ``page``, then what ``iterate`` reaches from page and included
    alike, until nothing new turns up (``_include:iterate``)."""
    seen = {(r["resourceType"], r["id"]) for r in page}
    included: list[Resource] = []

    def follow(
        sources: Sequence[Resource], rules: Sequence[Callable[[Resource], list[str]]]
    ) -> list[Resource]:
        found = []
        for resource in sources:
            for references in rules:
                for reference in references(resource):
                    target = record.resolve(reference)
                    if target is not None and (target["resourceType"], target["id"]) not in seen:
                        seen.add((target["resourceType"], target["id"]))
                        found.append(target)
        return found

    included += follow(page, paths)
    frontier = [*page, *included]
    while iterate and frontier:
        frontier = follow(frontier, iterate)
        included += frontier
    return included


def _non_negative_int(query: MultiMapping[str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise SearchError(f"{name} must be a non-negative integer, not {raw!r}")
    return int(raw)


_COMPARISON = re.compile(
    r"(eq|gt|lt|ge|le)?([0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)?)?)"
)
Comparison = tuple[str, dt.datetime, dt.datetime]


def _parse_comparison(name: str, raw: str) -> Comparison:
    """``ge2008-01-01`` → (prefix, start, end) of the value's precision."""
    match = _COMPARISON.fullmatch(raw)
    if match is None:
        raise SearchError(
            f"{name}={raw!r}: expected [eq|gt|lt|ge|le]YYYY[-MM[-DD[Thh:mm[:ss][tz]]]]"
        )
    prefix, value = match.group(1) or "eq", match.group(2)
    try:
        if len(value) == 4:
            start = dt.datetime(int(value), 1, 1, tzinfo=OSLO)
            end = start.replace(year=start.year + 1)
        elif len(value) == 7:
            start = dt.datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=OSLO)
            end = (start + dt.timedelta(days=32)).replace(day=1)
        elif len(value) == 10:
            start = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), OSLO)
            end = start + dt.timedelta(days=1)
        else:
            start = _parse_moment(value)
            end = start + dt.timedelta(seconds=1)
    except ValueError:
        raise SearchError(f"{name}={raw!r} is not a real date") from None
    return prefix, start, end


def _satisfies(interval: Interval, comparison: Comparison) -> bool:
    prefix, low, high = comparison
    start, end = interval
    if prefix == "ge":
        return end is None or end >= low
    if prefix == "gt":
        return end is None or end >= high
    if prefix == "le":
        return start < high
    if prefix == "lt":
        return start < low
    return start < high and (end is None or end >= low)


def _parse_moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=OSLO)
