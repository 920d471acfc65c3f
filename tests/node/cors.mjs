// A browser app on another origin calling the gateway, in headless Chromium: the page at APP_URL
// sends the headers a real frontend sends (W3C trace context, Apollo's clientAwareness), which
// makes the browser ask the gateway first (a CORS preflight). Prints one JSON line: each
// request's status and body, or the browser's error ("Failed to fetch" when CORS refused it).
//
// Usage: node cors.mjs APP_URL http://127.0.0.1:PORT/graphql NIN [CHROMIUM_PATH]
// GRAPHQL_AUTHORIZATION (if set) is sent as the Authorization header. Chromium reaches loopback
// only (browser.mjs).
import { createHash } from 'node:crypto';
import { launchLoopbackChromium } from './browser.mjs';

const [appUrl, graphqlUrl, nin, executablePath] = process.argv.slice(2);
const QUERY = 'query CorsSummary($nin: NationalIdentityNumber!) { patient(nin: $nin) { nin } }';

const { page, close } = await launchLoopbackChromium(executablePath);
const requests = [];
let origin = null;
let results = null;
try {
  page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
  await page.goto(appUrl);
  origin = await page.evaluate(() => window.location.origin);
  results = await page.evaluate(
    async ({ graphqlUrl, authorization, query, hash, nin }) => {
      const headers = {
        'content-type': 'application/json',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        tracestate: 'ehr=frontend',
        'apollographql-client-name': 'ehr-web',
        'apollographql-client-version': '1.4.2',
        ...(authorization ? { authorization } : {}),
      };
      async function attempt(url, init) {
        try {
          const response = await fetch(url, init);
          return { status: response.status, body: await response.json() };
        } catch (error) {
          return { error: String(error) };
        }
      }
      const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
      const post = await attempt(graphqlUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables: { nin }, extensions }),
      });
      // The same operation by hash alone over GET, as Apollo's persisted-query link sends it
      // (the POST above taught the gateway the text under its hash).
      const params = new URLSearchParams({
        variables: JSON.stringify({ nin }),
        extensions: JSON.stringify(extensions),
      });
      const hashed = await attempt(`${graphqlUrl}?${params}`, { method: 'GET', headers });
      return { post, hashed };
    },
    {
      graphqlUrl,
      authorization: process.env.GRAPHQL_AUTHORIZATION,
      query: QUERY,
      hash: createHash('sha256').update(QUERY).digest('hex'),
      nin,
    },
  );
} finally {
  await close();
}
console.log(JSON.stringify({ origin, results, requests }));
