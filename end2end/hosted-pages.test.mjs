// A project's hosted auth pages in Chromium: sign up, change the display name, sign out, sign in;
// the same without JavaScript; and a sign-in link that tries to send people elsewhere. The pages
// are plain forms (their one small script only adds passkeys and password helpers), so
// JavaScript on or off they behave alike.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, submit, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('hosted auth pages', () => {
  let gh, browser, pages;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
    pages = `${gh.baseUrl}/handler/${gh.project.project_id}`;
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('with JavaScript: sign up, rename, sign out, sign in', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-up`);
    const scripts = await page.locator('script[src]').evaluateAll((s) => s.map((x) => x.getAttribute('src')));
    assert.deepEqual(scripts.map((src) => src.split('/').pop()), ['hosted.js'], 'a hosted page loads one small script and no wasm');
    assert.equal(await page.textContent('.project-name'), 'End-to-end');
    await shot(page, 'sign-up');

    await submit(page, { email: 'js@example.com', password: 'short' }, 'Sign up');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /Password too short/);
    assert.match(page.url(), /\/sign-up(\?|$)/, 'the error shows on the sign-up page');

    await submit(page, { email: 'js@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);
    await page.waitForSelector('text=Signed in as');
    assert.equal(await page.textContent('.signed-in-as strong'), 'js@example.com');

    await Promise.all([
      page.waitForNavigation(),
      submit(page, { display_name: 'Ada Lovelace', profile_image_url: `${gh.baseUrl}/favicon.svg` }, 'Save'),
    ]);
    await page.reload();
    assert.equal(await page.inputValue('input[name="display_name"]'), 'Ada Lovelace');
    assert.equal(await page.getAttribute('img.avatar', 'src'), `${gh.baseUrl}/favicon.svg`);
    await shot(page, 'account-settings');

    await page.goto(`${pages}/sign-out`);
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${pages}/sign-in`);
    await page.goto(`${pages}/sign-out`);
    await page.waitForSelector('text=You are signed out.');
    await page.goto(`${pages}/account-settings`);
    await page.waitForSelector('text=You are not signed in.');

    await page.goto(`${pages}/sign-in`);
    await submit(page, { email: 'js@example.com', password: 'not the password' }, 'Sign in');
    await page.waitForSelector('text=Wrong e-mail or password.');
    await submit(page, { email: 'js@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.inputValue('input[name="display_name"]'), 'Ada Lovelace');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('without JavaScript: the same forms work as plain HTML posts', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${pages}/sign-up`);
    await submit(page, { email: 'nojs@example.com', password: 'short' }, 'Sign up');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /Password too short/);

    await submit(page, { email: 'nojs@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'nojs@example.com');
    await submit(page, { display_name: 'No Script' }, 'Save');
    await page.waitForURL(/\/account-settings\??$/);
    assert.equal(await page.inputValue('input[name="display_name"]'), 'No Script');
    const [cookie] = (await context.cookies()).filter((c) => c.name.startsWith('gatehouse_session_'));
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');

    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${pages}/sign-in`);
    await submit(page, { email: 'nojs@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForURL(`${pages}/account-settings`);
    await context.close();
  });

  test('a sign-in link may return only to trusted places', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-up`);
    await submit(page, { email: 'redirect@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);

    await page.goto(`${pages}/sign-in?after_auth_return_to=${encodeURIComponent('https://evil.test/steal')}`);
    await submit(page, { email: 'redirect@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /not a trusted domain/);
    assert.ok(page.url().startsWith(gh.baseUrl), page.url());

    // localhost is trusted while the project allows it (the default).
    const local = `${gh.baseUrl.replace('127.0.0.1', 'localhost')}/health`;
    await page.goto(`${pages}/sign-in?after_auth_return_to=${encodeURIComponent(local)}`);
    await submit(page, { email: 'redirect@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForURL(local);
    await context.close();
  });

  test('revoke another session, change the password, delete the account', async () => {
    const email = 'sessions@example.com';
    const a = await browser.newContext();
    const pageA = await watchedPage(a);
    await pageA.goto(`${pages}/sign-up`);
    await submit(pageA, { email, password: PASSWORD }, 'Sign up');
    await pageA.waitForURL(`${pages}/account-settings`);

    const b = await browser.newContext();
    const pageB = await b.newPage();
    await pageB.goto(`${pages}/sign-in`);
    await submit(pageB, { email, password: PASSWORD }, 'Sign in');
    await pageB.waitForURL(`${pages}/account-settings`);

    await pageA.reload();
    assert.equal(await pageA.locator('.session').count(), 2);
    assert.equal(await pageA.locator('.session .badge').textContent(), 'This device');
    await pageA.click('button:has-text("Revoke")');
    await pageA.waitForFunction(() => document.querySelectorAll('.session').length === 1);
    await pageB.reload();
    await pageB.waitForSelector('text=You are not signed in.');

    await submit(pageA, { old_password: 'not my password', new_password: 'a brand new password' }, 'Change password');
    await pageA.waitForSelector('#password-heading ~ form [role="alert"]');
    assert.match(await pageA.textContent('#password-heading ~ form [role="alert"]'), /Passwords do not match/);
    await submit(pageA, { old_password: PASSWORD, new_password: 'a brand new password' }, 'Change password');
    await pageA.waitForSelector('text=Password changed.');
    await pageB.goto(`${pages}/sign-in`);
    await submit(pageB, { email, password: 'a brand new password' }, 'Sign in');
    await pageB.waitForURL(`${pages}/account-settings`);

    // Deleting one's own account is off until the project turns it on.
    assert.equal(await pageA.locator('text=Delete my account').count(), 0);
    const admin = await fetch(`${gh.baseUrl}/api/v1/internal/projects/current`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id,
        'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
      body: JSON.stringify({ config: { client_user_deletion_enabled: true } }),
    });
    assert.equal(admin.status, 200);
    await pageA.reload();
    await pageA.check('.danger input[type="checkbox"]');
    await pageA.click('button:has-text("Delete my account")');
    await pageA.waitForURL(`${pages}/sign-up`);
    await pageA.goto(`${pages}/sign-in`);
    await submit(pageA, { email, password: 'a brand new password' }, 'Sign in');
    await pageA.waitForSelector('text=Wrong e-mail or password.');
    assert.deepEqual(pageA.problems, []);
    await a.close();
    await b.close();
  });

  test('posts from another site are refused', async () => {
    const form = await fetch(`${pages}/sign-in`).then((r) => r.text());
    const action = form.match(/action="([^"]+)"/)[1];
    const res = await fetch(gh.baseUrl + action, {
      method: 'POST',
      headers: { origin: 'https://evil.test', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ project_id: gh.project.project_id, email: 'x@example.com', password: PASSWORD }),
      redirect: 'manual',
    });
    assert.equal(res.status, 403);
  });
});
