"""HPR numbers (Helsepersonellregisteret, the health personnel register): one spelling each.

An HPR number is a number, not a string: ``9144901`` and ``09144901`` are the same person. A
block is stored and compared in the canonical spelling (digits only, no leading zeros), so a
block typed with a leading zero, or written so by another system, still holds.
"""

from __future__ import annotations

import re

# Up to nine digits as typed; seven to nine once leading zeros are gone.
_TYPED = re.compile(r"[0-9]{1,9}")
_MIN_DIGITS = 7


def canonical_hpr(value: str) -> str | None:
    """``value`` in its one spelling (digits only, no leading zeros), or None when it is not an
    HPR number at all (anything but ASCII digits, a newline or a space included)."""
    if not _TYPED.fullmatch(value):
        return None
    canonical = value.lstrip("0")
    return canonical if len(canonical) >= _MIN_DIGITS else None
