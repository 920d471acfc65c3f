"""The memo of opened entries: the same entry for the same bytes and generation, bounded."""

from __future__ import annotations

from gateway.upstream.cache.memo import CachedEntry, OpenedEntries


def test_the_same_bytes_under_the_same_generation_give_the_same_entry() -> None:
    opened = OpenedEntries(10)
    entry = CachedEntry({"a": 1}, 1.0)
    opened.remember("k", b"sealed", 2, entry)
    assert opened.find("k", b"sealed", 2) is entry
    assert opened.find("k", bytes(bytearray(b"sealed")), 2) is entry, "equal bytes read afresh"
    assert opened.find("k", b"changed", 2) is None
    assert opened.find("k", b"sealed", 3) is None, "invalidated since"
    assert opened.find("other", b"sealed", 2) is None
    opened.forget("k")
    assert opened.find("k", b"sealed", 2) is None


def test_the_oldest_opened_entry_goes_first() -> None:
    opened = OpenedEntries(2)
    for name in ("a", "b", "c"):
        opened.remember(name, name.encode(), 0, CachedEntry(name, 1.0))
    assert len(opened) == 2
    assert opened.find("a", b"a", 0) is None
    assert opened.find("c", b"c", 0) is not None


def test_what_is_derived_from_an_entry_is_made_once_per_decoder() -> None:
    made: list[object] = []

    def decode(value: object) -> list[object]:
        made.append(value)
        return [value]

    entry = CachedEntry("raw", 1.0)
    first = entry.decoded(decode)
    assert entry.decoded(decode) is first
    assert entry.decoded(str) == "raw"
    assert made == ["raw"]
