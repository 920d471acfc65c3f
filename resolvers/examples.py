"""The example summary query that GraphiQL opens with, the README shows and the tests run."""

from __future__ import annotations

import json
from pathlib import Path

SUMMARY_QUERY_FILE = Path(__file__).resolve().parent / "summary.graphql"
SUMMARY_QUERY = SUMMARY_QUERY_FILE.read_text(encoding="utf-8")

# The many-medicines home-care patient of the mock registries. A synthetic (Tenor) number: it
# belongs to no real person, so it is a safe default even in front of real registries.
EXAMPLE_VARIABLES = json.dumps({"nin": "12834122055"})
