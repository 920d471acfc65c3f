"""An IPS document's section counts as Medplum (``tests/node/ips_counts.mjs``) reads them.

Node.js and ``tests/node/node_modules`` are found as ``tests/e2e/node_tools.py`` finds them: a
developer without them gets a skip, CI (``CI=true``) a failure.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Any

from tests.e2e.node_tools import NODE_DIR, node_executable


def medplum_counts(bundle: Mapping[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
    """``{"sections": {loinc: {entries, resolved, emptyReason, types}}, "unresolved": [...]}``."""
    completed = subprocess.run(
        [node_executable(), "ips_counts.mjs"],
        cwd=NODE_DIR,
        input=json.dumps(bundle).encode(),
        capture_output=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"ips_counts.mjs exited {completed.returncode}: {completed.stderr.decode()[-2000:]}"
        )
    counts: dict[str, Any] = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    return counts
