// Opens the gateway's GraphiQL page in headless Chromium, runs the example summary query, and
// prints one JSON line: whether the result appeared, every URL the browser requested, and any
// console error or Content-Security-Policy violation.
//
// Usage: node graphiql.mjs http://127.0.0.1:PORT/graphql [CHROMIUM_PATH]
// Chromium is started so that it can reach nothing but loopback: every other host goes to a
// proxy on a port where nothing listens, and host names other than 127.0.0.1 do not resolve.
// GRAPHQL_AUTHORIZATION (if set) is pasted into GraphiQL's Headers tab as the README tells a
// user to: {"Authorization": "<value>"}.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.argv[2];
const executablePath = process.argv[3] || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));
const requested = [];
const problems = [];

const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Loopback bypasses a proxy by default; everything else goes to the discard port.
    '--proxy-server=http://127.0.0.1:9',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ],
});
let found = false;
try {
  context.on('request', (request) => requested.push(request.url()));
  const page = context.pages()[0] ?? (await context.newPage());
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
    await page.getByText('Headers', { exact: true }).click();
    await page.locator('.graphiql-editor-tool .graphiql-editor:visible').last().click();
    // insertText, not typing: the editor would close each bracket typed a second time.
    const headers = { Authorization: process.env.GRAPHQL_AUTHORIZATION };
    await page.keyboard.insertText(JSON.stringify(headers));
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
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ found, requested, problems }));
