"""Identity numbers of generated patients: valid, synthetic, unique, and reversible to an index."""

from __future__ import annotations

import pytest

from gateway.identity import IdentityNumberKind, parse
from mocks import FIXTURES
from mocks.numbering import MAX_POPULATION, SLOTS, KeyedPermutation, NumberPlan, age_on


def test_keyed_permutation_is_a_bijection_with_an_inverse() -> None:
    small = KeyedPermutation(1000, key=42)
    assert sorted(small.forward(x) for x in range(1000)) == list(range(1000))
    large = KeyedPermutation(SLOTS, key=7)
    for value in range(0, SLOTS, SLOTS // 997):
        assert large.inverse(large.forward(value)) == value


def test_generated_numbers_are_valid_synthetic_unique_and_map_back_to_their_index() -> None:
    plan = NumberPlan(seed=2026, size=5000)
    numbers = [plan.nin(i) for i in range(5000)]
    assert len(set(numbers)) == len(numbers)
    for index, nin in enumerate(numbers):
        parsed = parse(nin)
        assert parsed.synthetic
        assert parsed.kind in {IdentityNumberKind.FODSELSNUMMER, IdentityNumberKind.D_NUMBER}
        assert plan.index(nin) == index


def test_about_five_percent_are_d_numbers_and_all_of_them_adults() -> None:
    plan = NumberPlan(seed=2026, size=4000)
    parsed = [parse(plan.nin(i)) for i in range(4000)]
    d_numbers = [p for p in parsed if p.kind is IdentityNumberKind.D_NUMBER]
    assert 0.03 < len(d_numbers) / len(parsed) < 0.07
    assert all(age_on(p.birth_date) >= 18 for p in d_numbers)


def test_ages_follow_a_population_pyramid() -> None:
    plan = NumberPlan(seed=2026, size=4000)
    ages = [age_on(parse(plan.nin(i)).birth_date) for i in range(4000)]
    under_70 = sum(a < 70 for a in ages)
    over_90 = sum(a >= 90 for a in ages)
    assert under_70 > 0.8 * len(ages)
    assert 0 < over_90 < 0.03 * len(ages)


def test_fixture_and_foreign_numbers_are_not_in_the_plan() -> None:
    plan = NumberPlan(seed=2026, size=MAX_POPULATION, reserved={f.nin for f in FIXTURES})
    for fx in FIXTURES:
        assert plan.index(fx.nin) is None
    for foreign in ("15028512345", "not a number", "01010112345", "41018512345"):
        assert plan.index(foreign) is None


def test_other_seeds_give_other_numbers_and_sizes_are_bounded() -> None:
    assert NumberPlan(1, 10).nin(0) != NumberPlan(2, 10).nin(0)
    with pytest.raises(ValueError, match="population size"):
        NumberPlan(1, MAX_POPULATION + 1)
    with pytest.raises(IndexError):
        NumberPlan(1, 10).nin(10)
