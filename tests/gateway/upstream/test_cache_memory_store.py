"""The memory store: aiocache's memory cache through its public API, bounded by the store."""

from __future__ import annotations

from gateway.upstream.cache.generations import Generations, generation_of
from gateway.upstream.cache.memory import MemoryStore, WriteOrder
from gateway.upstream.cache.naming import Names


async def test_it_holds_at_most_max_entries_and_the_oldest_write_goes_first() -> None:
    store = MemoryStore(max_entries=3)
    for key in ("a", "b", "c", "a", "d"):  # "a" written again: now younger than "b" and "c"
        await store.write(key, key.encode(), ttl_s=60)
    assert await store.read(["a", "b", "c", "d"]) == [b"a", None, b"c", b"d"]
    await store.close()


async def test_generation_counters_are_not_evicted_by_entries() -> None:
    """Dropping a counter would bring back entries of an older generation."""
    store = MemoryStore(max_entries=2)
    generations = Generations(Names(None, "ns", remember=10), store, keep_s=60)
    await generations.bump("lab", "p1")
    await generations.bump("lab", "p1")
    for key in ("a", "b", "c", "d"):
        await store.write(key, b"x", ttl_s=60)
    found = await store.read([generations.key("lab", "p1"), generations.key("lab", "p2")])
    assert found is not None
    assert [generation_of(raw) for raw in found] == [2, 0]
    await store.close()


def test_a_store_reports_itself_in_memory_and_well() -> None:
    assert MemoryStore(1).health() == {"kind": "memory", "state": "ok"}
    assert MemoryStore.shared is False


def test_the_write_order_names_the_oldest_writes_past_the_bound() -> None:
    order = WriteOrder(2)
    assert order.wrote("a") == [] and order.wrote("b") == []
    assert order.wrote("a") == [], "written again: the youngest now"
    assert order.wrote("c") == ["b"]
    assert len(order) == 2
