// Opens the gateway's GraphiQL page in headless Chromium, runs the example summary query, and
// prints one JSON line: whether the result appeared, every URL the browser requested, and any
// console error or Content-Security-Policy violation.
//
// Usage: node graphiql.mjs http://127.0.0.1:PORT/graphql [CHROMIUM_PATH]
// Chromium reaches loopback only (browser.mjs). GRAPHQL_AUTHORIZATION (if set) is pasted into
// GraphiQL's Headers tab as the README tells a user to: {"Authorization": "<value>"}.
import { launchLoopbackChromium, pasteAuthorization } from './browser.mjs';

const url = process.argv[2];
const { context, page, close } = await launchLoopbackChromium(process.argv[3]);
const requested = [];
const problems = [];
let found = false;
try {
  context.on('request', (request) => requested.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  if (process.env.GRAPHQL_AUTHORIZATION) {
    await pasteAuthorization(page, process.env.GRAPHQL_AUTHORIZATION);
    // Before the token, the page's schema introspection was refused (401), as it must be: only
    // those refusals are expected; then the schema is fetched again, as the README says.
    const beforeToken = problems.splice(0);
    for (const problem of beforeToken) {
      if (!problem.includes('401')) problems.push(problem);
    }
    await page.locator('[aria-label="Re-fetch GraphQL schema"]').click();
  }
  await page.locator('.graphiql-execute-button').click();
  const response = page.locator('.graphiql-response');
  await response.getByText('identityNumberKind').first().waitFor({ timeout: 20000 });
  found = (await response.innerText()).includes('"status"');
} catch (error) {
  problems.push(`driver: ${error.message.split('\n')[0]}`);
} finally {
  await close();
}
console.log(JSON.stringify({ found, requested, problems }));
