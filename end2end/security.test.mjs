// A fresh server nobody can claim without its setup link, and hosted pages that keep working
// under a strict Content-Security-Policy, refuse to be framed, and are cached on repeat visits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

// A site of its own on another origin of this machine, whose one page frames `url`.
async function framingSite(url) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<iframe id="hosted" src="${url}" width="400" height="400"></iframe>`);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

describe('a fresh server with dashboard sign-up closed', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse({ STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED: 'false' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('strangers cannot sign up; the setup link creates the first admin once', async () => {
    const refused = await fetch(`${gh.baseUrl}/api/v1/auth/password/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'client', 'x-stack-project-id': 'internal' },
      body: JSON.stringify({ email: 'stranger@example.com', password: PASSWORD }),
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('x-stack-known-error'), 'SIGN_UP_NOT_ENABLED');

    const link = gh.log().match(/(http:\/\/\S+\/setup\?token=[0-9a-z]+)/)?.[1];
    assert.ok(link, `the start-up log prints the setup link:\n${gh.log()}`);
    const wrong = await watchedPage(await browser.newContext());
    await wrong.goto(link.replace(/token=[0-9a-z]+/, 'token=0000'));
    await wrong.waitForSelector('text=does not work any more');

    const page = await watchedPage(await browser.newContext());
    await page.goto(link);
    await page.waitForSelector('body[data-hydrated="true"]');
    await shot(page, 'setup');
    await page.fill('input[name="email"]', 'owner@example.com');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button:has-text("Create admin")');
    await page.waitForURL(`${gh.baseUrl}/`);
    await page.waitForSelector('text=Gatehouse Dashboard');
    assert.deepEqual(page.problems, []);

    await page.goto(link);
    await page.waitForSelector('text=does not work any more');
  });
});

describe('hosted pages under the security policy', () => {
  let gh, browser, signIn;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
    signIn = `${gh.baseUrl}/handler/${gh.project.project_id}/sign-in`;
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('pages carry the headers, the dashboard still hydrates, and the policy names a fresh nonce each time', async () => {
    const page = await watchedPage(await browser.newContext());
    const res = await page.goto(signIn);
    const h = res.headers();
    const nonce = h['content-security-policy'].match(/'nonce-([^']+)'/)?.[1];
    assert.ok(nonce, h['content-security-policy']);
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/);
    assert.doesNotMatch(h['content-security-policy'], /script-src[^;]*'unsafe-inline'/);
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'strict-origin-when-cross-origin');
    assert.equal(h['cache-control'], 'no-store');
    // The dashboard's pages run the hydration script under the same policy.
    const dashboard = await watchedPage(await browser.newContext());
    const shown = await dashboard.goto(`${gh.baseUrl}/setup`);
    assert.match(shown.headers()['content-security-policy'], /script-src 'self' 'nonce-/);
    await dashboard.waitForSelector('body[data-hydrated="true"]');
    assert.deepEqual([...page.problems, ...dashboard.problems], [], 'no CSP violation or other console error');
    const again = await fetch(signIn);
    assert.notEqual(again.headers.get('content-security-policy'), h['content-security-policy']);
    const withCode = await fetch(`${signIn}?code=abc`);
    assert.equal(withCode.headers.get('referrer-policy'), 'same-origin');
  });

  // Loads a page of a site on another origin (a real server on this machine: Chromium refuses
  // to let a public site frame a loopback one at all) that frames the sign-in page, and says
  // whether the sign-in form rendered inside.
  async function framedFormShows(context, site) {
    const page = await context.newPage();
    await page.goto(site.origin);
    const frame = await (await page.waitForSelector('#hosted')).contentFrame();
    await frame.waitForLoadState();
    const shows = (await frame.$('input[name="email"]').catch(() => null)) !== null;
    await page.close();
    return shows;
  }

  test('another site cannot frame the sign-in page', async () => {
    const evil = await framingSite(signIn);
    try {
      assert.equal(await framedFormShows(await browser.newContext(), evil), false, 'the framed sign-in form was not rendered');
    } finally {
      evil.close();
    }
  });

  test('a project lets the sites it names frame its hosted pages, and no others', async () => {
    // Gatehouse's own setting, in the config tree under its own key.
    const admin = (method, origins) => fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method,
      headers: {
        'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id,
        'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key,
      },
      body: JSON.stringify({ config_override_string: JSON.stringify({
        'hostedPages.frameOrigins': Object.fromEntries(origins.map((o, i) => [`site${i}`, o])),
      }) }),
    });
    const [partner, evil] = [await framingSite(signIn), await framingSite(signIn)];
    try {
      const bad = await admin('PATCH', ['https://a.test; script-src *']);
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /hostedPages\.frameOrigins\.site0 must be an origin/);
      const ok = await admin('PATCH', [partner.origin]);
      assert.equal(ok.status, 200, await ok.text());

      const res = await fetch(signIn);
      assert.ok(res.headers.get('content-security-policy').includes(`frame-ancestors ${partner.origin}`));
      assert.equal(res.headers.get('x-frame-options'), null);
      const dashboard = await fetch(`${gh.baseUrl}/`);
      assert.match(dashboard.headers.get('content-security-policy'), /frame-ancestors 'none'/, 'the dashboard stays unframeable');

      const context = await browser.newContext();
      assert.equal(await framedFormShows(context, partner), true, 'the named site frames the sign-in page');
      assert.equal(await framedFormShows(context, evil), false, 'other sites are still refused');
    } finally {
      await admin('PATCH', []);
      partner.close();
      evil.close();
    }
  });

  test('a repeat visit downloads nothing but the page itself', async () => {
    const context = await browser.newContext();
    // A visit in a new tab of the same browser profile: what a person coming back does.
    async function visit(url, hydrates) {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      const fetched = [];
      cdp.on('Network.responseReceived', (e) => {
        if (!e.response.fromDiskCache && !e.response.fromMemoryCache && e.response.status !== 304) fetched.push(e.response.url);
      });
      await page.goto(url);
      if (hydrates) await page.waitForSelector('body[data-hydrated="true"]');
      await page.waitForLoadState('networkidle');
      await page.close();
      return fetched;
    }
    const hosted = await visit(signIn, false);
    assert.ok(hosted.some((u) => u.endsWith('.css')), `first visit fetched the stylesheet: ${hosted}`);
    assert.ok(!hosted.some((u) => /\.wasm$/.test(u)), `a hosted page loads no wasm: ${hosted}`);
    assert.deepEqual(hosted.filter((u) => u.endsWith('.js')).map((u) => u.split('/').pop()), ['hosted.js', 'copy.js'],
      `a hosted page's one script (and the copy buttons it imports): ${hosted}`);
    assert.deepEqual(await visit(signIn, false), [signIn], 'only the HTML came over the network');

    const setup = `${gh.baseUrl}/setup`;
    const dashboard = await visit(setup, true);
    assert.ok(dashboard.some((u) => u.endsWith('.wasm')), `the dashboard fetched the bundle: ${dashboard}`);
    assert.deepEqual(await visit(setup, true), [setup], 'only the HTML came over the network');
  });
});
