// Apollo Client 3 as a frontend team sets it up: an HttpLink with the platform's fetch, and the
// persisted-query link sending a hash alone over GET. Runs one scenario and prints one JSON line
// for the pytest that runs it (tests/e2e/test_node_tools.py).
//
// Usage: node apollo.mjs SCENARIO http://127.0.0.1:PORT/graphql NIN [TRUSTED_DOCUMENT]
//   persisted        automatic persisted queries (the demo): hash over GET, the text once by POST
//                    if the gateway does not know it yet, then the hash alone over GET again
//   trusted          a registered document (production): the hash of TRUSTED_DOCUMENT's exact
//                    bytes, as a manifest-driven client sends it, over GET
//   partial          a section's registry fails: default errorPolicy, then errorPolicy 'all'
//   unauthenticated  no token: where Apollo reports the 401
// GRAPHQL_AUTHORIZATION (if set) is sent as the Authorization header.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const [scenario, uri, nin, trustedDocument] = process.argv.slice(2);
const authorization = process.env.GRAPHQL_AUTHORIZATION;
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

// Every HTTP exchange, so the test can see what went over GET and what came back.
const exchanges = [];
async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  const url = new URL(typeof input === 'string' ? input : input.url);
  exchanges.push({
    method: init?.method ?? 'GET',
    queryInUrl: url.searchParams.has('query'),
    queryInBody: typeof init?.body === 'string' && 'query' in JSON.parse(init.body),
    status: response.status,
    contentType: response.headers.get('content-type'),
  });
  return response;
}

function client(links = [], headers = authorization ? { authorization } : {}) {
  const http = new HttpLink({ uri, fetch: recordingFetch, headers });
  return new ApolloClient({
    link: links.reduceRight((next, link) => link.concat(next), http),
    cache: new InMemoryCache(),
  });
}

function describe(error) {
  return {
    name: error.name,
    message: error.message,
    graphQLErrorCodes: (error.graphQLErrors ?? []).map((e) => e.extensions?.code),
    networkStatus: error.networkError?.statusCode ?? null,
    networkCodes: (error.networkError?.result?.errors ?? []).map((e) => e.extensions?.code),
  };
}

// A new operation name each run: the shared gateway has never seen this text's hash.
const SUMMARY = gql`
  query ApolloSummary${Date.now()}($nin: NationalIdentityNumber!) {
    patient(nin: $nin) { nin medications { status prescriptions { id } } }
  }
`;

async function persisted() {
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: true });
  const first = await client([link]).query({ query: SUMMARY, variables: { nin } });
  // A second page load: a fresh client and cache, the hash already known to the gateway.
  const second = await client([link]).query({ query: SUMMARY, variables: { nin } });
  return { first: first.data.patient, second: second.data.patient };
}

async function trusted() {
  const text = readFileSync(trustedDocument, 'utf8');
  const registered = sha256(text);
  // As @apollo/persisted-query-lists does: the id comes from the build's manifest, not from
  // hashing the (typename-rewritten) document Apollo would print.
  const link = createPersistedQueryLink({
    generateHash: () => registered,
    useGETForHashedQueries: true,
  });
  const result = await client([link]).query({
    query: gql(text),
    variables: { nin },
    fetchPolicy: 'no-cache',
  });
  return { patient: { nin: result.data.patient.nin } };
}

async function partial() {
  let thrown = null;
  try {
    await client().query({ query: SUMMARY, variables: { nin }, fetchPolicy: 'no-cache' });
  } catch (error) {
    thrown = describe(error);
  }
  const result = await client().query({
    query: SUMMARY,
    variables: { nin },
    fetchPolicy: 'no-cache',
    errorPolicy: 'all',
  });
  return {
    thrown,
    all: {
      nin: result.data.patient.nin,
      medications: result.data.patient.medications,
      errors: (result.errors ?? []).map((e) => ({ code: e.extensions?.code, path: e.path })),
    },
  };
}

async function unauthenticated() {
  try {
    await client([], {}).query({ query: SUMMARY, variables: { nin } });
  } catch (error) {
    return { thrown: describe(error) };
  }
  return { thrown: null };
}

const scenarios = { persisted, trusted, partial, unauthenticated };
const outcome = await scenarios[scenario]();
console.log(JSON.stringify({ ...outcome, exchanges }));
