"""The example summary query that GraphiQL opens with, the README shows and the tests run."""

from __future__ import annotations

import functools
import json
from pathlib import Path

SUMMARY_QUERY_FILE = Path(__file__).resolve().parent / "summary.graphql"

# The many-medicines home-care patient of the mock registries. A synthetic (Tenor) number: it
# belongs to no real person, so it is a safe default even in front of real registries.
EXAMPLE_VARIABLES = json.dumps({"nin": "12834122055"})


@functools.cache
def summary_query() -> str:
    """The text of ``summary.graphql``, read the first time it is asked for (importing this
    module reads no file, so a tool that only needs the path pays nothing)."""
    return SUMMARY_QUERY_FILE.read_text(encoding="utf-8")
