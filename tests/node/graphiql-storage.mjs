// What GraphiQL keeps of a query that holds an identity number as a literal: types such a query
// into the gateway's GraphiQL page in headless Chromium, runs it, then reads the page's address,
// localStorage and sessionStorage, and reloads the page to see what the editor opens with.
// Prints one JSON line.
//
// Usage: node graphiql-storage.mjs http://127.0.0.1:PORT/graphql NIN [CHROMIUM_PATH]
// GRAPHQL_AUTHORIZATION (if set) is pasted into GraphiQL's Headers tab. Chromium reaches
// loopback only (browser.mjs).
import { launchLoopbackChromium, pasteAuthorization } from './browser.mjs';

const [url, nin, executablePath] = process.argv.slice(2);
const { page, close } = await launchLoopbackChromium(executablePath);
const typed = `query Literal { patient(nin: "${nin}") { nin } }`;
const problems = [];

function storedText() {
  const everything = {};
  for (const [name, storage] of [['local', localStorage], ['session', sessionStorage]]) {
    for (let i = 0; i < storage.length; i += 1) {
      const key = storage.key(i);
      everything[`${name}:${key}`] = storage.getItem(key);
    }
  }
  return { location: window.location.href, stored: everything };
}

let answered = false;
let afterRun = null;
let afterReload = null;
try {
  await page.goto(url, { waitUntil: 'networkidle' });
  if (process.env.GRAPHQL_AUTHORIZATION) {
    await pasteAuthorization(page, process.env.GRAPHQL_AUTHORIZATION);
  }
  await page.locator('.graphiql-query-editor .CodeMirror').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(typed);
  // GraphiQL reads the operation's name from the editor after a short debounce.
  await page.waitForTimeout(500);
  await page.locator('.graphiql-execute-button').click();
  const response = page.locator('.graphiql-response');
  await response.getByText(nin).first().waitFor({ timeout: 20000 });
  answered = true;
  // GraphiQL writes its tabs and history after a short debounce: give it ample time.
  await page.waitForTimeout(1500);
  afterRun = await page.evaluate(storedText);
  await page.reload({ waitUntil: 'networkidle' });
  afterReload = {
    ...(await page.evaluate(storedText)),
    editor: await page.locator('.graphiql-query-editor .CodeMirror').innerText(),
  };
} catch (error) {
  problems.push(`driver: ${error.message.split('\n')[0]}`);
} finally {
  await close();
}
console.log(JSON.stringify({ typed, answered, afterRun, afterReload, problems }));
