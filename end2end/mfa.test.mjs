// The second factor and CLI sign-in, driven as people drive them: codes from npm `otplib` (as an
// authenticator app makes them); the hosted pages in Chromium with JavaScript off (set up an
// app from the page's QR key, sign in with a code, then with a recovery code, turn it off); the
// official SDK's `update({ totpMultiFactorSecret })` and `signInWithMfa`; `gatehouse login`
// and the SDK's `promptCliLogin`, confirmed on the hosted page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticator } from 'otplib';
import { base32 } from './support/base32.mjs';
import { BIN, startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, submit, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

// The app's code for the 30-second step `offset` steps from now (the server allows one either
// way). Each sign-in below uses a later step than the last, as no code is accepted twice.
const codeAt = (key, offset) => {
  authenticator.options = { epoch: Date.now() + offset * 30_000 };
  const code = authenticator.generate(key);
  authenticator.resetOptions();
  return code;
};

describe('two-factor authentication and CLI sign-in', () => {
  let gh, browser, pages, api;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
    pages = `${gh.baseUrl}/handler/${gh.project.project_id}`;
    api = async (method, path, { access = 'client', token, body } = {}) => {
      const headers = { 'content-type': 'application/json', 'x-stack-access-type': access, 'x-stack-project-id': gh.project.project_id };
      if (access === 'client') headers['x-stack-publishable-client-key'] = gh.project.publishable_client_key;
      if (access === 'server') headers['x-stack-secret-server-key'] = gh.project.secret_server_key;
      if (token) headers['x-stack-access-token'] = token;
      const res = await fetch(`${gh.baseUrl}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  async function signIn(page, email) {
    await page.goto(`${pages}/sign-in`);
    await submit(page, { email, password: PASSWORD }, 'Sign in');
  }

  test('hosted pages, JavaScript off: set up an app, sign in with a code and a recovery code, turn it off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-up`);
    await submit(page, { email: 'mfa@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);
    assert.match(await page.textContent('#mfa-heading + *'), /Off/);
    await page.click('a:has-text("Set up an authenticator app")');
    await page.waitForURL(`${pages}/mfa-setup`);
    assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code is drawn by the server');
    await shot(page, 'mfa-setup');
    const key = (await page.textContent('code.break-all')).trim();

    await submit(page, { code: '000000' === codeAt(key, -1) ? '111111' : '000000' }, 'Turn on');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /TOTP code is invalid/);
    // The page drew a new secret; the key shown now is the one to use.
    const key2 = (await page.textContent('code.break-all')).trim();
    // The codes below go one step back, now, and one ahead, in that order; a code one step back
    // is refused once the step turns, so the run starts early in a step (a turn is due within
    // five seconds at most once in six runs).
    const rest = 30_000 - (Date.now() % 30_000);
    if (rest < 5_000) await new Promise((r) => setTimeout(r, rest + 100));
    await submit(page, { code: codeAt(key2, -1) }, 'Turn on');
    await page.waitForURL(/\/mfa-setup\?codes=/);
    const codes = await page.locator('.recovery-codes li').allTextContents();
    assert.equal(codes.length, 10);
    await shot(page, 'mfa-recovery-codes');
    await page.reload();
    assert.equal(await page.locator('.recovery-codes').count(), 0, 'recovery codes are shown once');

    const me = await api('GET', '/users?query=mfa%40example.com', { access: 'server' });
    assert.equal(me.body.items[0].requires_totp_mfa, true);

    // Signing in now asks for a code; a wrong one is refused on the page.
    await context.clearCookies();
    await signIn(page, 'mfa@example.com');
    await page.waitForURL(/\/mfa\?attempt=/);
    await shot(page, 'mfa-sign-in');
    await submit(page, { totp: '000000' === codeAt(key2, 0) ? '111111' : '000000' }, 'Verify');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /TOTP code is invalid/);
    const used = codeAt(key2, 0);
    await submit(page, { totp: used }, 'Verify');
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'mfa@example.com');
    assert.match(await page.textContent('#mfa-heading + *'), /On/);

    // A lost phone: a recovery code signs in, once.
    for (const [code, works] of [[codes[0], true], [codes[0], false], [codes[1], true]]) {
      await context.clearCookies();
      await signIn(page, 'mfa@example.com');
      await page.waitForURL(/\/mfa\?attempt=/);
      await page.click('summary');
      await submit(page, { recovery_code: code }, 'Sign in with a recovery code');
      if (works) {
        await page.waitForURL(`${pages}/account-settings`);
      } else {
        await page.waitForSelector('[role="alert"]');
        assert.match(await page.textContent('[role="alert"]'), /recovery code is not one of yours, or it has been used/);
      }
    }
    assert.match(await page.textContent('#mfa-heading + *'), /8 recovery codes left/);

    // Off, after a code from the app; the code already used to sign in is refused.
    await submit(page, { code: used }, 'Turn off');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /TOTP code is invalid/);
    await submit(page, { code: codeAt(key2, 1) }, 'Turn off');
    await page.waitForURL(`${pages}/account-settings?done=mfa-off`);
    await page.waitForSelector('text=Two-factor authentication is off.');
    await context.clearCookies();
    await signIn(page, 'mfa@example.com');
    await page.waitForURL(`${pages}/account-settings`);
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('the SDK: turn on TOTP with user.update, and finish a sign-in with signInWithMfa', async () => {
    const sdk = await import('stack-current');
    const app = new sdk.StackClientApp({ projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory', noAutomaticPrefetch: true });
    const signedUp = await app.signUpWithCredential({ email: 'sdk-mfa@example.com', password: PASSWORD, noRedirect: true, noVerificationCallback: true });
    assert.equal(signedUp.status, 'ok', JSON.stringify(signedUp));
    const user = await app.getUser({ or: 'throw' });
    const secret = crypto.getRandomValues(new Uint8Array(20));
    await user.update({ totpMultiFactorSecret: secret });
    assert.equal((await app.getUser({ or: 'throw' })).isMultiFactorRequired, true);
    const key = base32(secret);

    // The SDK's sign-in hands MFA to a browser page; outside one, the attempt comes from REST.
    const first = await api('POST', '/auth/password/sign-in', { body: { email: 'sdk-mfa@example.com', password: PASSWORD } });
    assert.equal(first.body.code, 'MULTI_FACTOR_AUTHENTICATION_REQUIRED');
    const fresh = new sdk.StackClientApp({ projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory', noAutomaticPrefetch: true });
    const wrong = await fresh.signInWithMfa('000000' === codeAt(key, 0) ? '111111' : '000000', first.body.details.attempt_code, { noRedirect: true });
    assert.equal(wrong.status, 'error');
    assert.equal(wrong.error.errorCode, 'INVALID_TOTP_CODE');
    const ok = await fresh.signInWithMfa(codeAt(key, 0), first.body.details.attempt_code, { noRedirect: true });
    assert.equal(ok.status, 'ok', JSON.stringify(ok));
    const me = await fresh.getUser({ or: 'throw' });
    assert.equal(me.primaryEmail, 'sdk-mfa@example.com');
    assert.equal(me.isMultiFactorRequired, true);

    await me.update({ totpMultiFactorSecret: null });
    const plain = await api('POST', '/auth/password/sign-in', { body: { email: 'sdk-mfa@example.com', password: PASSWORD } });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
  });

  test('gatehouse login, confirmed on the hosted page; then whoami, api and logout', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-up`);
    await submit(page, { email: 'terminal@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);

    const env = { ...process.env, GATEHOUSE_CREDENTIALS: join(mkdtempSync(join(tmpdir(), 'gatehouse-cli-')), 'credentials.json') };
    const login = spawn(BIN, ['login', '--server', gh.baseUrl, '--project', gh.project.project_id,
      '--publishable-client-key', gh.project.publishable_client_key, '--timeout', '60'], { env });
    let out = '';
    login.stderr.on('data', (c) => { out += c; });
    const exited = new Promise((ok) => login.once('exit', ok));
    const link = await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no link:\n${out}`)), 20_000);
      login.stderr.on('data', () => {
        const m = out.match(/(http:\/\/\S+cli-auth-confirm\?login_code=\S+)/);
        if (m) { clearTimeout(timer); ok(m[1]); }
      });
    });
    await page.goto(link);
    await page.waitForSelector('text=terminal@example.com');
    await shot(page, 'cli-auth-confirm');
    await page.click('button:has-text("Sign in the terminal")');
    await page.waitForSelector('text=Your terminal is signed in');
    assert.equal(await exited, 0, out);
    assert.match(out, /Signed in as terminal@example\.com/);

    const whoami = JSON.parse(execFileSync(BIN, ['whoami'], { env }).toString());
    assert.equal(whoami.primary_email, 'terminal@example.com');
    const renamed = JSON.parse(execFileSync(BIN, ['api', 'PATCH', '/users/me', '--data', '{"display_name":"From the terminal"}'], { env }).toString());
    assert.equal(renamed.display_name, 'From the terminal');
    // The terminal's session is its own, beside the browser's.
    const sessions = JSON.parse(execFileSync(BIN, ['api', 'GET', `/auth/sessions?user_id=${whoami.id}`], { env }).toString());
    assert.equal(sessions.items.length, 2);
    // The link works once.
    await page.goto(link);
    await page.click('button:has-text("Sign in the terminal")');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /Invalid login code/);

    execFileSync(BIN, ['logout'], { env });
    assert.throws(() => execFileSync(BIN, ['whoami'], { env, stdio: 'pipe' }), /not logged in/);
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test("a dashboard admin's terminal calls their project as its admin; the SDK's promptCliLogin", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    await page.goto(`${gh.baseUrl}/handler/internal/sign-up`);
    await submit(page, { email: 'admin-cli@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL((u) => !u.pathname.endsWith('/sign-up'));
    const token = (await context.cookies()).find((c) => c.name === 'gatehouse_session_internal').value;
    const access = await fetch(`${gh.baseUrl}/api/v1/auth/sessions/current/refresh`, {
      method: 'POST', headers: { 'x-stack-access-type': 'client', 'x-stack-project-id': 'internal', 'x-stack-refresh-token': token },
    }).then((r) => r.json());
    const project = await fetch(`${gh.baseUrl}/api/v1/internal/projects`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'client', 'x-stack-project-id': 'internal', 'x-stack-access-token': access.access_token },
      body: JSON.stringify({ display_name: 'Scripted' }),
    }).then((r) => r.json());

    const sdk = await import('stack-current');
    const cliApp = new sdk.StackClientApp({ projectId: 'internal', baseUrl: gh.baseUrl, tokenStore: 'memory', noAutomaticPrefetch: true,
      urls: { cliAuthConfirm: `${gh.baseUrl}/handler/internal/cli-auth-confirm` } });
    let shown;
    const prompted = cliApp.promptCliLogin({ appUrl: gh.baseUrl, waitTimeMillis: 200, maxAttempts: 300, promptLink: (url) => { shown = url; } });
    while (!shown) await new Promise((ok) => setTimeout(ok, 20));
    await page.goto(shown);
    await page.click('button:has-text("Sign in the terminal")');
    await page.waitForSelector('text=Your terminal is signed in');
    const result = await prompted;
    assert.equal(result.status, 'ok', JSON.stringify(result));

    // The refresh token the SDK got is an admin's session: with it, `gatehouse api --project`.
    const env = { ...process.env, GATEHOUSE_CREDENTIALS: join(mkdtempSync(join(tmpdir(), 'gatehouse-cli-')), 'credentials.json') };
    const { writeFileSync } = await import('node:fs');
    writeFileSync(env.GATEHOUSE_CREDENTIALS, JSON.stringify({ server: gh.baseUrl, project_id: 'internal', publishable_client_key: null, refresh_token: result.data }));
    const users = JSON.parse(execFileSync(BIN, ['api', '--project', project.id, 'GET', '/users'], { env }).toString());
    assert.deepEqual(users.items, []);
    const made = JSON.parse(execFileSync(BIN, ['api', '--project', project.id, 'POST', '/users', '--data', '{"primary_email":"scripted@example.com"}'], { env }).toString());
    assert.equal(made.primary_email, 'scripted@example.com');
    assert.throws(() => execFileSync(BIN, ['api', '--project', gh.project.project_id, 'GET', '/users'], { env, stdio: 'pipe' }), /answered 4\d\d/,
      'a project the admin does not manage');
    await context.close();
  });

  test("the dashboard: a user's two-factor state and its reset; signing in as the user", async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'mfa-admin@example.com', PASSWORD);
    await page.fill('input[name="display_name"]', 'Secure');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Secure is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const ssk = await page.textContent('code[data-key="secret_server_key"]');
    const server = { 'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk };
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const user = await fetch(`${gh.baseUrl}/api/v1/users`, { method: 'POST', headers: server, body: JSON.stringify({
      primary_email: 'locked-out@example.com', primary_email_auth_enabled: true, password: PASSWORD, totp_secret_base64: Buffer.from(secret).toString('base64'),
    }) }).then((r) => r.json());

    await page.goto(`${gh.baseUrl}/projects/${projectId}/users/${user.id}`);
    await page.waitForSelector('body[data-hydrated="true"]');
    assert.match(await page.textContent('.mfa-state'), /is on/);
    await page.check('text=They lost their authenticator app and recovery codes');
    await page.click('button:has-text("Turn off two-factor authentication")');
    await page.waitForSelector('.mfa-state:has-text("is off")');
    const signIn = await fetch(`${gh.baseUrl}/api/v1/auth/password/sign-in`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-stack-access-type': 'client', 'x-stack-project-id': projectId },
      body: JSON.stringify({ email: 'locked-out@example.com', password: PASSWORD }),
    });
    assert.equal(signIn.status, 200, await signIn.text());

    // Signing in as the user opens their account page, where the session says whose it is.
    await page.click('button:has-text("Sign in as this user")');
    await page.waitForURL(`${gh.baseUrl}/handler/${projectId}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'locked-out@example.com');
    assert.equal(await page.locator('.session:has-text("Opened by an administrator, as you")').count(), 1);
    await shot(page, 'impersonation-account');
    // As in Stack, the server's list leaves admins' sessions out; an admin's shows them.
    const sessions = await fetch(`${gh.baseUrl}/api/v1/auth/sessions?user_id=${user.id}`, { headers: server }).then((r) => r.json());
    assert.deepEqual(sessions.items.map((x) => x.is_impersonation), [false]);
    const created = gh.events(projectId).filter((e) => e.kind === 'session.created' && e.data.is_impersonation);
    assert.equal(created.length, 1);
    assert.equal(created[0].actor_type, 'admin');
    await page.goto(`${gh.baseUrl}/projects/${projectId}/users/${user.id}`);
    await page.waitForSelector('text=Admin, as this user');
    assert.deepEqual(page.problems, []);
    await context.close();
  });
});
