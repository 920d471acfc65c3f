// Runs graphql-http's server audit suite (the GraphQL-over-HTTP spec's MUST, SHOULD and MAY
// checks) against a running gateway and prints one line per audit, then "N passed, N failed".
//
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Every request carries the headers a real integration sends: GRAPHQL_AUTHORIZATION (if set)
// as Authorization, and apollo-require-preflight, without which the gateway's CSRF prevention
// refuses GET queries that a browser could send unasked.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs GRAPHQL_URL');
  process.exit(2);
}
const extraHeaders = { 'apollo-require-preflight': 'true' };
if (process.env.GRAPHQL_AUTHORIZATION) {
  extraHeaders.authorization = process.env.GRAPHQL_AUTHORIZATION;
}

function fetchWithHeaders(input, init = {}) {
  const headers = new Headers(init.headers);
  for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithHeaders });
let passed = 0;
let failed = 0;
for (const result of results) {
  if (result.status === 'ok') {
    passed += 1;
    console.log(`ok    ${result.id} ${result.name}`);
  } else {
    failed += 1;
    console.log(`FAIL  ${result.id} ${result.name}: ${result.reason}`);
    if (result.response) {
      console.log(`      status ${result.response.status}: ${await result.response.text()}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
