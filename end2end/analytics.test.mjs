// Analytics driven as apps and admins drive it: the official SDK signs people up and in and
// refreshes their tokens (server events), its batches of page views and clicks arrive (gzipped,
// as the SDK sends them, and plain), session replays upload, and admins read it all back with
// SQL through the SDK's admin app. Then the isolation suite: hostile queries of every kind from
// one project, none of which may see a row of another project, write anything, or answer 5xx.
// Last, in Chromium: an admin turns analytics on in the dashboard, an app records a session
// with the SDK's recorder, and the admin plays it in the dashboard beside the panels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { StackAdminApp, StackClientApp } from 'stack-current';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, watchedPage } from './support/browser.mjs';
import { startSdkApp } from './support/sdk-app.mjs';

const PASSWORD = 'correct horse battery';
const POSTGRES = process.env.GATEHOUSE_TEST_DB === 'postgres';

describe('analytics', () => {
  let gh, a, b, adminA, adminB, browser, app;

  const headers = (project, access, extra = {}) => ({
    'content-type': 'application/json',
    'x-stack-project-id': project.project_id,
    'x-stack-access-type': access,
    ...(access === 'client' ? { 'x-stack-publishable-client-key': project.publishable_client_key } : {}),
    ...(access === 'server' ? { 'x-stack-secret-server-key': project.secret_server_key } : {}),
    ...(access === 'admin' ? { 'x-stack-super-secret-admin-key': project.super_secret_admin_key } : {}),
    ...extra,
  });
  async function api(project, access, method, path, { body, raw, token, status, extra = {} } = {}) {
    const h = headers(project, access, extra);
    if (token) h['x-stack-access-token'] = token;
    const res = await fetch(`${gh.baseUrl}/api/v1${path}`, { method, headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await res.text();
    // Stack answers a plain status error as text; known errors and answers as JSON.
    const json = (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : { text };
    if (status !== undefined) assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(json)}`);
    else assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  const admin = (project) => (method, path, opts) => api(project, 'admin', method, path, opts);
  const turnOn = (project, on = true) => admin(project)('PATCH', '/internal/config/override/branch', {
    body: { config_override_string: JSON.stringify({ 'apps.installed.analytics': { enabled: on } }) },
  });
  const sdk = (project) => new StackClientApp({
    projectId: project.project_id, publishableClientKey: project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory',
  });
  const adminApp = (project) => new StackAdminApp({
    projectId: project.project_id, publishableClientKey: project.publishable_client_key, secretServerKey: project.secret_server_key,
    superSecretAdminKey: project.super_secret_admin_key, baseUrl: gh.baseUrl, tokenStore: 'memory',
  });
  const query = (app, q, params) => app.queryAnalytics({ query: q, params, timeout_ms: 5_000 });
  // Waits (with a deadline) until the query's rows satisfy `ok`; events are written off the
  // request path.
  async function until(app, q, ok) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const { result } = await query(app, q);
      if (ok(result)) return result;
      if (Date.now() > deadline) assert.fail(`${q} never became true; last: ${JSON.stringify(result)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const counts = (rows) => Object.fromEntries(rows.map((r) => [r.event_type, Number(r.n)]));
  const byType = 'SELECT event_type, count(*) AS n FROM events GROUP BY event_type ORDER BY event_type';
  const batch = (events, batchId = randomUUID()) => ({
    session_replay_segment_id: randomUUID(), batch_id: batchId, sent_at_ms: Date.now(), events,
  });

  before(async () => {
    gh = await startGatehouse();
    a = gh.project;
    b = gh.newProject('Other');
    await turnOn(a);
    await turnOn(b);
    adminA = adminApp(a);
    adminB = adminApp(b);
    // Project B's data, marked so that any leak is seen: a user, a team, events.
    const other = sdk(b);
    await other.signUpWithCredential({ email: 'bee-secret@other.example', password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
    const bee = await other.getUser({ or: 'throw' });
    const team = await api(b, 'server', 'POST', '/teams', { body: { display_name: 'bee-secret team' } });
    await api(b, 'server', 'POST', `/team-memberships/${team.id}/${bee.id}`, { body: {} });
    await until(adminB, byType, (rows) => counts(rows)['$sign-up'] === 1);
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await gh?.stop();
  });

  test('events from the SDK and the server, queryable by the admin', async () => {
    const app = sdk(a);
    await app.signUpWithCredential({ email: 'ada@example.com', password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
    const ada = await app.getUser({ or: 'throw' });
    await app.signOut({ redirectUrl: 'http://localhost/' }).catch(() => {});
    const wrong = await app.signInWithCredential({ email: 'ada@example.com', password: 'not the password', noRedirect: true });
    assert.equal(wrong.status, 'error');
    await app.signInWithCredential({ email: 'ada@example.com', password: PASSWORD, noRedirect: true });
    const user = await app.getUser({ or: 'throw' });
    const { accessToken, refreshToken } = await user.currentSession.getTokens();
    // A token refresh, as the SDK makes it.
    const refreshed = await api(a, 'client', 'POST', '/auth/sessions/current/refresh', { body: {}, extra: { 'x-stack-refresh-token': refreshToken } });
    assert.ok(refreshed.access_token);

    // The SDK's batches: gzipped as it sends them, and plain JSON; the same batch twice.
    const pageViews = batch([
      { event_type: '$page-view', event_at_ms: Date.now(), data: { path: '/pricing', url: 'https://app.example/pricing' } },
      { event_type: '$page-view', event_at_ms: Date.now(), data: { path: '/docs', url: 'https://app.example/docs' } },
    ]);
    const zipped = gzipSync(JSON.stringify(pageViews));
    assert.deepEqual(await api(a, 'client', 'POST', '/analytics/events/batch', {
      raw: zipped, token: accessToken, extra: { 'content-type': 'application/octet-stream' },
    }), { inserted: 2 });
    assert.deepEqual(await api(a, 'client', 'POST', '/analytics/events/batch', { body: pageViews, token: accessToken }), { inserted: 2 });
    await api(a, 'client', 'POST', '/analytics/events/batch', {
      body: batch([{ event_type: '$click', event_at_ms: Date.now(), data: { tag: 'button', text: 'Buy' } },
        { event_type: 'checkout.started', event_at_ms: Date.now(), data: { plan: 'pro' } }]), token: accessToken,
    });

    const rows = await until(adminA, byType, (r) => counts(r)['$click'] === 1 && counts(r)['$token-refresh'] >= 1);
    const n = counts(rows);
    assert.equal(n['$page-view'], 2, 'a batch id is taken once');
    assert.equal(n['$sign-up'], 1);
    assert.equal(n['$sign-in'], 1);
    assert.equal(n['$sign-in-failure'], 1);
    assert.equal(n['checkout.started'], 1, "an app's own event");
    const methods = await query(adminA, "SELECT event_type, data FROM events WHERE event_type IN ('$sign-up', '$sign-in', '$sign-in-failure') ORDER BY event_at");
    for (const row of methods.result) {
      const data = typeof row.data === 'string' ? JSON.parse(row.data) : row.data;
      assert.equal(data.auth_method, 'password', JSON.stringify(row));
    }
    const mine = await query(adminA, 'SELECT DISTINCT user_id, project_id FROM events WHERE user_id IS NOT NULL');
    assert.deepEqual(mine.result, [{ user_id: ada.id, project_id: a.project_id }]);
    // Parameters, as the SDK passes them (ClickHouse's {name:Type} or {name}).
    const top = await query(adminA, POSTGRES
      ? "SELECT data->>'path' AS path, count(*) AS views FROM events WHERE event_type = {type:String} GROUP BY 1 ORDER BY 2 DESC, 1"
      : "SELECT json_extract(data, '$.path') AS path, count(*) AS views FROM events WHERE event_type = {type:String} GROUP BY 1 ORDER BY 2 DESC, 1",
    { type: '$page-view' });
    assert.deepEqual(top.result.map((r) => [r.path, Number(r.views)]), [['/docs', 1], ['/pricing', 1]]);

    // Refused as Stack refuses: no user, a bad id, a wrong type, too many; the app turned off.
    const noUser = await api(a, 'client', 'POST', '/analytics/events/batch', { body: pageViews, status: 401 });
    assert.equal(noUser.code, 'USER_AUTHENTICATION_REQUIRED');
    const badId = await api(a, 'client', 'POST', '/analytics/events/batch', { body: { ...pageViews, batch_id: 'nope' }, token: accessToken, status: 400 });
    assert.equal(badId.code, 'SCHEMA_ERROR');
    assert.match(badId.error, /Invalid batch_id/);
    for (const type of ['$token-refresh', '$purchase', 'has spaces', '']) {
      const badType = await api(a, 'client', 'POST', '/analytics/events/batch', { body: batch([{ event_type: type, event_at_ms: 1, data: {} }]), token: accessToken, status: 400 });
      assert.equal(badType.code, 'SCHEMA_ERROR', type);
    }
    const tooMany = await api(a, 'client', 'POST', '/analytics/events/batch', {
      body: batch(Array.from({ length: 501 }, () => ({ event_type: '$click', event_at_ms: 1, data: {} }))), token: accessToken, status: 400,
    });
    assert.match(tooMany.error, /less than or equal to 500/);
    await turnOn(a, false);
    const off = await api(a, 'client', 'POST', '/analytics/events/batch', { body: batch([{ event_type: '$click', event_at_ms: 1, data: {} }]), token: accessToken, status: 400 });
    assert.equal(off.code, 'ANALYTICS_NOT_ENABLED');
    await api(a, 'client', 'POST', '/auth/sessions/current/refresh', { body: {}, extra: { 'x-stack-refresh-token': refreshToken } });
    await turnOn(a, true);
    const after = counts((await query(adminA, byType)).result);
    assert.equal(after['$token-refresh'], n['$token-refresh'], 'nothing is recorded while the app is off');
  });

  test('session replays: uploaded in batches, listed with filters, read back', async () => {
    const app = sdk(a);
    await app.signUpWithCredential({ email: 'rita@example.com', password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
    const rita = await app.getUser({ or: 'throw' });
    const { accessToken } = await rita.currentSession.getTokens();
    const browserSession = randomUUID();
    const segment = randomUUID();
    const t0 = Date.now();
    const upload = (batchId, events) => api(a, 'client', 'POST', '/session-replays/batch', {
      token: accessToken,
      body: { browser_session_id: browserSession, session_replay_segment_id: segment, batch_id: batchId, started_at_ms: t0, sent_at_ms: Date.now(), events },
    });
    const first = randomUUID();
    const one = await upload(first, [{ type: 4, timestamp: t0, data: { href: 'https://app.example/' } }, { type: 2, timestamp: t0 + 5, data: { node: {} } }]);
    assert.equal(one.deduped, false);
    const two = await upload(randomUUID(), [{ type: 3, timestamp: t0 + 2_500, data: { source: 2 } }]);
    assert.equal(two.session_replay_id, one.session_replay_id, 'a session keeps recording into its replay');
    assert.equal((await upload(first, [{ type: 3, timestamp: t0 + 9, data: {} }])).deduped, true);
    // Clicks made while recording belong to the replay.
    await api(a, 'client', 'POST', '/analytics/events/batch', {
      token: accessToken, body: batch([1, 2, 3].map(() => ({ event_type: '$click', event_at_ms: Date.now(), data: {} }))),
    });

    const replays = await adminA.listSessionReplays({ userIds: [rita.id] });
    assert.equal(replays.items.length, 1);
    const replay = replays.items[0];
    assert.equal(replay.id, one.session_replay_id);
    assert.equal(replay.chunkCount, 2);
    assert.equal(replay.eventCount, 3);
    assert.equal(replay.projectUser.primaryEmail, 'rita@example.com');
    const clicks = async (min) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const listed = await admin(a)('GET', `/internal/session-replays?click_count_min=${min}&user_ids=${rita.id}`);
        if (listed.items.length > 0 || Date.now() > deadline) return listed.items.length;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    assert.equal(await clicks(3), 1);
    assert.equal((await admin(a)('GET', `/internal/session-replays?click_count_min=4&user_ids=${rita.id}`)).items.length, 0);
    assert.equal((await admin(a)('GET', `/internal/session-replays?duration_ms_min=2000&user_ids=${rita.id}`)).items.length, 1);
    assert.equal((await admin(a)('GET', `/internal/session-replays?duration_ms_max=1000&user_ids=${rita.id}`)).items.length, 0);
    const bad = await admin(a)('GET', '/internal/session-replays?user_ids=nope', { status: 400 });
    assert.match(bad.text, /user_ids must contain valid UUID values/);

    const all = await adminA.getSessionReplayEvents(replay.id);
    const events = all.chunkEvents.flatMap((c) => c.events);
    assert.deepEqual(events.map((e) => e.type), [4, 2, 3]);
    const chunks = await adminA.listSessionReplayChunks(replay.id);
    assert.equal(chunks.items.length, 2);
    const firstChunk = await adminA.getSessionReplayChunkEvents(replay.id, chunks.items[0].id);
    assert.equal(firstChunk.events.length, 2);
    // Another project's admin sees none of it.
    assert.equal((await admin(b)('GET', `/internal/session-replays/${replay.id}`, { status: 404 })).code, 'ITEM_NOT_FOUND');
    assert.equal((await admin(b)('GET', '/internal/session-replays')).items.length, 0);

    // A server that keeps replays in its data dir (GATEHOUSE_REPLAY_STORAGE=directory): the
    // chunk is a file there, read back through the same routes.
    const files = await startGatehouse({ GATEHOUSE_REPLAY_STORAGE: 'directory' });
    try {
      const p = files.project;
      const call = async (access, method, path, body, token) => {
        const h = headers(p, access, token ? { 'x-stack-access-token': token } : {});
        const res = await fetch(`${files.baseUrl}/api/v1${path}`, { method, headers: h, body: body && JSON.stringify(body) });
        assert.ok(res.ok, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
        return res.json();
      };
      await call('admin', 'PATCH', '/internal/config/override/branch', { config_override_string: JSON.stringify({ 'apps.installed.analytics': { enabled: true } }) });
      const { access_token: token } = await call('client', 'POST', '/auth/password/sign-up', { email: 'filed@example.com', password: PASSWORD, verification_callback_url: 'http://localhost/verify' });
      const events = [{ type: 4, timestamp: t0, data: {} }, { type: 3, timestamp: t0 + 3_000, data: { source: 1 } }];
      const stored = await call('client', 'POST', '/session-replays/batch', {
        browser_session_id: browserSession, session_replay_segment_id: segment, batch_id: randomUUID(),
        started_at_ms: t0, sent_at_ms: Date.now(), events,
      }, token);
      const file = join(files.dataDir, 'session-replays', p.project_id, stored.session_replay_id, `${stored.batch_id}.json.gz`);
      assert.deepEqual(JSON.parse(gunzipSync(readFileSync(file))), events);
      const read = await call('admin', 'GET', `/internal/session-replays/${stored.session_replay_id}/events`);
      assert.deepEqual(read.chunk_events.flatMap((c) => c.events), events);
    } finally {
      await files.stop();
    }
  });

  test('retention: events and replays older than the project keeps are deleted', async () => {
    const app = sdk(b);
    await app.signInWithCredential({ email: 'bee-secret@other.example', password: PASSWORD, noRedirect: true });
    await until(adminB, byType, (rows) => counts(rows)['$sign-in'] === 1);
    assert.deepEqual(await admin(b)('GET', '/internal/analytics/settings'), { retention_days: 90 });
    await admin(b)('PUT', '/internal/analytics/settings', { body: { retention_days: 1 } });
    assert.deepEqual(await admin(b)('GET', '/internal/analytics/settings'), { retention_days: 1 });
    const refused = await admin(b)('PUT', '/internal/analytics/settings', { body: { retention_days: 0 }, status: 400 });
    assert.equal(refused.code, 'SCHEMA_ERROR');
    const before = (await query(adminA, 'SELECT count(*) AS n FROM events')).result[0].n;
    // Two days on, B's events (one day's retention) are gone; A's (ninety days) are kept.
    const pruned = JSON.parse(gh.cli('prune', '--as-of', String(Date.now() + 2 * 86_400_000)));
    assert.ok(pruned.deleted_events >= 2, JSON.stringify(pruned));
    assert.deepEqual((await query(adminB, 'SELECT count(*) AS n FROM events')).result.map((r) => Number(r.n)), [0]);
    assert.equal((await query(adminA, 'SELECT count(*) AS n FROM events')).result[0].n, before);
  });

  test('hostile queries see only their own project, change nothing, and never answer 5xx', async () => {
    // What B's rows and the secrets hold: its project id, its user's address and team, and
    // password hashes.
    const leaks = [b.project_id, 'bee-secret', '$argon2'];
    const tables = ['events', 'users', 'teams', 'contact_channels', 'team_member_profiles', 'team_permissions', 'team_invitations',
      'email_outboxes', 'project_permissions', 'notification_preferences', 'refresh_tokens', 'connected_accounts'];
    const common = [
      // Every table, whole: only A's rows.
      ...tables.map((t) => `SELECT * FROM ${t}`),
      // Other projects through every construct.
      `SELECT * FROM users WHERE project_id = '${b.project_id}'`,
      `SELECT * FROM users WHERE project_id <> '${a.project_id}'`,
      'SELECT * FROM users UNION ALL SELECT * FROM users',
      `WITH x AS (SELECT * FROM users WHERE project_id = '${b.project_id}') SELECT * FROM x`,
      'WITH users AS (SELECT 1 AS id) SELECT * FROM users',
      'WITH secret AS (SELECT 1) SELECT * FROM (WITH emails AS (SELECT 1) SELECT 1) q, emails',
      'WITH one_time_codes AS (SELECT 1) SELECT * FROM one_time_codes',
      'SELECT (SELECT count(*) FROM api_keys)',
      'SELECT * FROM users WHERE id IN (SELECT user_id FROM refresh_tokens)',
      'SELECT * FROM users u JOIN api_key_sets k ON true',
      'SELECT * FROM (SELECT * FROM projects) p',
      'SELECT * FROM main.users',
      'SELECT * FROM public.users',
      'SELECT * FROM "users"',
      'SELECT * FROM "USERS"',
      'SELECT password_hash FROM users',
      'SELECT token_hash FROM refresh_tokens',
      'SELECT totp_secret FROM users',
      'SELECT * FROM analytics_events',
      'SELECT * FROM config_overrides',
      'SELECT * FROM stripe_accounts',
      'SELECT * FROM jobs',
      'SELECT * FROM sessions',
      'TABLE users',
      'SELECT * FROM users; SELECT * FROM api_keys',
      'SELECT 1; DELETE FROM users',
      // Writes.
      'DELETE FROM users',
      "UPDATE users SET display_name = 'x'",
      "INSERT INTO users (id) VALUES ('x')",
      'DROP TABLE users',
      'CREATE TABLE x (a int)',
      'ALTER TABLE users ADD COLUMN x int',
      'SELECT * FROM users FOR UPDATE',
      'SELECT * INTO stolen FROM users',
      // Catalogues.
      'SELECT * FROM sqlite_master',
      'SELECT * FROM sqlite_schema',
      'SELECT * FROM information_schema.tables',
      'SELECT * FROM pg_catalog.pg_tables',
      'SELECT * FROM pg_tables',
      'SELECT * FROM pg_authid',
      // Runaway and oversized.
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r',
      'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 20000) SELECT n FROM r',
      // Not SQL, or not one statement.
      'SELEKT 1',
      '',
      '/* */',
      'EXPLAIN SELECT * FROM users',
      'SHOW ALL',
      'BEGIN',
      'VACUUM',
    ];
    const sqlite = [
      "ATTACH DATABASE '/tmp/stolen.db' AS stolen",
      'PRAGMA table_info(users)',
      'PRAGMA writable_schema = 1',
      "SELECT * FROM pragma_table_info('users')",
      "SELECT load_extension('/tmp/x.so')",
      "SELECT readfile('/etc/passwd')",
      "SELECT writefile('/tmp/x', 'y')",
      "SELECT fts3_tokenizer('simple')",
      'SELECT sqlite_version()',
      "SELECT * FROM json_each((SELECT group_concat(primary_email) FROM main.users))",
      'SELECT * FROM temp.sqlite_master',
    ];
    const postgres = [
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT pg_ls_dir('.')",
      "SELECT current_setting('data_directory')",
      "SELECT set_config('gatehouse.x', 'y', true)",
      "SELECT query_to_xml('select * from api_keys', true, true, '')",
      "SELECT lo_import('/etc/passwd')",
      'SELECT pg_sleep(60)',
      "SELECT * FROM dblink('dbname=postgres', 'select 1') AS t(a int)",
      "SELECT 'api_keys'::regclass",
      "COPY users TO '/tmp/x'",
      "COPY (SELECT 1) TO PROGRAM 'id'",
      'SELECT pg_catalog.upper(display_name) FROM users',
      'SET ROLE postgres',
      "SELECT * FROM generate_series(1, 100000000) a, generate_series(1, 100000000) b",
      'SELECT txid_current()',
      "SELECT nextval('x')",
      'SELECT * FROM ROWS FROM (generate_series(1,3))',
    ];
    const hostile = [...common, ...(POSTGRES ? postgres : sqlite)];
    assert.ok(hostile.length >= 50, `${hostile.length} hostile queries`);
    const usersBefore = (await api(b, 'server', 'GET', '/users')).items.length;
    let answered = 0;
    for (const q of hostile) {
      const res = await fetch(`${gh.baseUrl}/api/v1/internal/analytics/query`, {
        method: 'POST', headers: headers(a, 'admin'), body: JSON.stringify({ query: q, timeout_ms: 1_000 }),
      });
      const text = await res.text();
      assert.ok(res.status < 500, `${q}: ${res.status} ${text}`);
      for (const leak of leaks) assert.ok(!text.includes(leak), `${q} leaked ${leak}: ${text.slice(0, 500)}`);
      if (tables.some((t) => q === `SELECT * FROM ${t}`)) assert.ok(res.ok, `the project's own table: ${q}: ${text}`);
      if (res.ok) {
        answered += 1;
        const rows = JSON.parse(text).result;
        for (const row of rows) {
          if ('project_id' in row) assert.equal(row.project_id, a.project_id, `${q}: ${JSON.stringify(row)}`);
        }
      } else {
        const code = JSON.parse(text).code;
        assert.ok(['ANALYTICS_QUERY_ERROR', 'ANALYTICS_QUERY_TIMEOUT', 'SCHEMA_ERROR'].includes(code), `${q}: ${text}`);
      }
    }
    assert.ok(answered >= tables.length, 'the plain reads of the project\'s own tables answered');
    // The runaway query hit its time limit.
    const runaway = await api(a, 'admin', 'POST', '/internal/analytics/query', {
      body: { query: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r', timeout_ms: 1_000 }, status: 400,
    });
    assert.equal(runaway.code, 'ANALYTICS_QUERY_TIMEOUT', JSON.stringify(runaway));
    assert.deepEqual(runaway.details, { timeout_ms: 1_000 });
    const error = await api(a, 'admin', 'POST', '/internal/analytics/query', { body: { query: 'SELECT nope FROM users' }, status: 400 });
    assert.equal(error.code, 'ANALYTICS_QUERY_ERROR');
    assert.match(error.error, /nope/);
    // Nothing was written: B still has its user, A still answers.
    assert.equal((await api(b, 'server', 'GET', '/users')).items.length, usersBefore);
    assert.ok((await query(adminA, 'SELECT count(*) AS n FROM users')).result[0].n >= 2);
    // Clients and servers cannot query at all.
    assert.equal((await api(a, 'server', 'POST', '/internal/analytics/query', { body: { query: 'SELECT 1' }, status: 401 })).code, 'INSUFFICIENT_ACCESS_TYPE');
  });

  test('the dashboard: panels, a query saved, and a replay recorded by the SDK played back', async () => {
    browser = await launchBrowser();
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'analyst@example.com', PASSWORD);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Shop');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Shop is ready');
    const key = (k) => page.textContent(`code[data-key="${k}"]`);
    const shop = { project_id: await key('project_id'), publishable_client_key: await key('publishable_client_key') };
    const room = `${gh.baseUrl}/projects/${shop.project_id}/analytics`;
    await page.goto(room);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('button:has-text("Turn on analytics")');
    await page.waitForSelector('[data-panel="top-pages"]');

    // The app: the SDK with replays on, in its own origin; a person signs up, looks, clicks.
    app = await startSdkApp(gh, { project: shop, options: { analytics: { replays: { enabled: true } } } });
    const shopper = await context.newPage();
    await shopper.goto(app.url);
    await shopper.waitForFunction(() => window.ready);
    await shopper.evaluate((pw) => window.stack.signUpWithCredential({ email: 'shopper@example.com', password: pw, noRedirect: true }), PASSWORD);
    for (let i = 0; i < 3; i++) await shopper.click('#buy');
    // The recorder sends every five seconds; leaving the page sends the rest at once.
    const replayRow = page.locator('tr.replay-row');
    const deadline = Date.now() + 30_000;
    await page.goto(`${room}/replays`);
    while (await replayRow.count() === 0) {
      if (Date.now() > deadline) assert.fail('no replay arrived');
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    await shopper.close();

    // Panels count what happened: a sign-up by password, the app's page view.
    const panelsDeadline = Date.now() + 15_000;
    for (;;) {
      await page.goto(room);
      const views = await page.locator('[data-panel="top-pages"] .bar').count();
      const signUps = await page.locator('[data-panel="sign-ups-by-method"] .bar').count();
      if (views > 0 && signUps > 0) break;
      if (Date.now() > panelsDeadline) assert.fail(`panels stayed empty: ${views} page bars, ${signUps} sign-up bars`);
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(await page.textContent('[data-panel="sign-ups-by-method"]'), /password/);

    // The editor, with JavaScript or without: a query in the URL, its table and chart; saved.
    await page.fill('#analytics-sql', "SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 1");
    await page.click('button:has-text("Run")');
    await page.waitForSelector('#query-result table.result');
    assert.match(await page.textContent('#query-result'), /\$click/);
    assert.ok(await page.locator('#query-result svg .bar').count() >= 3);
    await page.fill('input[name="folder"]', 'Funnel');
    await page.fill('input[name="name"]', 'Events by type');
    await page.click('button:has-text("Save query")');
    await page.waitForSelector('.saved-query a:has-text("Events by type"), .form-error');
    assert.equal(await page.locator('.form-error').count(), 0, await page.locator('.form-error').first().textContent().catch(() => ''));
    const plain = await (await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() })).newPage();
    await plain.goto(`${room}?q=${encodeURIComponent('SELECT * FROM api_keys')}`);
    assert.match(await plain.textContent('#query-result'), /There is no table api_keys here/);
    await plain.goto(room);
    await plain.click('.saved-query a:has-text("Events by type")');
    await plain.waitForSelector('#query-result table.result');
    await shot(page, 'dashboard-analytics');
    await plain.click('.saved-query button:has-text("Delete")');
    await plain.waitForSelector('text=None yet');

    // The replay, played.
    await page.goto(`${room}/replays`);
    assert.match(await replayRow.first().textContent(), /shopper@example\.com/);
    await page.click('tr.replay-row a >> nth=0');
    await page.waitForSelector('#replay-player[data-ready="true"]', { timeout: 10_000 }).catch(async (e) => {
      await shot(page, 'debug-replay');
      throw new Error(`${e.message}\n${await page.innerHTML('#replay-player')}\n${page.problems.join('\n')}\n${await page.evaluate(() => typeof window.rrwebPlayer)}`);
    });
    await page.waitForSelector('#replay-player .rr-player');
    assert.match(await page.textContent('main'), /\$click/, "the user's events are beside the player");
    await shot(page, 'dashboard-replay');
    assert.deepEqual(page.problems, []);
  });
});
