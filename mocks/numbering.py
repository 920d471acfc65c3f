"""Which synthetic identity number patient ``i`` has, and back, without a table.

A keyed permutation (a Feistel network with cycle walking) shuffles "slots": every combination of
birth date, individual number and number kind (fødselsnummer or D-number). Patient ``i`` gets the
first acceptable slot among ``P(i·K) … P(i·K + K-1)``. A slot is acceptable when its check digits
exist, it is not a fixture's number, and a keyed coin says yes with a probability that follows
the age pyramid (fewer 90-year-olds than 40-year-olds; about 5% D-numbers, adults only). Going
back inverts ``P`` and re-checks the earlier candidates, so lookups cost O(K) and no memory.
Every number is synthetic (month + 80).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from mocks.datatypes import REFERENCE_DATE
from mocks.identity_numbers import read, synthetic_number

BIRTH_FIRST = dt.date(1921, 1, 1)
BIRTH_LAST = REFERENCE_DATE - dt.timedelta(days=1)
_DAYS = (BIRTH_LAST - BIRTH_FIRST).days + 1
_INDIVIDUALS = 500  # 000-499 for births before 2000, 500-999 from 2000 on
SLOTS = _DAYS * _INDIVIDUALS * 2
CANDIDATES_PER_PATIENT = 64
MAX_POPULATION = SLOTS // CANDIDATES_PER_PATIENT

_MASK64 = (1 << 64) - 1
_ROUNDS = 6
_D_NUMBER_ACCEPTANCE = 0.075  # gives about 5% D-numbers overall


def mix64(value: int) -> int:
    """SplitMix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class KeyedPermutation:
    """A pseudo-random bijection on ``range(size)``, invertible, keyed by an integer."""

    def __init__(self, size: int, key: int) -> None:
        bits = max(2, (size - 1).bit_length())
        bits += bits % 2
        self._size = size
        self._half = bits // 2
        self._mask = (1 << self._half) - 1
        self._round_keys = [mix64(key * 1_000_003 + r) for r in range(_ROUNDS)]

    def _round(self, r: int, half: int) -> int:
        return mix64(self._round_keys[r] ^ half) & self._mask

    def _encrypt(self, value: int) -> int:
        left, right = value >> self._half, value & self._mask
        for r in range(_ROUNDS):
            left, right = right, left ^ self._round(r, right)
        return (left << self._half) | right

    def _decrypt(self, value: int) -> int:
        left, right = value >> self._half, value & self._mask
        for r in reversed(range(_ROUNDS)):
            left, right = right ^ self._round(r, left), left
        return (left << self._half) | right

    def forward(self, value: int) -> int:
        """``P(value)``; cycle walking keeps the result inside ``range(size)``."""
        result = self._encrypt(value)
        while result >= self._size:
            result = self._encrypt(result)
        return result

    def inverse(self, value: int) -> int:
        """``P⁻¹(value)``."""
        result = self._decrypt(value)
        while result >= self._size:
            result = self._decrypt(result)
        return result


def _age_acceptance(age: int, d_number: bool) -> float:
    if d_number:
        return _D_NUMBER_ACCEPTANCE if 18 <= age <= 75 else 0.0
    if age < 70:
        return 1.0
    if age < 80:
        return 0.75
    if age < 90:
        return 0.4
    if age < 100:
        return 0.12
    return 0.02


def age_on(birth_date: dt.date, day: dt.date = REFERENCE_DATE) -> int:
    """Age in whole years on ``day``."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


class NumberPlan:
    """The bijection between patient indices ``0..size-1`` and synthetic identity numbers."""

    def __init__(self, seed: int, size: int, reserved: Collection[str] = ()) -> None:
        if not 0 <= size <= MAX_POPULATION:
            raise ValueError(f"population size must be between 0 and {MAX_POPULATION}")
        self._size = size
        self._reserved = frozenset(reserved)
        self._permutation = KeyedPermutation(SLOTS, mix64(seed))
        self._coin_key = mix64(seed ^ 0x5EED)

    def nin(self, index: int) -> str:
        """The identity number of patient ``index``."""
        if not 0 <= index < self._size:
            raise IndexError(index)
        for attempt in range(CANDIDATES_PER_PATIENT):
            number = self._number_in(
                self._permutation.forward(index * CANDIDATES_PER_PATIENT + attempt)
            )
            if number is not None:
                return number
        raise RuntimeError(f"no acceptable identity number for patient {index}")  # p < 1e-12

    def index(self, nin: str) -> int | None:
        """The patient index of ``nin``, or None when no patient in this plan has it."""
        slot = _slot_of(nin)
        if slot is None or self._number_in(slot) != nin:
            return None
        index, attempt = divmod(self._permutation.inverse(slot), CANDIDATES_PER_PATIENT)
        if index >= self._size:
            return None
        for earlier in range(attempt):
            candidate = self._permutation.forward(index * CANDIDATES_PER_PATIENT + earlier)
            if self._number_in(candidate) is not None:
                return None
        return index

    def _number_in(self, slot: int) -> str | None:
        day_index, rest = divmod(slot, _INDIVIDUALS * 2)
        individual, d_flag = divmod(rest, 2)
        birth = BIRTH_FIRST + dt.timedelta(days=day_index)
        coin = mix64(self._coin_key ^ slot) / 2**64
        if coin >= _age_acceptance(age_on(birth), d_number=bool(d_flag)):
            return None
        if birth.year >= 2000:
            individual += 500
        number = synthetic_number(birth, individual, d_number=bool(d_flag))
        return None if number is None or number in self._reserved else number


def _slot_of(nin: str) -> int | None:
    parsed = read(nin)
    if parsed is None:
        return None
    birth = parsed.birth_date
    if not BIRTH_FIRST <= birth <= BIRTH_LAST:
        return None
    individual = parsed.individual - (500 if birth.year >= 2000 else 0)
    if not 0 <= individual < _INDIVIDUALS:
        return None
    d_flag = 1 if parsed.d_number else 0
    return (((birth - BIRTH_FIRST).days * _INDIVIDUALS) + individual) * 2 + d_flag
