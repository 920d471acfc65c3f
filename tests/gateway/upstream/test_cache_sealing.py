"""Sealed envelopes: open under their own name and key only, and hold nothing in clear."""

from __future__ import annotations

import os

import pytest

from gateway.upstream.cache.sealing import Envelope, Sealer, Unopenable

VALUE = {"matches": [{"resourceType": "MedicationRequest", "note": "Albyl-E"}]}
ENVELOPE = Envelope(generation=3, stored_at=1_700_000_000.5, value=VALUE)


def test_a_sealed_envelope_opens_as_it_was_and_holds_nothing_in_clear() -> None:
    sealer = Sealer(os.urandom(32))
    blob = sealer.seal("ns:v:a", ENVELOPE)
    assert b"Albyl" not in blob and b"MedicationRequest" not in blob
    assert sealer.open("ns:v:a", blob) == ENVELOPE
    assert sealer.seal("ns:v:a", ENVELOPE) != blob, "a fresh nonce each time"


def test_a_sealed_value_does_not_open_under_another_name_or_key() -> None:
    sealer = Sealer(os.urandom(32))
    blob = sealer.seal("ns:v:a", ENVELOPE)
    with pytest.raises(Unopenable):
        sealer.open("ns:v:b", blob)
    with pytest.raises(Unopenable):
        Sealer(os.urandom(32)).open("ns:v:a", blob)
    with pytest.raises(Unopenable):
        sealer.open("ns:v:a", blob[:-1] + bytes([blob[-1] ^ 1]))


def test_without_a_key_the_envelope_is_plain_json() -> None:
    sealer = Sealer(None)
    assert not sealer.sealed
    blob = sealer.seal("ns:v:a", ENVELOPE)
    assert b"Albyl" in blob
    assert sealer.open("ns:v:other", blob) == ENVELOPE


@pytest.mark.parametrize(
    "blob", [b"not json", b"[1, 2]", b'{"g": 1}', b'{"g": "x", "t": 1, "v": 2}']
)
def test_what_is_not_an_envelope_does_not_open(blob: bytes) -> None:
    with pytest.raises(Unopenable):
        Sealer(None).open("ns:v:a", blob)
