// API keys on the hosted account page, in Chromium with JavaScript off: a user creates a key
// (shown once), the app's backend checks it, the user revokes it and the check refuses it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('API keys on the hosted account page', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('create a key, see it once, check it, revoke it', async () => {
    const p = gh.project;
    const headers = (type, key) => ({ 'content-type': 'application/json', 'x-stack-access-type': type, 'x-stack-project-id': p.project_id, [`x-stack-${key[0]}`]: key[1] });
    const admin = headers('admin', ['super-secret-admin-key', p.super_secret_admin_key]);
    const server = headers('server', ['secret-server-key', p.secret_server_key]);
    const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH', headers: admin,
      body: JSON.stringify({ config_override_string: JSON.stringify({ 'apiKeys.enabled.user': true }) }),
    });
    assert.equal(on.status, 200, await on.text());
    const check = (apiKey) => fetch(`${gh.baseUrl}/api/v1/user-api-keys/check`, { method: 'POST', headers: server, body: JSON.stringify({ api_key: apiKey }) });

    const pages = `${gh.baseUrl}/handler/${p.project_id}`;
    const page = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    await page.goto(`${pages}/sign-up`);
    await page.fill('input[name="email"]', 'keys@example.com');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button:has-text("Sign up")');
    await page.waitForURL(`${pages}/account-settings`);
    await page.fill('#key-description-me', 'Deploy script');
    await page.fill('#key-days-me', '30');
    await page.click('#api-keys button:has-text("Create key")');
    await page.waitForSelector('.new-api-key');
    const secret = await page.inputValue('.new-api-key input');
    assert.match(secret, /^sk_.*574ck4u7h[0-9a-f]{8}$/);
    assert.match(await page.textContent('li.api-key[data-description="Deploy script"]'), new RegExp(`…${secret.slice(-4)}[\\s\\S]*Until`));
    await shot(page, 'account-api-keys');
    // Shown once: a reload shows the key no more.
    await page.reload();
    assert.equal(await page.locator('.new-api-key').count(), 0);

    const ok = await check(secret);
    assert.equal(ok.status, 200, await ok.text());
    await page.click('li.api-key[data-description="Deploy script"] button:has-text("Revoke")');
    await page.waitForURL(/done=key-revoked/);
    assert.match(await page.textContent('li.api-key[data-description="Deploy script"]'), /Revoked/);
    const refused = await check(secret);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).code, 'API_KEY_REVOKED');
    assert.deepEqual(page.problems, []);
  });
});
