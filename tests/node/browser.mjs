// Headless Chromium for the browser tests, able to reach nothing but loopback: every other host
// goes to a proxy on a port where nothing listens, and host names other than 127.0.0.1 do not
// resolve. Shared by graphiql.mjs, graphiql-storage.mjs and cors.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Starts Chromium with a fresh profile; `close()` stops it and removes the profile.
export async function launchLoopbackChromium(executablePath = '/usr/bin/chromium') {
  const profile = mkdtempSync(join(tmpdir(), 'gateway-chromium-'));
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
  const page = context.pages()[0] ?? (await context.newPage());
  async function close() {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return { context, page, close };
}

// Pastes {"Authorization": "<value>"} into GraphiQL's Headers tab, as the README tells a user to.
export async function pasteAuthorization(page, authorization) {
  await page.getByText('Headers', { exact: true }).click();
  await page.locator('.graphiql-editor-tool .graphiql-editor:visible').last().click();
  // insertText, not typing: the editor would close each bracket typed a second time.
  await page.keyboard.insertText(JSON.stringify({ Authorization: authorization }));
}
