"""A FHIR R4 search client for one source: paging, timeouts, retries, the patient binding.

Every request goes through the one error boundary (``gateway/upstream/http_errors.py``), which
turns transport, status and JSON failures into ``SourceError``s; what is judged here is the FHIR
(its shape, its patient, its paging), and a shape not understood is ``SOURCE_BAD_RESPONSE``.
Every search of a patient's data is bound to that patient (``gateway/upstream/binding.py``): the
patient is named the way the source understands (by default its own Patient id), and every resource
that comes back, included ones too, must be that patient's; an ``OperationOutcome`` or a ``self``
link saying a filter was not applied fails the search. Neither kind of answer is cached or shown.
Each search goes through the source's ``Upstream`` (cache, single-flight, bulkhead, breaker,
stale-if-error); each HTTP request has aiohttp's connect and total timeouts, cut to the request's
deadline, and is retried when the failure is transient (``gateway/upstream/retry.py``). Raw FHIR
JSON leaves this module only towards the source modules in ``resolvers/``, which map it into typed
objects; nothing past them sees a dict.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import aiohttp
import orjson

from gateway.errors import (
    SourceBadResponse,
    SourceFilterIgnored,
    SourceIncomplete,
    SourceTimeout,
    SourceUnavailable,
    SourceWrongPatient,
)
from gateway.execution.shared_list import shared
from gateway.identity import NationalIdentityNumber
from gateway.settings import SourceSettings
from gateway.upstream.batch import ALONE, EntryAnswer, SearchBatcher, batch_bundle, entry_answers
from gateway.upstream.binding import (
    BindingMode,
    PatientBinding,
    bound_patient_ids,
    holds_patient_data,
    reference_target,
    request_bindings,
)
from gateway.upstream.capabilities import Capabilities
from gateway.upstream.credentials import Credentials
from gateway.upstream.deadline import bounded, remaining
from gateway.upstream.fan_out import LIVE, Page, Provenance
from gateway.upstream.guard import Read, Served, Upstream
from gateway.upstream.http_errors import Answer, Peer, fhir_resource, raise_for_status
from gateway.upstream.retry import retrying, transient

T = TypeVar("T")

Resource = Mapping[str, Any]
"""One FHIR resource as parsed JSON. Only source modules read these."""

log = logging.getLogger("gateway.fhir")

_ACCEPT = {"Accept": "application/fhir+json"}
_BATCH_HEADERS = {**_ACCEPT, "Content-Type": "application/fhir+json"}
# Left as they are in a batch entry's URL, as aiohttp leaves them in a query string: some servers
# (Medplum's router) match ``_include=Type:param`` without decoding ``%3A`` first.
_QUERY_SAFE = ":|,/"
_INCLUDES = ("_include", "_revinclude")
# Parameters that shape an answer rather than filter it: a server may leave them out of its
# ``self`` link or warn about them (an ``_include`` not honoured is then fetched or reported by the
# source module) without having shown anything that is not the patient's.
_RESULT_PARAMS = frozenset(
    {
        "_count",
        "_include",
        "_include:iterate",
        "_revinclude",
        "_sort",
        "_elements",
        "_summary",
        "_total",
        "_format",
    }
)
_WARNING_SEVERITIES = frozenset({"fatal", "error", "warning"})
_BINDINGS_KEPT = 10_000
# FHIR's id datatype: what may follow ``<type>/`` in a URL we build.
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True, slots=True)
class SearchResult:
    """All pages of one FHIR search: the matches, the included resources, how far we got."""

    matches: list[Resource]
    included: dict[str, Resource] = field(default_factory=dict)
    pages: int = 1
    truncated: bool = False
    provenance: Provenance = LIVE
    derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """Typed objects mapped from this result (``FhirSource.fetch``), kept while it is cached."""

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data, for the cache (provenance is not part of it)."""
        return {
            "matches": self.matches,
            "included": self.included,
            "pages": self.pages,
            "truncated": self.truncated,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchResult:
        """The result ``to_json`` gave."""
        return cls(
            list(data["matches"]), dict(data["included"]), int(data["pages"]), data["truncated"]
        )

    def resolve(self, reference: Mapping[str, Any] | None) -> Resource | None:
        """The included resource a ``{"reference": "Type/id"}`` points at, if it came along."""
        if not reference:
            return None
        ref = reference.get("reference")
        return self.included.get(ref) if isinstance(ref, str) else None


class FhirSource:
    """Searches one FHIR server. Holds no per-patient state but a bounded memo of patient
    bindings (upstream data, like the cache); one instance per source per app."""

    def __init__(
        self,
        name: str,
        settings: SourceSettings,
        session: aiohttp.ClientSession,
        upstream: Upstream,
        credentials: Credentials | None = None,
    ):
        """``upstream`` is the source's guard (cache, single-flight, bulkhead, breaker): the
        app's is built on its shared cache; a script or a test passes one of its own (nothing
        here reads the environment's settings). ``credentials`` authenticate every request
        (default: none, over TLS with the system's CAs)."""
        if settings.base_url is None:
            raise ValueError(f"source {name} has no base_url")
        self.name = name
        self.base_url = settings.base_url
        self._settings = settings
        self._session = session
        self._credentials = credentials or Credentials(name)
        self.upstream = upstream
        self._peer = Peer(name)
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc)
        self._capabilities: Capabilities | None = None
        self._capabilities_read_at = 0.0
        self._capabilities_flight: asyncio.Task[Capabilities] | None = None
        self.binding_mode: BindingMode | None = (
            None if settings.patient_binding is BindingMode.AUTO else settings.patient_binding
        )
        """How this source's searches name the patient; None until ``auto`` has chosen."""
        self._bindings: OrderedDict[str, tuple[float, PatientBinding]] = OrderedDict()
        self.batcher = SearchBatcher(self._send_batch, settings.batch_max_entries)
        self._batch_refused = False  # a batch was refused since the capabilities were read

    @property
    def routes(self) -> str:
        """Which searches read this source's sections (``SourceSettings.routes``)."""
        return self._settings.routes

    async def fetch(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        build: Callable[[SearchResult], T],
        *,
        patient: NationalIdentityNumber,
        by: str | None = None,
        cacheable: bool = True,
        whole: bool = False,
    ) -> Page[T]:
        """Search, then map the result with ``build`` into typed objects.

        ``by`` names the reference parameter that ties ``resource_type`` to the patient
        (``subject`` or ``patient``): the patient's binding supplies its value. Without ``by``
        the search names the patient itself (``Patient?identifier=``). Either way, every
        resource that comes back is checked to be the patient's.

        A mapping failure (a shape the FHIR profile does not allow) is the source's fault, so it
        becomes SOURCE_BAD_RESPONSE here, like any other bad answer. ``whole``: see ``search``.
        """
        served = await self._read_search(
            resource_type, params, patient, by=by, cacheable=cacheable, whole=whole
        )
        return self.page(served.value, build, served.provenance)

    def page(
        self,
        result: SearchResult,
        build: Callable[[SearchResult], T],
        provenance: Provenance | None = None,
    ) -> Page[T]:
        """``result`` (from ``search``, perhaps completed) mapped with ``build``: see ``fetch``.
        (The result itself, not a copy: its mapped objects are kept with it while cached.)"""
        provenance = result.provenance if provenance is None else provenance
        try:
            items = _mapped(result, build)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceBadResponse(self.name, f"{self._label} sent unusable FHIR") from exc
        return Page(items, result.pages, result.truncated, len(result.matches), provenance)

    async def search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        *,
        patient: NationalIdentityNumber,
        by: str | None = None,
        cacheable: bool = True,
        whole: bool = False,
    ) -> SearchResult:
        """Run a search of ``patient``'s data (the identity number is also the cache's unit of
        invalidation) and follow ``next`` links up to the source's page cap. ``by``: see
        ``fetch``. ``cacheable=False`` always asks the registry (see ``Read.cacheable``).

        ``whole=True`` is for a search where every page counts (the privacy settings: a block
        on a page not read would be a block ignored). It follows ``next`` links up to the
        source's ``whole_read_max_pages`` and raises SOURCE_INCOMPLETE when more are left,
        instead of answering with the pages that came. Every search of the same resource type
        and parameters must agree on ``whole``: they share one flight.
        """
        served = await self._read_search(
            resource_type, params, patient, by=by, cacheable=cacheable, whole=whole
        )
        return dataclasses.replace(served.value, provenance=served.provenance)

    async def capabilities(self) -> Capabilities:
        """The source's CapabilityStatement, read once (single-flight) and kept for
        ``capabilities_ttl_s``. A server without one (HTTP 404) publishes nothing; one that
        cannot be reached raises, and is asked again next time."""
        now = time.monotonic()
        known = self._capabilities
        if (
            known is not None
            and now - self._capabilities_read_at < self._settings.capabilities_ttl_s
        ):
            return known
        flight = self._capabilities_flight
        if flight is None or flight.done():
            flight = asyncio.ensure_future(self._read_capabilities())
            flight.add_done_callback(_retrieved)
            self._capabilities_flight = flight
        try:
            # Shared by every request that needs it, so each waits only to its own deadline.
            return await asyncio.wait_for(asyncio.shield(flight), remaining())
        except TimeoutError:
            raise SourceTimeout(self.name, f"{self._label} did not answer in time") from None

    async def _read_capabilities(self) -> Capabilities:
        # Behind the breaker like any search: a registry that is down is not asked for its
        # CapabilityStatement on every request either.
        found = await self.upstream.guarded(self._capability_statement)
        self._capabilities, self._capabilities_read_at = found, time.monotonic()
        self._batch_refused = False
        if self.binding_mode is None:
            self.binding_mode = (
                BindingMode.REFERENCE
                if found.searches_by("Patient", "identifier")
                else BindingMode.CHAINED
            )
        return found

    async def _capability_statement(self) -> Capabilities:
        try:
            statement = await self._get_json(
                f"{self.base_url}/metadata", None, "CapabilityStatement"
            )
        except SourceBadResponse as error:
            if "HTTP 404" not in str(error) and "HTTP 400" not in str(error):
                raise
            found = Capabilities.unpublished()
        else:
            try:
                found = Capabilities.from_statement(statement)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                raise SourceBadResponse(
                    self.name, f"{self._label} sent an unusable CapabilityStatement"
                ) from exc
        return found

    async def _mode(self) -> BindingMode:
        if self.binding_mode is not None:
            return self.binding_mode
        await self.capabilities()  # which chooses the mode
        return self.binding_mode or BindingMode.REFERENCE

    async def binding(self, patient: NationalIdentityNumber) -> PatientBinding:
        """How this source names ``patient``: in reference mode, the ids of the registry's own
        Patient resources with the number (``Patient?identifier=``, cached and single-flight
        like any search, remembered here for the source's ``binding_ttl_s``, and once per request
        whatever the cache)."""
        memo = request_bindings.get()
        if memo is None:
            return await self._bind(patient)
        key = (self.name, patient.value)
        future = memo.get(key)
        if future is None:
            future = asyncio.ensure_future(self._bind(patient))
            future.add_done_callback(_retrieved)
            memo[key] = future
        if future.done():  # the usual case once one search of the request has bound: no shield
            return future.result()
        return await asyncio.shield(future)

    async def _bind(self, patient: NationalIdentityNumber) -> PatientBinding:
        mode = await self._mode()
        unbound = PatientBinding(mode, patient.fhir_system, patient.value)
        if mode is not BindingMode.REFERENCE:
            return unbound
        now = time.monotonic()
        kept = self._bindings.get(patient.value)
        if kept is not None and now - kept[0] < self._settings.binding_ttl_s:
            return kept[1]
        served = await self._read_search(
            "Patient",
            [("identifier", patient.fhir_token)],
            patient,
            by=None,
            cacheable=True,
            whole=False,
        )
        if served.value.truncated:
            raise SourceBadResponse(
                self.name, f"{self._label} has pages of Patients for one number"
            )
        bound = dataclasses.replace(
            unbound, patient_ids=bound_patient_ids(self.name, served.value.matches)
        )
        if served.provenance.stale_after is None and bound.patient_ids:
            self._bindings[patient.value] = (now, bound)
            self._bindings.move_to_end(patient.value)
            while len(self._bindings) > _BINDINGS_KEPT:
                self._bindings.popitem(last=False)
        return bound

    async def _read_search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        patient: NationalIdentityNumber,
        *,
        by: str | None,
        cacheable: bool,
        whole: bool,
    ) -> Served[SearchResult]:
        max_pages = self._settings.whole_read_max_pages if whole else self._settings.max_pages
        if by is None:
            binding = PatientBinding(BindingMode.IDENTIFIER, patient.fhir_system, patient.value)
            query = list(params)
        else:
            binding = await self.binding(patient)
            if binding.unknown_here:
                # No Patient with the number in this registry: nothing is recorded here.
                return Served(SearchResult([]), LIVE)
            query = [*binding.params(resource_type, by), *params]
        # A cached answer comes back as the same SearchResult while its entry is unchanged.
        served = await self.upstream.read(
            Read(
                patient.value,
                resource_type,
                query,
                fetch=lambda: self._search(resource_type, query, max_pages, binding),
                encode=SearchResult.to_json,
                decode=SearchResult.from_json,
                cacheable=cacheable,
            )
        )
        # Checked here, not in the flight: a long history is not the registry failing, so it
        # must not count towards the breaker.
        if whole and served.value.truncated:
            raise SourceIncomplete(
                self.name,
                f"{self._label} had more than {max_pages} pages of {resource_type}, "
                "which must be read whole",
            )
        return served

    async def _search(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        max_pages: int,
        binding: PatientBinding,
    ) -> SearchResult:
        query = [*params, ("_count", str(self._settings.page_size))]
        url: str | None = f"{self.base_url}/{resource_type}"
        matches: list[Resource] = []
        included: dict[str, Resource] = {}
        pages = 0
        while url is not None and pages < max_pages:
            bundle = await self._get_bundle(url, query if pages == 0 else None)
            if pages == 0:
                self._check_self_link(bundle, params)
            pages += 1
            for entry in _entries(bundle, self.name):
                resource = entry["resource"]
                if resource.get("resourceType") == "OperationOutcome":
                    self._check_outcome(resource, params)
                    continue
                mode = (entry.get("search") or {}).get("mode", "match")
                if mode == "include":
                    included[f"{resource['resourceType']}/{resource.get('id')}"] = resource
                elif resource.get("resourceType") == resource_type:
                    matches.append(resource)
                elif holds_patient_data(str(resource.get("resourceType"))):
                    included[f"{resource['resourceType']}/{resource.get('id')}"] = resource
            url = self._next_link(bundle)
        result = SearchResult(matches, included, pages, truncated=url is not None)
        self._check_owner(result, binding)
        return result

    def _check_owner(self, result: SearchResult, binding: PatientBinding) -> None:
        """Refuse the whole answer when any resource in it is not the patient's."""
        patient_ids = binding.patient_ids | {
            str(r.get("id"))
            for r in (*result.matches, *result.included.values())
            if r.get("resourceType") == "Patient" and binding.carries_number(r)
        }
        for resource in (*result.matches, *result.included.values()):
            if not binding.owned_by(resource, patient_ids):
                log.warning(
                    "%s: refused an answer holding a %s that is not the patient's",
                    self.name,
                    resource.get("resourceType"),
                )
                raise SourceWrongPatient(
                    self.name,
                    f"{self._label} answered with another patient's {resource.get('resourceType')}"
                    "; nothing of that answer is shown",
                )

    def _check_outcome(self, outcome: Resource, sent: Sequence[tuple[str, str]]) -> None:
        """An ``OperationOutcome`` in a searchset is the server's comment on the search. A
        warning or error about a filter we sent (or about something we cannot tell) means the
        answer was not filtered as asked; one about ``_include`` and the like only shapes it."""
        filters = {name for name, _ in sent if name not in _RESULT_PARAMS}
        for issue in outcome.get("issue") or ():
            if not isinstance(issue, Mapping) or issue.get("severity") not in _WARNING_SEVERITIES:
                continue
            said = " ".join(
                str(part)
                for part in (
                    issue.get("diagnostics"),
                    (issue.get("details") or {}).get("text"),
                    *(issue.get("expression") or ()),
                    *(issue.get("location") or ()),
                )
                if part
            )
            about_result_params = any(name in said for name in _RESULT_PARAMS)
            about_filters = any(name.split(":")[0] in said for name in filters)
            if about_filters or not about_result_params:
                log.warning(
                    "%s: refused an answer: the server said it did not apply a search parameter",
                    self.name,
                )
                raise SourceFilterIgnored(
                    self.name, f"{self._label} did not apply a search parameter it was sent"
                )

    def _check_self_link(self, bundle: Resource, sent: Sequence[tuple[str, str]]) -> None:
        """A ``self`` link states the search the server ran (R4 §3.1.1.4): a filter we sent
        that is not in it was not applied."""
        for link in bundle.get("link") or ():
            if not isinstance(link, Mapping) or link.get("relation") != "self":
                continue
            url = link.get("url")
            if not isinstance(url, str):
                return
            applied = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
            dropped = [n for n, _ in sent if n not in _RESULT_PARAMS and n not in applied]
            if dropped:
                log.warning(
                    "%s: refused an answer: its self link leaves out a search parameter sent",
                    self.name,
                )
                raise SourceFilterIgnored(
                    self.name, f"{self._label} did not apply a search parameter it was sent"
                )
            return

    def _next_link(self, bundle: Resource) -> str | None:
        for link in bundle.get("link") or ():
            if isinstance(link, Mapping) and link.get("relation") == "next":
                url = link.get("url")
                if not isinstance(url, str):
                    raise SourceBadResponse(self.name, f"{self._label}: a next link has no URL")
                # A next link elsewhere would send the patient's identifier to another host.
                parts = urlsplit(url)
                if (parts.scheme, parts.netloc) != self._origin:
                    raise SourceBadResponse(
                        self.name, f"{self._label}: a next link points outside the source"
                    )
                return url
        return None

    @property
    def _label(self) -> str:
        return f"the {self.name.replace('_', ' ')} registry"

    async def read(
        self,
        resource_type: str,
        resource_id: str,
        build: Callable[[Resource], T],
        *,
        patient: NationalIdentityNumber,
    ) -> T:
        """``GET <base>/<type>/<id>`` of a resource that belongs to ``patient``, mapped with
        ``build``; a resource of patient data must be the patient's (SOURCE_WRONG_PATIENT).
        Never cached (document content, for one); the source's guard still applies."""
        if not _RESOURCE_ID.fullmatch(resource_id):
            raise SourceBadResponse(self.name, f"{self._label} named an invalid resource id")
        url = f"{self.base_url}/{resource_type}/{resource_id}"
        served = await self.upstream.read(
            Read(
                patient.value,
                resource_type,
                [("_id", resource_id)],
                fetch=lambda: self._get_json(url, None, resource_type),
                encode=lambda resource: resource,
                decode=lambda resource: resource,
                cacheable=False,
            )
        )
        if holds_patient_data(resource_type):
            binding = await self.binding(patient)
            self._check_owner(SearchResult([served.value]), binding)
        try:
            return build(served.value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceBadResponse(self.name, f"{self._label} sent unusable FHIR") from exc

    async def with_referenced(
        self,
        result: SearchResult,
        references: Iterable[Any],
        *,
        patient: NationalIdentityNumber,
    ) -> SearchResult:
        """``result`` with the resources ``references`` name that did not come along (a server
        that does not honour ``_include``, or ``:iterate``) read by id, concurrently, and added
        to its included resources. A reference that is not a plain ``Type/id`` is left alone."""
        wanted: dict[str, tuple[str, str]] = {}
        for reference in references:
            literal = reference.get("reference") if isinstance(reference, Mapping) else None
            if not isinstance(literal, str) or literal in result.included:
                continue
            target = reference_target(literal)
            if target is not None and _RESOURCE_ID.fullmatch(target[1]):
                wanted[literal] = target
        if not wanted:
            return result
        read = await asyncio.gather(
            *(
                self.read(
                    resource_type,
                    resource_id,
                    functools.partial(_the_resource, resource_type, resource_id),
                    patient=patient,
                )
                for resource_type, resource_id in wanted.values()
            )
        )
        return dataclasses.replace(
            result, included={**result.included, **dict(zip(wanted, read, strict=True))}
        )

    async def _get_bundle(self, url: str, params: Sequence[tuple[str, str]] | None) -> Resource:
        """GET one page, retried while the failure is transient and time is left."""
        return await self._get_json(url, params, "Bundle")

    async def _get_json(
        self, url: str, params: Sequence[tuple[str, str]] | None, expected: str
    ) -> Resource:
        """GET one FHIR resource of type ``expected``, retried while the failure is transient.

        The first attempt runs outside tenacity: its loop costs about 30 µs per read even when
        nothing fails, which is most of a cached summary's privacy check. Only when that attempt
        fails transiently does tenacity take over, and it is shown that failure as its own first
        attempt, so the waits, the stops and the number of attempts are exactly its own.
        """
        try:
            return await self._get_json_once(url, params, expected)
        except SourceUnavailable as error:
            if not transient(error):
                raise
            first_failure = error
        replayed = False
        async for attempt in retrying(self._settings):
            with attempt:
                if not replayed:
                    replayed = True
                    raise first_failure
                return await self._get_json_once(url, params, expected)
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    async def _get_json_once(
        self, url: str, params: Sequence[tuple[str, str]] | None, expected: str
    ) -> Resource:
        # The URL holds the patient's identifier: it is never put in a message or a log line.
        left = remaining()
        if left is not None and left <= 0:
            raise SourceTimeout(self.name, f"{self._label} was not asked: no time was left")
        if params is not None and expected == "Bundle" and self._batches(params):
            entry = await self._batched(url, params)
            if entry is not ALONE:
                return self._entry_bundle(entry)
        answer = await self._send("GET", url, params=params)
        raise_for_status(self._peer, answer)
        return fhir_resource(self._peer, answer.body, expected)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: bytes | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        """One exchange with the source, authorised (``Credentials.send``). ``timeout_s``:
        the whole exchange's time (default: the source's, cut to the request's deadline)."""
        timeout = aiohttp.ClientTimeout(
            total=bounded(self._settings.timeout_s) if timeout_s is None else timeout_s,
            sock_connect=bounded(self._settings.connect_timeout_s),
        )
        return await self._credentials.send(
            self._session,
            self._peer,
            method,
            url,
            headers=_BATCH_HEADERS if body is not None else _ACCEPT,
            timeouts=timeout,
            params=params,
            data=body,
        )

    def _batches(self, params: Sequence[tuple[str, str]]) -> bool:
        """Whether this first page goes through the batcher: the setting allows it, the source's
        CapabilityStatement (once read) offers ``batch``, and the search includes nothing.

        A server may run a batch entry's search differently from the same GET: Medplum's router
        drops ``_include`` in batch entries without a word (and writes no ``self`` link there to
        tell), so a search with includes is always sent on its own."""
        known = self._capabilities
        return (
            self._settings.batch
            and not self._batch_refused
            and known is not None
            and known.batch
            and not any(name.startswith(_INCLUDES) for name, _ in params)
        )

    async def _batched(self, url: str, params: Sequence[tuple[str, str]]) -> EntryAnswer:
        """This search's entry of a batch (``ALONE`` when no other search came with it), waited
        for no longer than the request's deadline."""
        relative = url.removeprefix(f"{self.base_url}/")
        answer = self.batcher.submit(
            f"{relative}?{urlencode(params, safe=_QUERY_SAFE, quote_via=quote)}"
        )
        try:
            # Not shielded: the future is this search's alone (the batcher skips a cancelled
            # one), so cancelling it at the deadline leaves the batch to the others.
            async with asyncio.timeout(remaining()):
                return await answer
        except TimeoutError:
            raise SourceTimeout(self.name, f"{self._label} did not answer in time") from None

    def _entry_bundle(self, entry: EntryAnswer) -> Resource:
        """A batch entry judged as a plain answer would be: its status, then its searchset."""
        raise_for_status(self._peer, Answer(entry.status, {}, b""))
        resource = entry.resource
        if resource is None or resource.get("resourceType") != "Bundle":
            raise SourceBadResponse(self.name, f"{self._label} did not answer with a FHIR Bundle")
        return resource

    async def _send_batch(self, relative_urls: list[str]) -> list[EntryAnswer]:
        """``POST [base]`` of a ``batch`` Bundle; its ``batch-response`` entries, in order."""
        body = orjson.dumps(batch_bundle(relative_urls))
        if self.upstream.metrics is not None:
            self.upstream.metrics.batched(len(relative_urls))
        answer = await self._send(
            "POST", self.base_url, body=body, timeout_s=self._settings.timeout_s
        )
        if 400 <= answer.status < 500 and answer.status not in (401, 429):
            # The server refused the batch itself (it no longer takes one, or not this one):
            # each search goes on its own, and no batch is sent until its CapabilityStatement
            # is read again.
            log.warning("%s: the registry refused a batch; searches go one by one", self.name)
            self._batch_refused = True
            return [ALONE] * len(relative_urls)
        raise_for_status(self._peer, answer, "a batch")
        bundle = fhir_resource(self._peer, answer.body, "Bundle")
        return entry_answers(self.name, self._label, bundle, len(relative_urls))


def _retrieved(future: asyncio.Future[Any]) -> None:
    """A shared flight (a binding, a CapabilityStatement) may fail with no one left waiting:
    those that waited report the error."""
    if not future.cancelled():
        future.exception()


def _the_resource(resource_type: str, resource_id: str, resource: Resource) -> Resource:
    """A resource read by id, which must be the one asked for."""
    if resource.get("resourceType") != resource_type or resource.get("id") != resource_id:
        raise ValueError("a read by id answered with another resource")
    return resource


def _entries(bundle: Resource, source: str) -> list[Mapping[str, Any]]:
    entries = bundle.get("entry") or []
    if not isinstance(entries, list) or not all(
        isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping) for e in entries
    ):
        raise SourceBadResponse(source, f"the {source} registry sent a Bundle with broken entries")
    return entries


# Small, total readers of FHIR datatypes. They return None instead of raising on absent parts,
# and raise ValueError/TypeError on a present but malformed one (the source module turns that
# into SOURCE_BAD_RESPONSE).


def first(items: Any) -> Mapping[str, Any]:
    """The first element of a FHIR list, or an empty mapping."""
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0]
    return {}


def text(value: Any) -> str | None:
    """A FHIR string, or None."""
    return value if isinstance(value, str) and value else None


def parse_datetime(value: Any) -> dt.datetime | None:
    """A FHIR ``dateTime`` (or a ``date``, taken as midnight UTC)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("dateTime is not a string")
    if len(value) == 10:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_date(value: Any) -> dt.date | None:
    """A FHIR ``date`` (or the date part of a ``dateTime``)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("date is not a string")
    return dt.date.fromisoformat(value[:10])


def identifier_value(resource_or_ref: Mapping[str, Any], system: str) -> str | None:
    """The value of the identifier with ``system`` on a resource or a logical reference."""
    candidates = resource_or_ref.get("identifier")
    if isinstance(candidates, Mapping):
        candidates = [candidates]
    for identifier in candidates or ():
        if isinstance(identifier, Mapping) and identifier.get("system") == system:
            return text(identifier.get("value"))
    return None


def extension_value(resource: Mapping[str, Any], url: str, key: str) -> Any:
    """``value[x]`` of the extension with ``url``, or None."""
    for extension in resource.get("extension") or ():
        if isinstance(extension, Mapping) and extension.get("url") == url:
            return extension.get(key)
    return None


def _mapped(result: SearchResult, build: Callable[[SearchResult], T]) -> T:
    """``build(result)``, made once per result when ``build`` depends on nothing else.

    A function with no closure and no defaults is known by its code: the same code maps the same
    result to the same objects (the sources' mappings read only the FHIR, never the clock). Its
    lists are then ``shared``: the executor completes them once per query (see
    ``gateway/execution/shared_results.py``). Anything else is mapped afresh.
    """
    code = getattr(build, "__code__", None)
    if code is None or getattr(build, "__closure__", None) or getattr(build, "__defaults__", None):
        return build(result)
    try:
        return cast(T, result.derived[code])
    except KeyError:
        made: T = shared(build(result))
        result.derived[code] = made
        return made
