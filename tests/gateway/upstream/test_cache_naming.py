"""Cache names: stable for one key, apart for different parts, kinds and keys, no identity."""

from __future__ import annotations

import os

from gateway.upstream.cache.naming import Names

NIN = "15828512339"
PARAMS = [("subject:identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{NIN}")]
SECRET = os.urandom(32)


def test_one_search_has_one_name_under_one_key_in_every_process() -> None:
    mine = Names(SECRET, "ns", remember=10)
    theirs = Names(SECRET, "ns", remember=10)  # another process sharing Redis
    assert mine.entry("lab", NIN, "Observation", PARAMS) == theirs.entry(
        "lab", NIN, "Observation", PARAMS
    )


def test_names_hold_no_part_in_clear_and_carry_the_namespace() -> None:
    name = Names(SECRET, "summary", remember=10).entry("prescriptions", NIN, "Obs", PARAMS)
    assert name.startswith("summary:v:")
    for part in (NIN, "prescriptions", "Obs"):
        assert part not in name


def test_every_part_kind_and_key_makes_a_different_name() -> None:
    names = Names(SECRET, "ns", remember=10)
    base = names.entry("lab", NIN, "Observation", PARAMS)
    assert names.entry("lab", "01819042000", "Observation", PARAMS) != base
    assert names.entry("core", NIN, "Observation", PARAMS) != base
    assert names.entry("lab", NIN, "Condition", PARAMS) != base
    assert names.entry("lab", NIN, "Observation", [("code", "x")]) != base
    assert names.generation("lab", NIN).startswith("ns:g:")
    assert Names(os.urandom(32), "ns", remember=10).entry("lab", NIN, "Observation", PARAMS) != base


def test_without_a_key_names_differ_between_processes() -> None:
    one = Names(None, "ns", remember=10).entry("lab", NIN, "Observation", PARAMS)
    other = Names(None, "ns", remember=10).entry("lab", NIN, "Observation", PARAMS)
    assert one != other


def test_names_remembered_are_the_same_as_names_made_afresh() -> None:
    names = Names(SECRET, "ns", remember=2)
    first = [names.entry("lab", NIN, f"Type{i}", PARAMS) for i in range(5)]
    again = [names.entry("lab", NIN, f"Type{i}", PARAMS) for i in range(5)]
    assert first == again
    assert len(set(first)) == 5
