// Page weight as a phone's browser sees it, for scripts/bench (not a test: it measures). For each
// page: the bytes a first visit transfers (HTML, JS, wasm, CSS, fonts, icons: Chromium's
// encodedDataLength, headers included) with an empty cache, and what a repeat visit in a new tab
// fetches again. Prints one JSON object. GATEHOUSE_BIN names the binary to measure.
import { launchBrowser } from './support/browser.mjs';
import { startGatehouse } from './support/gatehouse.mjs';

const PASSWORD = 'correct horse battery';

// Opens `url` in a new tab of `context` and returns every request that reached the network
// (not served from the browser's cache), with the bytes it transferred.
async function visit(context, url) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const requests = new Map();
  cdp.on('Network.responseReceived', (e) => {
    requests.set(e.requestId, {
      url: e.response.url, status: e.response.status, type: e.type,
      cached: e.response.fromDiskCache || e.response.fromPrefetchCache || false, bytes: 0,
    });
  });
  cdp.on('Network.requestServedFromCache', (e) => { const r = requests.get(e.requestId); if (r) r.cached = true; });
  cdp.on('Network.loadingFinished', (e) => { const r = requests.get(e.requestId); if (r) r.bytes = e.encodedDataLength; });
  await cdp.send('Network.enable');
  await page.goto(url);
  // Hosted pages run no script; the dashboard is done once hydrated.
  if (!new URL(url).pathname.startsWith('/handler/')) await page.waitForSelector('body[data-hydrated="true"]', { timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  await page.close();
  return [...requests.values()].filter((r) => !r.cached && !r.url.startsWith('data:'));
}

function summary(first, repeat) {
  const kb = (rs) => rs.reduce((n, r) => n + r.bytes, 0) / 1024;
  const byType = {};
  for (const r of first) byType[r.type] = (byType[r.type] ?? 0) + r.bytes / 1024;
  return {
    first_kb: kb(first),
    first_requests: first.length,
    by_type_kb: byType,
    // A repeat visit should fetch the document again and nothing else in full; files outside the
    // immutable bundle (the icon) are only revalidated (304, no body).
    repeat_kb: kb(repeat),
    repeat_downloads: repeat.filter((r) => r.status !== 304 && r.type !== 'Document').map((r) => r.url),
    repeat_revalidated: repeat.filter((r) => r.status === 304).length,
  };
}

// Signs up through the hosted sign-up page in `context`, leaving its session cookie there.
async function signUp(context, baseUrl, projectId, email) {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/handler/${projectId}/sign-up`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.endsWith('/sign-up'));
  await page.close();
}

const gatehouse = await startGatehouse();
const browser = await launchBrowser();
const results = {};
try {
  const { baseUrl, project } = gatehouse;
  // A page's first visit: a context of its own, so an empty cache; signed in where the page needs
  // it by copying only the session cookies from a context that signed in.
  const measure = async (name, url, cookiesFrom) => {
    const context = await browser.newContext();
    if (cookiesFrom) await context.addCookies(await cookiesFrom.cookies());
    const first = await visit(context, url);
    const repeat = await visit(context, url);
    results[name] = { url: new URL(url).pathname, ...summary(first, repeat) };
    await context.close();
  };
  await measure('sign-in', `${baseUrl}/handler/${project.project_id}/sign-in`);
  await measure('sign-up', `${baseUrl}/handler/${project.project_id}/sign-up`);
  const user = await browser.newContext();
  await signUp(user, baseUrl, project.project_id, 'weight@example.com');
  await measure('account settings', `${baseUrl}/handler/${project.project_id}/account-settings`, user);
  const admin = await browser.newContext();
  await signUp(admin, baseUrl, 'internal', 'admin@example.com');
  await measure('dashboard home', `${baseUrl}/`, admin);
} finally {
  await browser.close();
  await gatehouse.stop();
}
console.log(JSON.stringify(results));
