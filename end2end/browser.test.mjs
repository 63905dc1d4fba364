// The pages in a real browser: server-rendered, then hydrated; and whole without JavaScript.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { SHOTS, launchBrowser, shot, watchedPage } from './support/browser.mjs';

describe('pages in Chromium', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('the API reference is one page from the binary, whole without JavaScript', async () => {
    const doc = await (await fetch(`${gh.baseUrl}/api/v1/openapi.json`)).json();
    assert.equal(doc.openapi, '3.1.0');
    const operations = Object.values(doc.paths).flatMap((ops) => Object.keys(ops)).length;
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1100, height: 900 } });
    const page = await watchedPage(context);
    const requests = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${gh.baseUrl}/api/v1/docs`);
    assert.equal(await page.locator('article').count(), operations, 'every operation of the document');
    assert.ok(requests.every((u) => u.startsWith(gh.baseUrl)), `nothing from elsewhere: ${requests}`);
    await page.click('nav a[href="#auth/password"]');
    const signUp = page.locator('article[id="auth.password.sign-up.post"]');
    assert.match(await signUp.textContent(), /rate-limited as signUp/);
    assert.match(await signUp.locator('li', { hasText: 'email' }).first().textContent(), /email \(required\): string \(email\)/);
    const badge = await page.locator('.m.post').first().evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.equal(badge, 'rgb(220, 252, 231)', 'its own styles apply');
    await page.goto(`${gh.baseUrl}/api/v1/docs#users`);
    await page.screenshot({ path: `${SHOTS}/api-reference.png` });
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('the dashboard sends visitors to its sign-in page, which loads without errors or wasm', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await page.goto(gh.baseUrl);
    await page.waitForURL(/\/handler\/internal\/sign-in\?after_auth_return_to=%2F$/);
    assert.equal(await page.textContent('.project-name'), 'Gatehouse Dashboard');
    const scripts = await page.locator('script[src]').evaluateAll((s) => s.map((x) => x.getAttribute('src')));
    assert.deepEqual(scripts.map((src) => src.split('/').pop()), ['hosted.js'], 'only the hosted pages\' small script');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('light and dark: the system decides until the person chooses', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    const page = await watchedPage(context);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.goto(`${gh.baseUrl}/handler/internal/sign-in`);
    assert.equal(await background(), 'rgb(248, 250, 252)');
    await shot(page, 'sign-in-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await background(), 'rgb(11, 17, 32)', 'follows the system');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('button:has-text("Dark")');
    await page.waitForSelector('body[data-theme="dark"]');
    assert.equal(await background(), 'rgb(11, 17, 32)', 'the choice wins over the system');
    assert.equal(await page.getAttribute('button:has-text("Dark")', 'aria-pressed'), 'true');
    await shot(page, 'sign-in-dark');
    await page.click('button:has-text("System")');
    await page.waitForFunction(() => !document.body.hasAttribute('data-theme'));
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test("pages fit a phone's width", async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await watchedPage(context);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await page.goto(`${gh.baseUrl}/handler/internal/sign-up?after_auth_return_to=%2F`);
    assert.ok(await fits(), 'sign-up page');
    await page.fill('input[name="email"]', 'phone@example.com');
    await page.fill('input[name="password"]', 'correct horse battery');
    await page.click('button:has-text("Sign up")');
    await page.waitForURL(`${gh.baseUrl}/`);
    await page.fill('input[name="display_name"]', 'Pocket');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Pocket is ready');
    await shot(page, 'phone-dashboard');
    assert.ok(await fits(), 'dashboard with new keys');
    await page.click('a:has-text("Pocket")');
    await page.waitForSelector('.chart');
    assert.ok(await fits(), 'project overview');
    await shot(page, 'phone-overview');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('without JavaScript the redirect and the page are the same', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(gh.baseUrl);
    await page.waitForURL(/\/handler\/internal\/sign-in/);
    assert.equal(await page.textContent('h1'), 'Sign in');
    assert.equal(await page.getAttribute('body', 'data-hydrated'), null);
    await context.close();
  });
});
