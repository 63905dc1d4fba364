// Abuse, the way people meet it: someone hammers an account's password on the hosted page (with
// JavaScript off), the page says why it stopped, the owner gets an email, and an admin lifts the
// lockout in the dashboard; Stack's SDK rides out a short rate limit by itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, submit, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('abuse limits', () => {
  let gh, browser, projectId, adminPage, server, admin;
  before(async () => {
    gh = await startGatehouse({ GATEHOUSE_RATE_LIMITS: 'on' });
    browser = await launchBrowser();
    adminPage = await watchedPage(await browser.newContext());
    await signUpAdmin(adminPage, gh.baseUrl, 'abuse-admin@example.com', PASSWORD);
    await adminPage.fill('input[name="display_name"]', 'Guarded');
    await adminPage.click('button:has-text("Create project")');
    await adminPage.waitForSelector('text=Guarded is ready');
    projectId = await adminPage.textContent('code[data-key="project_id"]');
    const keys = { 'content-type': 'application/json', 'x-stack-project-id': projectId };
    server = { ...keys, 'x-stack-access-type': 'server', 'x-stack-secret-server-key': await adminPage.textContent('code[data-key="secret_server_key"]') };
    admin = { ...keys, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': await adminPage.textContent('code[data-key="super_secret_admin_key"]') };
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  async function configure(over) {
    const res = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH', headers: admin, body: JSON.stringify({ config_override_string: JSON.stringify(over) }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  test('wrong passwords on the hosted page: the lockout, its email, the admin unlock (JavaScript off)', async () => {
    const user = await fetch(`${gh.baseUrl}/api/v1/users`, {
      method: 'POST', headers: server,
      body: JSON.stringify({ primary_email: 'hammered@example.com', primary_email_auth_enabled: true, password: PASSWORD }),
    }).then((r) => r.json());
    const page = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    const signIn = `${gh.baseUrl}/handler/${projectId}/sign-in`;
    for (let i = 1; i <= 10; i++) {
      await page.goto(signIn);
      await submit(page, { email: 'hammered@example.com', password: `guess ${i} of many` }, 'Sign in');
      await page.waitForSelector('text=Wrong e-mail or password.');
    }
    await page.goto(signIn);
    await submit(page, { email: 'hammered@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForSelector('text=Too many failed sign-in attempts for this account');
    await shot(page, 'sign-in-locked');

    // The owner was told, with a way back in.
    const deadline = Date.now() + 30_000;
    let paused;
    while (!paused) {
      const outbox = await fetch(`${gh.baseUrl}/api/v1/emails/outbox`, { headers: server }).then((r) => r.json());
      paused = outbox.items.find((m) => m.subject.includes('was paused'));
      assert.ok(paused || Date.now() < deadline, 'the lockout email');
      if (!paused) await new Promise((ok) => setTimeout(ok, 100));
    }
    assert.deepEqual(paused.to, { type: 'user-custom-emails', user_id: user.id, emails: ['hammered@example.com'] });
    assert.match(paused.html, /forgot-password/);

    // The dashboard shows the lock; the admin lifts it.
    await adminPage.goto(`${gh.baseUrl}/projects/${projectId}/users/${user.id}`);
    await adminPage.waitForSelector('body[data-hydrated="true"]');
    await adminPage.waitForSelector('.lockout:has-text("Password sign-in is paused until")');
    await shot(adminPage, 'dashboard-user-locked');
    await adminPage.click('button:has-text("Unlock password sign-in")');
    await adminPage.waitForSelector('.lockout', { state: 'detached' });
    assert.deepEqual(adminPage.problems, []);

    await page.goto(signIn);
    await submit(page, { email: 'hammered@example.com', password: PASSWORD }, 'Sign in');
    await page.waitForURL((url) => !url.pathname.endsWith('/sign-in'));
    const events = gh.events(projectId).map((e) => e.kind);
    assert.ok(events.includes('user.locked_out') && events.includes('user.unlocked'), events.join());
  });

  test('sign-ups past the per-address limit are refused on the hosted page, in words', async () => {
    await configure({ 'auth.allowSignUp': true, 'security.rateLimits.signUp.perIp': { max: 2, windowSeconds: 60 } });
    const page = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    for (let i = 1; i <= 3; i++) {
      await page.context().clearCookies();
      await page.goto(`${gh.baseUrl}/handler/${projectId}/sign-up`);
      await submit(page, { email: `many-${i}@example.com`, password: PASSWORD }, 'Sign up');
      if (i < 3) await page.waitForURL((url) => !url.pathname.endsWith('/sign-up'));
    }
    await page.waitForSelector('text=Too many sign-ups in a short time');
  });

  test('the settings room edits the security settings', async () => {
    await adminPage.goto(`${gh.baseUrl}/projects/${projectId}/settings`);
    await adminPage.waitForSelector('body[data-hydrated="true"]');
    const form = adminPage.locator('form.security-settings');
    await form.locator('select[name="bot_challenge"]').selectOption('proofOfWork');
    await form.locator('input[name="proof_of_work_bits"]').fill('12');
    await form.locator('input[name="lockout_failures"]').fill('5');
    await form.locator('input[name="refuse_common_passwords"]').uncheck();
    await form.locator('button:has-text("Save security settings")').click();
    await adminPage.waitForSelector('form.security-settings [role="status"]:has-text("Saved.")');
    await shot(adminPage, 'dashboard-security-settings');
    const rendered = await fetch(`${gh.baseUrl}/api/v1/internal/config`, { headers: admin }).then((r) => r.json());
    const security = JSON.parse(rendered.config_string).security;
    assert.deepEqual(
      [security.botChallenge.mode, security.botChallenge.proofOfWorkBits, security.lockout.maxFailures, security.refuseCommonPasswords],
      ['proofOfWork', 12, 5, false],
    );
    // Turnstile without its keys is refused in words.
    await form.locator('select[name="bot_challenge"]').selectOption('turnstile');
    await form.locator('button:has-text("Save security settings")').click();
    await adminPage.waitForSelector('text=Turnstile needs the site key and the secret key');
    assert.deepEqual(adminPage.problems, []);
    await configure({ security: null });
  });

  for (const js of [true, false]) test(`the sign-up's proof of work on the hosted page (JavaScript ${js ? 'on' : 'off'})`, async () => {
    await configure({ 'auth.allowSignUp': true, 'security.rateLimits.signUp.perIp': null, 'security.botChallenge': { mode: 'proofOfWork' } });
    const page = await watchedPage(await browser.newContext({ javaScriptEnabled: js }));
    await page.goto(`${gh.baseUrl}/handler/${projectId}/sign-up`);
    const email = `puzzled-${js}@example.com`;
    if (js) {
      // The page's script solves the default puzzle (18 bits) while the person types.
      await page.waitForSelector('[data-pow-solved="true"]', { timeout: 30_000 });
      assert.match(await page.textContent('[data-pow-status]'), /passed the check against bots/);
      await shot(page, 'sign-up-proof-of-work');
      await submit(page, { email, password: PASSWORD }, 'Sign up');
      await page.waitForURL((url) => !url.pathname.endsWith('/sign-up'));
      const users = await fetch(`${gh.baseUrl}/api/v1/users?query=${email}`, { headers: server }).then((r) => r.json());
      assert.deepEqual(users.items.map((u) => [u.primary_email, u.risk_scores.sign_up.bot]), [[email, 0]]);
    } else {
      // Without JavaScript the page says why it cannot, before and after a try.
      await page.waitForSelector('text=Signing up here needs JavaScript');
      await submit(page, { email, password: PASSWORD }, 'Sign up');
      await page.waitForSelector('text=Turn JavaScript on for this page and try again');
    }
    assert.deepEqual(page.problems, []);
    await configure({ 'security.botChallenge': null });
  });

  test("Stack's SDK waits out a short limit by itself (Retry-After)", async () => {
    await configure({ 'security.rateLimits.signIn.perIp': { max: 1, windowSeconds: 2 } });
    const sdk = await import('stack-current');
    const app = new sdk.StackClientApp({ projectId, baseUrl: gh.baseUrl, tokenStore: 'memory' });
    await fetch(`${gh.baseUrl}/api/v1/users`, {
      method: 'POST', headers: server,
      body: JSON.stringify({ primary_email: 'patient@example.com', primary_email_auth_enabled: true, password: PASSWORD }),
    });
    const started = Date.now();
    for (let i = 0; i < 2; i++) {
      const result = await app.signInWithCredential({ email: 'patient@example.com', password: PASSWORD, noRedirect: true });
      assert.equal(result.status, 'ok', JSON.stringify(result));
    }
    // The second sign-in met the limit and went through after the wait the server named.
    assert.ok(Date.now() - started >= 1000, `${Date.now() - started} ms`);
  });
});
