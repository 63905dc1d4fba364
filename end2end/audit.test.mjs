// The audit log, driven as people make its entries: the SDK signs a person up, a wrong password
// and a wrong second factor fail behind a proxy (the visitor's address is the one the proxy
// names), the person changes their password, a server turns two-factor on, an admin
// impersonates, grants a permission, changes the configuration and ends a session. An admin
// then reads it all back with filters and a cursor, sets its retention and prunes it; nothing
// can edit it. Last, in Chromium: the dashboard's audit room shows a new project's entries and
// searches them without JavaScript.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StackClientApp } from 'stack-current';
import { authenticator } from 'otplib';
import { base32 } from './support/base32.mjs';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';
const VISITOR = '203.0.113.7';

describe('the audit log', () => {
  let gh, p, other, browser;
  before(async () => {
    // The server trusts the local proxy's X-Forwarded-For, as behind a reverse proxy.
    gh = await startGatehouse({ GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1' });
    p = gh.project;
    other = gh.newProject('Other');
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  async function api(project, access, method, path, { body, token, status, extra = {} } = {}) {
    const h = {
      'content-type': 'application/json',
      'x-stack-project-id': project.project_id,
      'x-stack-access-type': access,
      ...(access === 'client' ? { 'x-stack-publishable-client-key': project.publishable_client_key } : {}),
      ...(access === 'server' ? { 'x-stack-secret-server-key': project.secret_server_key } : {}),
      ...(access === 'admin' ? { 'x-stack-super-secret-admin-key': project.super_secret_admin_key } : {}),
      ...(token ? { 'x-stack-access-token': token } : {}),
      ...extra,
    };
    const res = await fetch(`${gh.baseUrl}/api/v1${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : { text };
    if (status !== undefined) assert.equal(res.status, status, `${method} ${path}: ${text}`);
    else assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return { ...json, requestId: res.headers.get('x-request-id') };
  }
  const admin = (method, path, opts) => api(p, 'admin', method, path, opts);
  // Every entry, walking the pages newest first.
  async function all(project = p, filters = '') {
    const items = [];
    let cursor = '';
    for (;;) {
      const page = await api(project, 'admin', 'GET', `/internal/audit-log?limit=3${filters}${cursor}`);
      items.push(...page.items);
      if (page.next_cursor === null) return items;
      cursor = `&cursor=${page.next_cursor}`;
    }
  }

  test('entries for what people, servers and admins do, with who and from where', async () => {
    const app = new StackClientApp({ projectId: p.project_id, publishableClientKey: p.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory' });
    await app.signUpWithCredential({ email: 'ada@example.com', password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
    const ada = await app.getUser({ or: 'throw' });

    // A wrong password from behind the proxy, with a request id the proxy chose.
    const behindProxy = { 'x-forwarded-for': VISITOR, 'x-request-id': 'proxy-req-0001', 'user-agent': 'AuditTest/1.0' };
    const wrong = await api(p, 'client', 'POST', '/auth/password/sign-in', { body: { email: 'ada@example.com', password: 'not it at all' }, status: 400, extra: behindProxy });
    assert.equal(wrong.code, 'EMAIL_PASSWORD_MISMATCH');
    assert.equal(wrong.requestId, 'proxy-req-0001', 'the answer carries the request id');
    await api(p, 'client', 'POST', '/auth/password/sign-in', { body: { email: 'nobody@example.com', password: 'not it at all' }, status: 400, extra: behindProxy });

    await ada.updatePassword({ oldPassword: PASSWORD, newPassword: `${PASSWORD}!` });
    // A server turns two-factor on; a sign-in then needs the app's code, and a wrong one fails.
    const secret = crypto.getRandomValues(new Uint8Array(20));
    await api(p, 'server', 'PATCH', `/users/${ada.id}`, { body: { totp_secret_base64: Buffer.from(secret).toString('base64') } });
    const mfa = await api(p, 'client', 'POST', '/auth/password/sign-in', { body: { email: 'ada@example.com', password: `${PASSWORD}!` }, status: 400 });
    assert.equal(mfa.code, 'MULTI_FACTOR_AUTHENTICATION_REQUIRED');
    // The app's code for now, one off: a wrong code.
    const bad = String((Number(authenticator.generate(base32(secret))) + 1) % 1_000_000).padStart(6, '0');
    await api(p, 'client', 'POST', '/auth/mfa/sign-in', { body: { type: 'totp', totp: bad, code: mfa.details.attempt_code }, status: 400 });

    // An admin impersonates, grants a permission, changes the configuration, ends a session.
    const imp = await admin('POST', '/auth/sessions', { body: { user_id: ada.id, is_impersonation: true } });
    const team = await api(p, 'server', 'POST', '/teams', { body: { display_name: 'Lab', creator_user_id: ada.id } });
    await admin('POST', '/team-permission-definitions', { body: { id: 'ledger:read', description: 'Read the ledger' } });
    await admin('POST', `/team-permissions/${team.id}/${ada.id}/ledger:read`, { body: {} });
    await admin('PATCH', '/internal/config/override/branch', { body: { config_override_string: JSON.stringify({ 'auth.allowSignUp': true }) } });
    const sessions = await admin('GET', `/auth/sessions?user_id=${ada.id}`);
    await admin('DELETE', `/auth/sessions/${sessions.items[0].id}?user_id=${ada.id}`);
    assert.ok(imp.access_token);

    const entries = await all();
    const find = (kind, pred = () => true) => entries.find((e) => e.kind === kind && pred(e));
    const summaries = entries.map((e) => e.summary);
    for (const s of ['Signed up with password', 'Sign-in failed (password: wrong password)', 'Sign-in failed (password: unknown email)',
      'Password changed', 'Two-factor authentication changed', 'Sign-in failed (totp: wrong code)',
      'Impersonation session opened by an admin', 'Permission granted', 'Project configuration changed', 'Session revoked', 'User created']) {
      assert.ok(summaries.includes(s), `an entry says "${s}": ${JSON.stringify(summaries)}`);
    }
    // Newest first, each once.
    const ids = entries.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((x, y) => y - x));
    assert.equal(new Set(ids).size, ids.length);

    const failed = find('sign_in.failed', (e) => e.data.reason === 'wrong_password');
    assert.equal(failed.object_id, ada.id);
    assert.equal(failed.ip, VISITOR, 'the address is the visitor the trusted proxy names');
    assert.equal(failed.request_id, 'proxy-req-0001');
    assert.equal(failed.user_agent, 'AuditTest/1.0');
    assert.equal(failed.actor_type, 'client');
    assert.equal(failed.data.email, 'ada@example.com');
    const unknown = find('sign_in.failed', (e) => e.data.reason === 'unknown_email');
    assert.equal(unknown.object_id, '');
    assert.equal(unknown.data.email, 'nobody@example.com');
    const password = find('user.updated', (e) => e.summary === 'Password changed');
    assert.deepEqual([password.actor_type, password.actor_id, password.ip], ['user', ada.id, '127.0.0.1']);
    assert.match(password.request_id, /^[0-9a-f]{16}$/, 'a request without an id gets one');
    const twoFactor = find('user.updated', (e) => e.summary === 'Two-factor authentication changed');
    assert.equal(twoFactor.actor_type, 'server');
    assert.deepEqual(twoFactor.data.fields, ['totp']);
    const config = find('config.updated');
    assert.equal(config.actor_type, 'admin');
    const grant = find('team_permission.created', (e) => e.data.id === 'ledger:read');
    assert.equal(grant.actor_type, 'admin');
    assert.ok(find('session.deleted', (e) => e.actor_type === 'admin'), 'the admin ended the session');
    // Nothing secret is kept: no password, hash or token in any entry.
    const text = JSON.stringify(entries);
    for (const secretText of [PASSWORD, '$argon2', imp.refresh_token, imp.access_token]) assert.ok(!text.includes(secretText), secretText);
  });

  test('filters, pages and access', async () => {
    const entries = await all();
    const failures = await all(p, '&kind=sign_in.');
    assert.deepEqual(failures.map((e) => e.kind), ['sign_in.failed', 'sign_in.failed', 'sign_in.failed']);
    const exact = await all(p, '&kind=user.updated');
    assert.ok(exact.length >= 2 && exact.every((e) => e.kind === 'user.updated'));
    const family = await all(p, '&kind=user.');
    assert.ok(family.some((e) => e.kind === 'user.created') && family.every((e) => e.kind.startsWith('user.')));
    const byText = await all(p, `&q=${encodeURIComponent('NOBODY@example')}`);
    assert.deepEqual(byText.map((e) => e.data.reason), ['unknown_email'], 'text search ignores case');
    const byIp = await all(p, `&ip=${VISITOR}`);
    assert.equal(byIp.length, 2);
    // A wildcard is taken as text.
    assert.deepEqual(await all(p, `&q=${encodeURIComponent('%')}`), []);
    const ada = entries.find((e) => e.kind === 'user.created').object_id;
    const byActor = await all(p, `&actor_id=${ada}`);
    assert.ok(byActor.length >= 2 && byActor.every((e) => e.actor_id === ada));
    // A time window: everything up to the oldest entry's time holds it.
    const oldest = entries.at(-1);
    const upTo = await all(p, `&to_millis=${oldest.created_at_millis}`);
    assert.ok(upTo.some((e) => e.id === oldest.id));
    assert.deepEqual(await all(p, `&from_millis=${Date.now() + 60_000}`), []);
    // Pages of one walk the same list.
    const one = await api(p, 'admin', 'GET', '/internal/audit-log?limit=1');
    assert.equal(one.items.length, 1);
    assert.equal(one.items[0].id, entries[0].id);
    const second = await api(p, 'admin', 'GET', `/internal/audit-log?limit=1&cursor=${one.next_cursor}`);
    assert.equal(second.items[0].id, entries[1].id);

    // Bad filters are the caller's mistake; only admins read; nothing writes or edits.
    const badLimit = await api(p, 'admin', 'GET', '/internal/audit-log?limit=0', { status: 400 });
    assert.equal(badLimit.code, 'SCHEMA_ERROR');
    const badCursor = await api(p, 'admin', 'GET', '/internal/audit-log?cursor=soon', { status: 400 });
    assert.equal(badCursor.code, 'SCHEMA_ERROR');
    assert.equal((await api(p, 'server', 'GET', '/internal/audit-log', { status: 401 })).code, 'INSUFFICIENT_ACCESS_TYPE');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const res = await fetch(`${gh.baseUrl}/api/v1/internal/audit-log`, { method, headers: { 'x-stack-project-id': p.project_id, 'x-stack-access-type': 'admin', 'x-stack-super-secret-admin-key': p.super_secret_admin_key } });
      assert.ok([404, 405].includes(res.status), `${method} is no route: ${res.status}`);
    }
    // Each project sees its own: the other project's log holds only its own making.
    const theirs = await all(other);
    assert.ok(theirs.every((e) => !JSON.stringify(e).includes('ada@example.com')));
  });

  test('retention: set per project, pruned by the CLI as the server does hourly', async () => {
    assert.deepEqual(await admin('GET', '/internal/audit-log/settings').then(({ retention_days }) => retention_days), 90);
    await admin('PUT', '/internal/audit-log/settings', { body: { retention_days: 1 } });
    assert.equal((await admin('GET', '/internal/audit-log/settings')).retention_days, 1);
    const refused = await admin('PUT', '/internal/audit-log/settings', { body: { retention_days: 0 }, status: 400 });
    assert.equal(refused.code, 'SCHEMA_ERROR');
    const changed = (await all(p, '&kind=retention.')).map((e) => [e.summary, e.actor_type]);
    assert.deepEqual(changed, [['Audit entries kept for 1 day', 'admin']], 'shortening the retention is itself audited');
    const theirs = (await all(other)).length;
    assert.ok(theirs >= 1);
    // Two days on, this project's entries (one day) are gone; the other's (ninety) are kept.
    const pruned = JSON.parse(gh.cli('prune', '--as-of', String(Date.now() + 2 * 86_400_000)));
    assert.ok(pruned.deleted_audit_entries >= 10, JSON.stringify(pruned));
    assert.deepEqual(await all(), []);
    assert.equal((await all(other)).length, theirs);
  });

  test('the dashboard: a new project\'s entries, searched without JavaScript', async () => {
    browser = await launchBrowser();
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'auditor@example.com', PASSWORD);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Ledger');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Ledger is ready');
    const key = (k) => page.textContent(`code[data-key="${k}"]`);
    const ledger = { project_id: await key('project_id'), publishable_client_key: await key('publishable_client_key') };
    await api(ledger, 'client', 'POST', '/auth/password/sign-up', { body: { email: 'grace@example.com', password: PASSWORD } });
    await api(ledger, 'client', 'POST', '/auth/password/sign-in', { body: { email: 'grace@example.com', password: 'wrong password here' }, status: 400, extra: { 'x-forwarded-for': VISITOR } });

    const room = `${gh.baseUrl}/projects/${ledger.project_id}/audit`;
    await page.goto(room);
    await page.waitForSelector('tr.audit-entry');
    const rows = page.locator('tr.audit-entry');
    const texts = await rows.allTextContents();
    assert.ok(texts.some((t) => t.includes('Signed up with password')), texts.join('\n'));
    assert.ok(texts.some((t) => t.includes('Sign-in failed (password: wrong password)') && t.includes(VISITOR)));
    // The admin's own making of the project's keys is there too, as the admin's.
    assert.ok(texts.some((t) => t.includes('Admin')), texts.join('\n'));
    await page.setViewportSize({ width: 1200, height: 900 });
    await shot(page, 'dashboard-audit');

    // Without JavaScript: the search is a plain form, kept in the URL.
    const plain = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() });
    const noJs = await plain.newPage();
    await noJs.goto(room);
    await noJs.selectOption('select[name="kind"]', 'sign_in.');
    await noJs.click('button:has-text("Search")');
    await noJs.waitForURL(/kind=sign_in\./);
    const filtered = await noJs.locator('tr.audit-entry').allTextContents();
    assert.equal(filtered.length, 1);
    assert.match(filtered[0], /Sign-in failed/);
    await noJs.fill('input[name="q"]', 'no such thing anywhere');
    await noJs.click('button:has-text("Search")');
    await noJs.waitForSelector('text=No entries match this search.');
    // Retention from the room.
    await page.fill('input[name="retention_days"]', '30');
    await page.click('button:has-text("Save")');
    await page.waitForSelector('text=kept for 30 days');
    await plain.close();
  });
});
