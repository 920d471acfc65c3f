"""A deterministic synthetic population: patients generated on demand, fixtures beside them.

``Population(seed, size)`` never generates everyone up front. Patient ``i`` is generated from its
own seeded random source when first asked for and kept in a bounded LRU cache; identity numbers
map to indices and back in O(1) memory (see ``mocks.numbering``), so a population of 100,000
costs no more to start than one of ten.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from collections.abc import Iterator

from mocks.datatypes import Resource
from mocks.edits import RecordEdits
from mocks.fixture_records import build_fixture_record
from mocks.fixtures import FIXTURES, fixture_by_nin
from mocks.generator import generate_record
from mocks.numbering import NumberPlan
from mocks.record import BinaryContent, PatientRecord, RecordBuilder, owner_of
from mocks.registry_resources import add_gp_relation
from mocks.vocabulary import GP_OFFICES

_GENERATED_PREFIX = "pt"
_FIXTURE_PREFIX = "fx-"


class Population:
    """The patients all six mock registries answer for."""

    def __init__(self, seed: int = 2026, size: int = 1000, *, cache_size: int = 512) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.seed = seed
        self.size = size
        self.cache_size = cache_size
        self._plan = NumberPlan(seed, size, reserved={f.nin for f in FIXTURES})
        self._cache: OrderedDict[int, PatientRecord] = OrderedDict()
        self._fixture_records: dict[str, PatientRecord] = {}
        self.generated_count = 0
        """How many generated records were built so far (cache misses)."""
        self.edits = RecordEdits()
        """What clients wrote to the core record, laid over the seeded records."""
        self.others_found: dict[tuple[str, int], int] = {}
        """For the wrong-patient mode (``mocks/search.py``): (resource type, index searched
        from) → the index of the next patient with such resources."""

    def __len__(self) -> int:
        return self.size

    @property
    def cached_count(self) -> int:
        """How many generated records the LRU cache holds now."""
        return len(self._cache)

    def nin(self, index: int) -> str:
        """The identity number of generated patient ``index`` (0 ≤ index < size)."""
        return self._plan.nin(index)

    def index_of(self, nin: str) -> int | None:
        """The index of the generated patient with ``nin`` (None for fixtures and strangers)."""
        return self._plan.index(nin)

    def nins(self, start: int = 0, stop: int | None = None) -> Iterator[str]:
        """Identity numbers of generated patients ``start..stop-1``, lazily."""
        for index in range(start, self.size if stop is None else min(stop, self.size)):
            yield self.nin(index)

    def record(self, nin: str) -> PatientRecord | None:
        """Everything the registries hold for ``nin``; None when no such patient exists."""
        fx = fixture_by_nin(nin)
        if fx is not None:
            return self.edits.overlay(self.fixture_record(fx.key))
        index = self._plan.index(nin)
        return None if index is None else self.edits.overlay(self.record_at(index))

    def record_at(self, index: int) -> PatientRecord:
        """The record of generated patient ``index``, from the cache or freshly generated."""
        cached = self._cache.get(index)
        if cached is not None:
            self._cache.move_to_end(index)
            return cached
        record = generate_record(self.seed, index, self._plan.nin(index))
        self.generated_count += 1
        self._cache[index] = record
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return record

    def fixture_record(self, key: str) -> PatientRecord:
        """The hand-shaped record of fixture ``key`` (built once, then kept)."""
        record = self._fixture_records.get(key)
        if record is None:
            record = build_fixture_record(next(f for f in FIXTURES if f.key == key))
            self._fixture_records[key] = record
        return record

    def record_by_patient_id(self, patient_id: str) -> PatientRecord | None:
        """The record whose Patient resource has id ``patient_id`` (``pt<i>`` or ``fx-<key>``)."""
        if patient_id.startswith(_FIXTURE_PREFIX):
            key = patient_id.removeprefix(_FIXTURE_PREFIX)
            return self.fixture_record(key) if any(f.key == key for f in FIXTURES) else None
        digits = patient_id.removeprefix(_GENERATED_PREFIX)
        if not patient_id.startswith(_GENERATED_PREFIX) or not digits.isdigit():
            return None
        index = int(digits)
        if index >= self.size or digits != str(index):
            return None
        return self.record_at(index)

    def resource(
        self, resource_type: str, resource_id: str
    ) -> tuple[Resource | None, PatientRecord | None]:
        """The resource ``resource_type/resource_id`` and the record it belongs to: a patient's
        own (its id starts with the patient's), or one shared by many (GPs and their offices),
        which belongs to no record."""
        owner = self.record_by_patient_id(
            resource_id if resource_type == "Patient" else owner_of(resource_id)
        )
        if owner is not None:
            record = self.record(owner.nin)
            if record is not None:
                return record.resolve(f"{resource_type}/{resource_id}"), record
        return _shared_resources().get((resource_type, resource_id)), None

    def binary(self, binary_id: str) -> BinaryContent | None:
        """The document content with id ``binary_id``, found through the patient that owns it."""
        record = self.record_by_patient_id(owner_of(binary_id))
        return None if record is None else record.binaries.get(binary_id)


@functools.cache
def _shared_resources() -> dict[tuple[str, str], Resource]:
    """Every GP and GP office, as the GP relations of any patient refer to them (built on first
    use, the same for every seed: a constant table, not state)."""
    builder = RecordBuilder(FIXTURES[0].nin, "shared")
    for office in GP_OFFICES:
        for doctor in office.doctors:
            add_gp_relation(builder, office, doctor, dt.date(2024, 1, 2))
    record = builder.build()
    return {(r["resourceType"], r["id"]): r for r in (*record.practitioners, *record.organizations)}
