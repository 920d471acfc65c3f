"""The synthetic population: deterministic, lazy, bounded in memory, and realistic in shape."""

from __future__ import annotations

import datetime as dt
import statistics

from mocks import FIXTURES, Population
from mocks.datatypes import REFERENCE_TIME
from mocks.numbering import age_on
from mocks.record import FIELD_BY_RESOURCE_TYPE, PatientRecord

SAMPLE = range(0, 1000, 4)


def test_same_seed_gives_identical_records_and_another_seed_does_not() -> None:
    first, second, other = (
        Population(seed=11, size=50),
        Population(seed=11, size=50),
        Population(seed=12, size=50),
    )
    for index in (0, 17, 49):
        assert first.record_at(index) == second.record_at(index)
    assert first.nin(3) != other.nin(3)
    assert first.record_at(3) != other.record_at(3)


def test_a_late_patient_of_100000_is_found_without_generating_the_others() -> None:
    population = Population(size=100_000)
    nin = population.nin(99_998)
    record = population.record(nin)
    assert record is not None
    assert record.nin == nin
    assert record.patient_id == "pt99998"
    assert population.generated_count == 1
    assert population.cached_count == 1


def test_the_cache_is_bounded_and_evicts_least_recently_used() -> None:
    population = Population(size=100, cache_size=3)
    for index in range(5):
        population.record_at(index)
    assert population.cached_count == 3
    population.record_at(4)
    assert population.generated_count == 5
    population.record_at(0)
    assert population.generated_count == 6


def test_unknown_numbers_have_no_record_and_fixtures_resolve_to_their_own() -> None:
    population = Population(size=10)
    assert population.record("15028512345") is None
    assert population.record("garbage") is None
    for fx in FIXTURES:
        record = population.record(fx.nin)
        assert record is not None
        assert record.fixture_key == fx.key
    assert population.generated_count == 0


def test_resource_ids_are_unique_and_owned_by_their_patient(population: Population) -> None:
    seen: dict[tuple[str, str], str] = {}
    for record in [population.record_at(i) for i in SAMPLE] + [
        population.fixture_record(f.key) for f in FIXTURES
    ]:
        for resource in record.all_resources():
            key = (resource["resourceType"], resource["id"])
            if resource["resourceType"] in {"Practitioner", "Organization"}:
                continue  # shared across patients, like in the real registries
            assert seen.setdefault(key, record.patient_id) == record.patient_id, key
            assert resource["id"].startswith(record.patient_id)


def test_every_resource_type_field_is_mapped() -> None:
    assert set(FIELD_BY_RESOURCE_TYPE.values()) == {
        name
        for name in PatientRecord.__dataclass_fields__
        if name not in {"nin", "patient_id", "fixture_key", "binaries"}
    }


def test_dates_fall_between_birth_and_the_reference_time(population: Population) -> None:
    for index in SAMPLE:
        record = population.record_at(index)
        birth = dt.date.fromisoformat(record.patient[0]["birthDate"])
        for resource in record.all_resources():
            updated = dt.datetime.fromisoformat(resource["meta"]["lastUpdated"])
            assert updated <= REFERENCE_TIME
            if resource["resourceType"] not in {"Practitioner", "Organization"}:
                assert updated.date() >= birth, resource


def test_the_population_looks_like_a_real_one(population: Population) -> None:
    records = [population.record_at(i) for i in SAMPLE]

    def share(predicate: object) -> float:
        assert callable(predicate)
        return sum(1 for r in records if predicate(r)) / len(records)

    assert 0.02 < share(lambda r: not r.practitioner_roles) < 0.15
    assert 0.2 < share(lambda r: not r.diagnostic_reports) < 0.7
    assert 0.2 < share(lambda r: not r.document_references) < 0.8
    assert 0.002 < share(lambda r: "deceasedDateTime" in r.patient[0]) < 0.08
    assert 0.01 < share(lambda r: r.consents) < 0.1

    def age(record: PatientRecord) -> int:
        return age_on(dt.date.fromisoformat(record.patient[0]["birthDate"]))

    old = [len(r.medication_requests) for r in records if age(r) >= 75]
    young = [len(r.medication_requests) for r in records if age(r) < 40]
    assert statistics.mean(old) > 3 * statistics.mean(young)
    counts = sorted(len(r.medication_requests) + len(r.encounters) for r in records)
    assert counts[len(counts) // 2] * 3 < counts[-1]  # a long tail: some have a lot


def test_binaries_are_found_by_id_through_their_owner(population: Population) -> None:
    record = population.fixture_record("home-care-elderly")
    for binary_id, content in record.binaries.items():
        assert population.binary(binary_id) == content
    assert population.binary("pt999999-bin1") is None
    assert population.binary("fx-nobody-bin1") is None
    assert population.binary("nonsense") is None
