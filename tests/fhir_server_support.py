"""An independent FHIR R4 server for the tests (issue 15): a FHIR implementation we did not write.

``independent_fhir_server(bundle)`` starts ``tests/node/fhir_server.mjs`` (Medplum's
``@medplum/fhir-router`` 4.5.2 with its in-memory repository, pinned in tests/node/package.json)
on a free port, loaded with ``bundle``, and yields its base URL ``http://127.0.0.1:<port>/fhir``.
Without Node.js or the installed packages the test skips (and fails when ``CI=true``), as the
other Node tools do (tests/e2e/node_tools.py).

What the server does itself and what it leaves out (its search answers an unknown parameter or an
unsupported modifier such as ``subject:identifier`` with an empty searchset, not an error) is
written at the top of fhir_server.mjs and checked by tests/fhir_server/.

The edge-case data, ``tests/data/r4_edge_cases.json`` (``EDGE_CASES``): a ``collection`` Bundle
in plain R4 shape, references by id (``Patient/edge-a``), synthetic identity numbers only in
``Patient.identifier`` (system ``urn:oid:2.16.578.1.12.4.1.4.1``). Which patient has which case:

``edge-a``, 20863205485, Arne Solberg, born 1932-06-20: the mapping cases.
    - generalPractitioner: ``Practitioner/prac-gp`` and ``Organization/org-gp``.
    - MedicationRequest ``a-mr-contained``: ``medicationReference`` ``#med1``, a contained
      Medication coded in RxNorm (197361 amlodipine), dosage with text and structure.
    - ``a-mr-referenced``: ``Medication/med-warfarin`` (ATC B01AA03); structured dosage without
      ``text`` (frequency 1 / period 1 d, doseQuantity 5 mg, route oral, asNeededBoolean false).
    - ``a-mr-as-needed``: ``medicationCodeableConcept`` ATC N02BE01, no ``text``, 1 g up to 4
      times a day, asNeededBoolean true, maxDosePerPeriod.
    - AllergyIntolerance ``a-allergy-penicillin``: criticality high, reaction manifestation only
      ``coding[].display`` "Anaphylactic reaction" (no text), severity severe.
    - ``a-allergy-partial-dates``: the same anaphylaxis shape (bee venom) with onsetDateTime
      ``"1974-12"`` and recordedDate ``"2010"``.
    - Conditions, all problem-list-item: ``a-cond-hypertension`` active, SNOMED 38341003, onset
      ``"1998"``; ``a-cond-atrial-fibrillation`` active, ICD-10 I48;
      ``a-cond-pneumonia-resolved`` clinicalStatus resolved, ICD-10 J18.9.
    - Procedures: ``a-proc-appendectomy`` completed (1940), ``a-proc-physiotherapy`` in-progress.
    - DiagnosticReport ``a-dr-lab``: category v2-0074 LAB, ``result`` = ``a-obs-hemoglobin``
      (low, interpretation L, referenceRange with text) and ``a-obs-leukocytes`` (high);
      ``a-dr-note``: category LOINC LP29708-2 Cardiology (not LAB), code LOINC 11506-3 Progress
      note, performer ``Practitioner/prac-hosp``, a ``conclusion``.
    - Standalone Observations in no report, category laboratory: ``a-obs-creatinine``
      valueQuantity with interpretation and referenceRange text, performer Organization;
      ``a-obs-blood-group`` valueCodeableConcept; ``a-obs-urine-culture`` valueString, performer
      Practitioner, referenceRange text only; ``a-obs-hbsag`` valueBoolean. Blood pressure
      ``a-obs-blood-pressure`` (85354-9, components 8480-6 and 8462-4, interpretation) has
      category vital-signs, as in R4, not laboratory.
    - RelatedPerson ``a-rel-wife``: one relationship with codings v2-0131 ``N`` and v3-RoleCode
      ``WIFE`` ("wife") and a text.
    - DocumentReferences: ``a-doc-discharge-v2`` current, relatesTo replaces
      ``a-doc-discharge-v1`` (superseded); ``a-doc-type-only`` has ``type`` (Consult note) and
      no description; ``a-doc-inline`` has ``content[0].attachment.data`` (base64 text/plain)
      and no url.
    - Encounters: ``a-enc-1940`` (1940-03-02 to 1940-03-20), ``a-enc-pneumonia`` (2026-09-15 to
      09-18) and ``a-enc-gp-recent`` (2026-10-20).

``edge-b``, 03827327793, Ola Berg, born 1973-02-03: only ``b-consent``, an active Consent
    (scope patient-privacy, category LOINC 59284-0, provision permit): none of the gateway's own
    privacy categories, so the "unknown consent" case. generalPractitioner an Organization.

``edge-c``, 16829408930, Nora Haugen, born 1994-02-16: someone else's data for wrong-patient
    checks (``c-mr-atorvastatin``, ``c-allergy-peanut``, ``c-cond-diabetes``, ``c-obs-hba1c``,
    ``c-proc-tonsillectomy``, ``c-enc-gp``, ``c-doc-referral``, ``c-rel-mother``);
    generalPractitioner ``PractitionerRole/role-gp-c``.

Shared: ``Organization/org-gp``, ``org-lab``, ``org-hospital``; ``Practitioner/prac-gp``,
``prac-hosp``, ``prac-gp-c``; ``PractitionerRole/role-gp-c``; ``Medication/med-warfarin``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.node_tools import NODE_DIR, node_executable, unavailable

SERVER_SCRIPT = NODE_DIR / "fhir_server.mjs"
EDGE_CASES = Path(__file__).resolve().parent / "data" / "r4_edge_cases.json"
SYSTEM_FODSELSNUMMER = "urn:oid:2.16.578.1.12.4.1.4.1"
START_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class EdgePatient:
    """A test patient of ``EDGE_CASES``: its resource id and synthetic identity number."""

    id: str
    nin: str

    @property
    def reference(self) -> str:
        """``Patient/<id>``, as the bundle's resources refer to the patient."""
        return f"Patient/{self.id}"

    @property
    def identifier_token(self) -> str:
        """``system|value`` for ``Patient?identifier=``."""
        return f"{SYSTEM_FODSELSNUMMER}|{self.nin}"


EDGE_A = EdgePatient("edge-a", "20863205485")
EDGE_B = EdgePatient("edge-b", "03827327793")
EDGE_C = EdgePatient("edge-c", "16829408930")


def edge_case_bundle() -> dict[str, Any]:
    """A fresh copy of ``EDGE_CASES``, to load as it is or to extend."""
    bundle: dict[str, Any] = json.loads(EDGE_CASES.read_text(encoding="utf-8"))
    return bundle


def _check_installed() -> str:
    node = node_executable()
    if not (NODE_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        unavailable(
            "tests/node/node_modules lacks @medplum/fhir-router: run `make test` (it runs `npm ci`)"
        )
    return node


@contextlib.asynccontextmanager
async def independent_fhir_server(
    bundle: Mapping[str, Any] | Path = EDGE_CASES,
) -> AsyncIterator[str]:
    """The independent server loaded with ``bundle`` (a Bundle, or a file: Bundle JSON or
    NDJSON) until the block ends; yields the base URL ``http://127.0.0.1:<port>/fhir``."""
    node = _check_installed()
    with tempfile.TemporaryDirectory(prefix="fhir-server-") as directory:
        if isinstance(bundle, Path):
            path = bundle
        else:
            path = Path(directory) / "bundle.json"
            path.write_text(json.dumps(bundle), encoding="utf-8")
        process = await asyncio.create_subprocess_exec(
            node,
            str(SERVER_SCRIPT),
            "--port",
            "0",
            "--load",
            str(path),
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None and process.stderr is not None
        drain: asyncio.Task[bytes] | None = None
        try:
            try:
                async with asyncio.timeout(START_TIMEOUT_S):
                    first = await process.stdout.readline()
            except TimeoutError:
                raise AssertionError("the FHIR server did not start in time") from None
            if not first:
                error = (await process.stderr.read()).decode(errors="replace")
                raise AssertionError("the FHIR server exited before listening:\n" + error)
            port = int(json.loads(first)["port"])
            # Read what it writes to stderr, so a chatty server never blocks on a full pipe.
            drain = asyncio.create_task(process.stderr.read())
            yield f"http://127.0.0.1:{port}/fhir"
        finally:
            _stop(process)
            await _reap(process)
            if drain is not None:
                await drain


def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for the SIGTERMed server; kill it when it does not end."""
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        process.kill()
        await process.wait()
