// Webhooks as an app receives them: a receiver process verifying every delivery with the
// official `svix` library, endpoints made and read with the official `svix` client through the
// Svix-compatible API (its token from Stack's `POST /webhooks/svix-token`), every event type
// once, retries on the schedule, a SIGKILL in the middle of one, and (on PostgreSQL) two
// instances delivering each message once. The retry schedule is shortened to seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Svix, MessageStatus } from 'svix';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, watchedPage } from './support/browser.mjs';

const require = createRequire(import.meta.url);
const shared = (path) => require(`stack-shared-newest/dist/${path}`);
const y = shared('schema-fields');
// Stack's webhook events: its list, and the project permission events its CRUD module defines
// beside them (the list leaves them out; Stack's routes send them).
const { projectPermissionCreatedWebhookEvent, projectPermissionDeletedWebhookEvent } = shared('interface/crud/project-permissions');
const webhookEvents = [
  ...shared('interface/webhooks').webhookEvents, projectPermissionCreatedWebhookEvent, projectPermissionDeletedWebhookEvent,
].filter((e, i, all) => all.findIndex((x) => x.type === e.type) === i);

const SCHEDULE = '0,2,2,2,2,2,2';

async function startReceiver() {
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'support', 'webhook-receiver.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (c) => { out += c; const m = out.match(/listening on (\d+)/); if (m) ok(m[1]); });
    child.on('exit', (code) => fail(new Error(`the receiver exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: (name) => `${base}/hook/${name}`,
    control: (name, body) => fetch(`${base}/_control/${name}`, { method: 'POST', body: JSON.stringify(body) }),
    received: async (name) => (await fetch(`${base}/_received/${name}`)).json(),
    stop: () => child.kill(),
  };
}

// Polls `probe` until it returns something truthy, or fails after `ms`.
async function until(what, probe, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

describe('webhooks', () => {
  let gh, receiver, svix, project;
  const admin = (keys = project) => ({
    'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': keys.project_id,
    'x-stack-super-secret-admin-key': keys.super_secret_admin_key,
  });
  const server = () => ({
    'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': project.project_id,
    'x-stack-secret-server-key': project.secret_server_key,
  });
  async function api(method, path, body, headers = server()) {
    const res = await fetch(`${gh.baseUrl}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  // An endpoint made with the official client, its secret handed to the receiver.
  async function endpoint(name, extra = {}) {
    const e = await svix.endpoint.create(project.project_id, { url: receiver.url(name), description: name, ...extra });
    const { key } = await svix.endpoint.getSecret(project.project_id, e.id);
    await receiver.control(name, { secret: key });
    return e;
  }

  before(async () => {
    gh = await startGatehouse({ GATEHOUSE_WEBHOOK_RETRY_SCHEDULE: SCHEDULE, GATEHOUSE_WEBHOOK_DISABLE_AFTER_SECONDS: '5' });
    project = gh.project;
    receiver = await startReceiver();
    await api('PATCH', '/internal/config/override/environment', { config_override_string: JSON.stringify({ 'domains.allowLocalhost': true }) }, admin());
    const { token } = await api('POST', '/webhooks/svix-token', {}, admin());
    svix = new Svix(token, { serverUrl: gh.baseUrl });
  });
  after(async () => {
    receiver?.stop();
    await browser?.close();
    await gh?.stop();
  });
  let browser;

  test('every event type arrives once, verified by the svix library, in Stack\'s shape', async () => {
    const ep = await endpoint('all');
    assert.match(ep.id, /^ep_[0-9A-Za-z]{27}$/);

    const user = await api('POST', '/users', { primary_email: 'ada@example.com', display_name: 'Ada' });
    await api('PATCH', `/users/${user.id}`, { display_name: 'Ada L.' });
    const team = await api('POST', '/teams', { display_name: 'Analysts' });
    await api('PATCH', `/teams/${team.id}`, { display_name: 'Analytical Engines' });
    await api('POST', `/team-memberships/${team.id}/${user.id}`, {});
    await api('POST', '/team-permission-definitions', { id: 'editor' }, admin());
    await api('POST', `/team-permissions/${team.id}/${user.id}/editor`, {});
    await api('DELETE', `/team-permissions/${team.id}/${user.id}/editor`);
    await api('POST', '/project-permission-definitions', { id: 'reports' }, admin());
    await api('POST', `/project-permissions/${user.id}/reports`, {});
    await api('DELETE', `/project-permissions/${user.id}/reports`);
    await api('DELETE', `/team-memberships/${team.id}/${user.id}`);
    await api('DELETE', `/teams/${team.id}`);
    await api('DELETE', `/users/${user.id}`);

    const types = webhookEvents.map((e) => e.type);
    assert.equal(types.length, 12);
    const got = await until('every event type', async () => {
      const r = await receiver.received('all');
      return types.every((t) => r.some((m) => m.type === t)) && r;
    });
    const problems = [];
    for (const m of got) {
      assert.ok(m.verified);
      assert.match(m.id, /^msg_[0-9A-Za-z]{27}$/);
      const event = webhookEvents.find((e) => e.type === m.type);
      assert.ok(event, `${m.type} is one of Stack's webhook events`);
      try {
        await y.yupValidate(event.schema, m.data, { abortEarly: false, strict: true, currentUserId: null, context: { noUnknownPathPrefixes: [''] } });
      } catch (e) {
        if (!e.errors) throw e;
        problems.push(`${m.type}: ${e.errors.join('; ')}\n  ${JSON.stringify(m.data)}`);
      }
    }
    assert.deepEqual(problems, []);
    const ids = got.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'each message arrives once');
    const created = got.find((m) => m.type === 'user.created');
    assert.equal(created.data.id, user.id);
    assert.equal(got.find((m) => m.type === 'user.updated').data.display_name, 'Ada L.');
    assert.deepEqual(got.find((m) => m.type === 'user.deleted').data, { id: user.id, teams: [] });
    assert.deepEqual(got.find((m) => m.type === 'team_membership.created').data, { team_id: team.id, user_id: user.id });

    // The official client reads the attempts back.
    const attempts = await svix.messageAttempt.listByEndpoint(project.project_id, ep.id);
    assert.ok(attempts.data.length >= 12);
    assert.ok(attempts.data.every((a) => a.status === MessageStatus.Success && a.responseStatusCode === 200 && a.endpointId === ep.id));
    const listed = await svix.endpoint.list(project.project_id);
    assert.ok(listed.data.some((e) => e.id === ep.id && e.url === receiver.url('all')));
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('an endpoint gets only the types it listens to', async () => {
    const ep = await endpoint('teams-only', { eventTypes: ['team.created'] });
    const before = (await receiver.received('teams-only')).length;
    await api('POST', '/users', { primary_email: 'not-sent@example.com' });
    const team = await api('POST', '/teams', { display_name: 'Filtered' });
    const got = await until('team.created', async () => {
      const r = await receiver.received('teams-only');
      return r.length > before && r;
    });
    assert.deepEqual(got.map((m) => m.type), ['team.created']);
    assert.equal(got[0].data.id, team.id);
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('a receiver that fails twice gets the message on the third attempt', async () => {
    const ep = await endpoint('flaky', { eventTypes: ['user.created'] });
    await receiver.control('flaky', { failures: 2 });
    const user = await api('POST', '/users', { primary_email: 'flaky@example.com' });
    const [m] = await until('the third attempt', async () => (await receiver.received('flaky')).filter((x) => x.data.id === user.id).length && receiver.received('flaky'));
    assert.equal(m.refusedBefore, 2);
    const attempts = await svix.messageAttempt.listByMsg(project.project_id, m.id);
    assert.deepEqual(attempts.data.map((a) => a.statusText), ['success', 'fail', 'fail']);
    assert.deepEqual(attempts.data.map((a) => a.responseStatusCode), [200, 500, 500]);
    assert.match(attempts.data[1].response, /refused on purpose/);
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('a SIGKILL in the middle of the retry schedule loses nothing', async () => {
    const ep = await endpoint('restart', { eventTypes: ['team.created'] });
    await receiver.control('restart', { failures: 1 });
    const team = await api('POST', '/teams', { display_name: 'Survivor' });
    await until('the first, failed attempt', async () => {
      const a = await svix.messageAttempt.listByEndpoint(project.project_id, ep.id);
      return a.data.length === 1;
    });
    await gh.restart();
    svix = new Svix((await api('POST', '/webhooks/svix-token', {}, admin())).token, { serverUrl: gh.baseUrl });
    // Within the retry's wait, or a lease's length if the kill came between an attempt and
    // its outcome being written.
    const got = await until('the delivery after the restart', async () => {
      const r = await receiver.received('restart');
      return r.length && r;
    }, 45_000);
    assert.equal(got.length, 1);
    assert.equal(got[0].data.id, team.id);
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('replay, test event, secret rotation with both secrets signing', async () => {
    const ep = await endpoint('replay', { eventTypes: ['team.created'] });
    const oldSecret = (await svix.endpoint.getSecret(project.project_id, ep.id)).key;
    const test = await api('POST', '/internal/send-test-webhook', { endpoint_id: ep.id }, admin());
    assert.deepEqual(test, { success: true });
    const [first] = await until('the test event', async () => (await receiver.received('replay')).length && receiver.received('replay'));
    assert.equal(first.type, 'stack.test');

    await svix.endpoint.rotateSecret(project.project_id, ep.id, {});
    const newSecret = (await svix.endpoint.getSecret(project.project_id, ep.id)).key;
    assert.notEqual(newSecret, oldSecret);
    // The receiver still holds the old secret: the old one signs beside the new during the grace.
    await svix.messageAttempt.resend(project.project_id, first.id, ep.id);
    const again = await until('the replay', async () => (await receiver.received('replay')).length === 2 && receiver.received('replay'));
    assert.equal(again[1].id, first.id, 'a replay is the same message');
    const attempts = await svix.messageAttempt.listByMsg(project.project_id, first.id);
    assert.deepEqual(attempts.data.map((a) => a.triggerType), [1, 0]);
    await receiver.control('replay', { secret: newSecret });
    await svix.messageAttempt.resend(project.project_id, first.id, ep.id);
    await until('a replay verified with the new secret', async () => (await receiver.received('replay')).length === 3);
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('an endpoint failing past the limit is disabled', async () => {
    const ep = await endpoint('down', { eventTypes: ['team.created'] });
    await receiver.control('down', { failures: 1000 });
    await api('POST', '/teams', { display_name: 'Unheard' });
    await until('the endpoint disabled', async () => (await svix.endpoint.get(project.project_id, ep.id)).disabled, 30_000);
    await api('POST', '/teams', { display_name: 'Never sent' });
    const sent = (await svix.messageAttempt.listByEndpoint(project.project_id, ep.id)).data.length;
    assert.ok(sent >= 3 && sent <= 5, `attempts until disabled: ${sent}`);
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('the SDK: a test event from StackAdminApp, and its server app\'s changes arrive', async () => {
    const { StackAdminApp } = await import('stack-current');
    const options = { projectId: project.project_id, publishableClientKey: project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory' };
    const sdkAdmin = new StackAdminApp({ ...options, secretServerKey: project.secret_server_key, superSecretAdminKey: project.super_secret_admin_key });
    const ep = await endpoint('sdk', { eventTypes: ['user.created', 'team.created'] });
    const sent = await sdkAdmin.sendTestWebhook({ endpointId: ep.id });
    assert.equal(sent.status, 'ok', JSON.stringify(sent));
    const user = await sdkAdmin.createUser({ primaryEmail: 'sdk@example.com', displayName: 'From the SDK' });
    const got = await until('the SDK user', async () => {
      const r = await receiver.received('sdk');
      return r.some((m) => m.type === 'user.created') && r;
    });
    assert.deepEqual(got.map((m) => m.type), ['stack.test', 'user.created']);
    assert.equal(got[1].data.id, user.id);
    assert.equal(got[1].data.display_name, 'From the SDK');
    await svix.endpoint.delete(project.project_id, ep.id);
  });

  test('the dashboard: add an endpoint, reveal its secret, send a test event, see and replay its deliveries', async () => {
    browser = await launchBrowser();
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'hooks@example.com', 'correct horse battery');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Hooked');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Hooked is ready');
    const keys = {
      project_id: await page.textContent('code[data-key="project_id"]'),
      super_secret_admin_key: await page.textContent('code[data-key="super_secret_admin_key"]'),
    };
    await api('PATCH', '/internal/config/override/environment', { config_override_string: JSON.stringify({ 'domains.allowLocalhost': true }) }, admin(keys));

    await page.goto(`${gh.baseUrl}/projects/${keys.project_id}/webhooks`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('nav a:has-text("Webhooks")');
    await page.fill('input[name="url"]', receiver.url('dashboard'));
    await page.fill('input[name="description"]', 'Our app');
    await page.check('input[value="team.created"]');
    await page.check('input[value="user.created"]');
    await page.click('button:has-text("Add endpoint")');
    await page.waitForURL(/\/webhooks\/ep_/);
    assert.equal(await page.textContent('h1'), receiver.url('dashboard'));
    await page.waitForSelector('text=user.created, team.created');

    await page.click('a:has-text("Reveal secret")');
    const secret = await (await page.waitForSelector('code[data-key="webhook_secret"]')).textContent();
    assert.match(secret, /^whsec_/);
    await receiver.control('dashboard', { secret });

    await page.click('button:has-text("Send test event")');
    await page.waitForSelector('text=The test event was delivered.');
    await page.waitForSelector('tr.webhook-attempt[data-outcome="Delivered"]');
    const [first] = await receiver.received('dashboard');
    assert.equal(first.type, 'stack.test');

    await page.click('tr.webhook-attempt summary');
    await page.waitForSelector('tr.webhook-attempt pre:has-text("stack.test")');
    await page.click('tr.webhook-attempt button:has-text("Replay")');
    await until('the replay', async () => (await receiver.received('dashboard')).length === 2);
    await page.reload();
    await page.waitForSelector('tr.webhook-attempt:has-text("(replay)")');
    await shot(page, 'dashboard-webhooks');

    // A sign-up on the hosted pages, JavaScript off, sends its webhook too.
    const visitor = await browser.newContext({ javaScriptEnabled: false });
    const hosted = await visitor.newPage();
    await hosted.goto(`${gh.baseUrl}/handler/${keys.project_id}/sign-up`);
    await hosted.fill('input[name="email"]', 'visitor@example.com');
    await hosted.fill('input[name="password"]', 'correct horse battery');
    await hosted.click('button:has-text("Sign up")');
    await hosted.waitForURL(/account-settings/);
    const signedUp = await until('the hosted sign-up\'s webhook', async () =>
      (await receiver.received('dashboard')).find((m) => m.type === 'user.created'));
    assert.equal(signedUp.data.primary_email, 'visitor@example.com');
    await visitor.close();

    await page.click('button:has-text("Disable")');
    await page.waitForSelector('[data-key="endpoint_state"]:has-text("Disabled")');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('private and loopback addresses are refused unless allowed', async () => {
    const refused = async (url) => {
      const res = await fetch(`${gh.baseUrl}/api/v1/app/${project.project_id}/endpoint`, {
        method: 'POST', headers: admin(), body: JSON.stringify({ url }),
      });
      assert.equal(res.status, 400, url);
      const body = await res.json();
      assert.equal(body.code, 'SCHEMA_ERROR');
      assert.match(body.error, /private or loopback/);
    };
    await refused('http://10.0.0.8/hook');
    await refused('http://169.254.169.254/latest/meta-data');
    await api('PATCH', '/internal/config/override/environment', { config_override_string: JSON.stringify({ 'domains.allowLocalhost': false }) }, admin());
    await refused(receiver.url('nope'));
    await refused('http://localhost:9/hook');
    await api('PATCH', '/internal/config/override/environment', { config_override_string: JSON.stringify({ 'domains.allowLocalhost': true }) }, admin());
  });

  test('two instances on one PostgreSQL deliver each message once', { skip: process.env.GATEHOUSE_TEST_DB !== 'postgres' && 'PostgreSQL only: SQLite has one writer' }, async () => {
    const second = await gh.another();
    try {
      const ep = await endpoint('pair', { eventTypes: ['user.created'] });
      const made = [];
      for (let i = 0; i < 20; i++) {
        const base = i % 2 ? second.baseUrl : gh.baseUrl;
        const res = await fetch(`${base}/api/v1/users`, { method: 'POST', headers: server(), body: JSON.stringify({ primary_email: `pair${i}@example.com` }) });
        made.push((await res.json()).id);
      }
      const got = await until('twenty deliveries', async () => {
        const r = await receiver.received('pair');
        return r.length >= 20 && r;
      });
      assert.equal(got.length, 20, 'no message twice');
      assert.deepEqual(got.map((m) => m.data.id).sort(), [...made].sort());
      // Each change made one message (both instances read the log), and each message one
      // attempt (both instances run the queue).
      const messages = (await svix.message.list(project.project_id, { limit: 250 })).data
        .filter((m) => m.eventType === 'user.created' && m.payload.data.primary_email.startsWith('pair'));
      assert.equal(messages.length, 20);
      const attempts = await svix.messageAttempt.listByEndpoint(project.project_id, ep.id, { limit: 250 });
      assert.equal(attempts.data.length, 20);
      await svix.endpoint.delete(project.project_id, ep.id);
    } finally {
      await second.stop();
    }
  });
});
