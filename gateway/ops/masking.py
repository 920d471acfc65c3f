"""Identity numbers in strings that clients choose: found, masked, or the string replaced.

A client picks many strings the gateway writes down for its operators: the operation name
(a metric label, the log line, the span name), the ``X-Request-ID`` (the log, the span, the
access log, the answer), the trace context it continues. Any of them may hold an identity
number, by mistake (an operation named after the patient) or on purpose, and only the access log
may hold one. Every such string goes through this module before it lands anywhere:

- ``mask_identity_numbers`` for free text (a log line's fields): a run of 11 or more digits
  becomes ``[11 digits]``; shorter numbers (an organisation number, a date, a duration) stay;
- ``holds_identity_number`` where a string is kept whole or not at all (an operation label, a
  request id): any run of 11 or more digits and the string is not kept;
- ``holds_valid_identity_number`` for a caller's W3C trace context: its ids are random hex,
  and one in eight holds 11 decimal digits in a row by chance, so only a run that passes the
  identity number's check digits drops the caller's trace (about one trace in a thousand).
"""

from __future__ import annotations

import re
from typing import Final

from gateway.identity import is_valid

_DIGIT_RUN: Final = re.compile(r"\d{11,}")
MASK: Final = "[11 digits]"


def holds_identity_number(text: str) -> bool:
    """Whether ``text`` holds a run of 11 or more digits (the shape of an identity number)."""
    return _DIGIT_RUN.search(text) is not None


def mask_identity_numbers(text: str) -> str:
    """``text`` with every run of 11 or more digits replaced by ``[11 digits]``."""
    return _DIGIT_RUN.sub(MASK, text)


def holds_valid_identity_number(text: str) -> bool:
    """Whether some 11 consecutive digits of ``text`` form a valid identity number."""
    for run in _DIGIT_RUN.findall(text):
        if any(is_valid(run[start : start + 11]) for start in range(len(run) - 10)):
            return True
    return False
