"""Mock FHIR R4 registries for the summary gateway: six real aiohttp servers over one population.

One module per concept: ``sources`` (which registries, where), ``population`` (seeded synthetic
patients, generated on demand), ``fixtures`` (named test patients), ``faults`` and ``admin``
(fault injection, switched from Python or over HTTP), ``modes`` (which kind of FHIR server each
registry imitates: ``dialect``, the default; ``standard``, a plain lenient R4 server writing patient
references by id and ignoring unknown parameters with an OperationOutcome; ``no-include``;
``wrong-patient``, mixing another patient's data into every answer; ``strict``; switched like the
faults, or with ``summary-gateway mocks --mode``), ``server``/``runner`` (serving them), and
``mocks/<source>.py`` (what each registry answers, as docs/fhir-profile.md describes).
"""

from mocks.faults import Fault, FaultKind, RequestStats
from mocks.fixtures import BLOCKED_HPR_NUMBER, FIXTURES, PERSONAS, Fixture, Persona, fixture
from mocks.population import Population
from mocks.runner import EPHEMERAL_PORTS, MockRegistries, run_mocks
from mocks.server import MockServer, create_app
from mocks.sources import DEFAULT_HOST, DEFAULT_PORTS, Source, default_base_url

__all__ = [
    "BLOCKED_HPR_NUMBER",
    "DEFAULT_HOST",
    "DEFAULT_PORTS",
    "EPHEMERAL_PORTS",
    "FIXTURES",
    "PERSONAS",
    "Fault",
    "FaultKind",
    "Fixture",
    "MockRegistries",
    "MockServer",
    "Persona",
    "Population",
    "RequestStats",
    "Source",
    "create_app",
    "default_base_url",
    "fixture",
    "run_mocks",
]
