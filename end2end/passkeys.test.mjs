// Passkeys in Chromium with its virtual authenticator (the DevTools WebAuthn domain, through
// Playwright's CDP session): add a passkey in account settings, name it, sign out, sign in with
// it, remove it; the same pages with JavaScript off say that passkeys need it. The hosted pages
// load one small script for this (no wasm), which also shows passwords on demand.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, watchedPage } from './support/browser.mjs';
import { startSdkApp } from './support/sdk-app.mjs';

const PASSWORD = 'correct horse battery';

describe('passkeys on the hosted pages', () => {
  let gh, browser, pages, app;
  before(async () => {
    gh = await startGatehouse();
    const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id, 'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
      body: JSON.stringify({ config_override_string: JSON.stringify({ 'auth.passkey.allowSignIn': true }) }),
    });
    assert.equal(on.status, 200, await on.text());
    browser = await launchBrowser();
    // WebAuthn wants a domain for its relying party: the same server, as localhost.
    pages = `${gh.baseUrl.replace('127.0.0.1', 'localhost')}/handler/${gh.project.project_id}`;
    app = await startSdkApp(gh, { host: 'localhost', urls: { home: '/', afterSignIn: '/signed-in', signIn: '/' } });
  });
  after(async () => {
    await app?.stop();
    await browser?.close();
    await gh?.stop();
  });

  async function withAuthenticator(context, page) {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    } });
    return { cdp, authenticatorId };
  }

  test('add a passkey, name it, sign in with it, remove it', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    const { cdp, authenticatorId } = await withAuthenticator(context, page);
    await page.goto(`${pages}/sign-up`);
    const scripts = await page.locator('script[src]').evaluateAll((s) => s.map((x) => x.getAttribute('src')));
    assert.equal(scripts.length, 1, 'one script');
    assert.match(scripts[0], /\/hosted\.js$/);
    await page.fill('input[name="email"]', 'passkey@example.com');
    await page.fill('input[name="password"]', 'abc');
    assert.equal(await page.textContent('.password-strength'), '5 more characters needed.');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button:has-text("Show password")');
    assert.equal(await page.getAttribute('input[name="password"]', 'type'), 'text');
    assert.equal(await page.textContent('.password-strength'), 'Strong.');
    await page.click('button:has-text("Sign up")');
    await page.waitForURL(`${pages}/account-settings`);

    assert.match(await page.textContent('#passkeys'), /No passkeys yet/);
    await page.click('button:has-text("Add a passkey")');
    await page.waitForURL(/done=passkey/);
    await page.waitForSelector('.passkey-item');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential');
    assert.equal(credentials[0].rpId, 'localhost');
    await page.fill('.passkey-item input[name="name"]', 'Work laptop');
    await page.click('.passkey-item button:has-text("Rename")');
    await page.waitForFunction(() => document.querySelector('.passkey-item input[name="name"]')?.value === 'Work laptop');
    await page.reload();
    assert.equal(await page.inputValue('.passkey-item input[name="name"]'), 'Work laptop');
    assert.match(await page.textContent('.passkey-item small'), /last used never/);
    await shot(page, 'account-passkeys');

    // Signed out, the sign-in page asks the browser for a passkey to offer in the address
    // field's autofill (conditional UI); the virtual authenticator picks it at once.
    await context.clearCookies();
    await page.goto(`${pages}/sign-in`);
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'passkey@example.com');
    assert.doesNotMatch(await page.textContent('.passkey-item small'), /last used never/);

    // Removed, the passkey signs in nowhere: the autofill fails quietly, the button says why.
    await page.click('.passkey-item button:has-text("Remove")');
    await page.waitForSelector('text=No passkeys yet');
    await context.clearCookies();
    await page.goto(`${pages}/sign-in`);
    await shot(page, 'sign-in-passkey');
    await page.click('button:has-text("Sign in with a passkey")');
    await page.waitForSelector('[data-passkey-error]:not([hidden])');
    assert.match(await page.textContent('[data-passkey-error]'), /not registered here/);
    assert.match(page.url(), /\/sign-in$/);
    assert.deepEqual(page.problems.filter((p) => !/passkey-sign-in/.test(p)), []);
    await context.close();
  });

  test('without JavaScript the pages say passkeys need it, and the other ways still work', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${pages}/sign-in`);
    assert.equal(await page.isVisible('button:has-text("Sign in with a passkey")'), false);
    assert.match(await page.textContent('.passkey'), /needs JavaScript/);
    assert.equal(await page.getAttribute('input[name="email"]', 'autocomplete'), 'email webauthn', 'passkeys offered in autofill');
    await page.goto(`${pages}/sign-up`);
    await page.fill('input[name="email"]', 'nojs-passkey@example.com');
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button:has-text("Sign up")');
    await page.waitForURL(`${pages}/account-settings`);
    assert.match(await page.textContent('#passkeys'), /Adding a passkey needs JavaScript/);
    await context.close();
  });

  test("the SDK in a browser app: registerPasskey, then signInWithPasskey", async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await withAuthenticator(context, page);
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => window.ready === true);
    const registered = await page.evaluate(async () => {
      const r = await window.stack.signUpWithCredential({ email: 'sdk-passkey@example.com', password: 'correct horse battery', noRedirect: true, noVerificationCallback: true });
      if (r.status !== 'ok') return r;
      const user = await window.stack.getUser({ or: 'throw' });
      const added = await user.registerPasskey();
      return { status: added.status, error: added.error?.message, enabled: (await window.stack.getUser({ or: 'throw' })).passkeyAuthEnabled };
    });
    assert.deepEqual(registered, { status: 'ok', error: undefined, enabled: true });

    await context.clearCookies();
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => window.ready === true);
    assert.equal(await page.evaluate(async () => (await window.stack.getUser()) === null), true, 'signed out');
    await Promise.all([
      page.waitForURL(`${app.url}/signed-in`),
      page.evaluate(() => { window.stack.signInWithPasskey(); }),
    ]);
    await page.waitForFunction(() => window.ready === true);
    const email = await page.evaluate(async () => (await window.stack.getUser({ or: 'throw' })).primaryEmail);
    assert.equal(email, 'sdk-passkey@example.com');
    assert.deepEqual(page.problems, []);
    await context.close();
  });
});
