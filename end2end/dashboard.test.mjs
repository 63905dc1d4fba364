// The dashboard in Chromium: an admin signs up, creates a project, copies its keys (shown once)
// and uses them; the same without JavaScript.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin as signUpAdminAt, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('dashboard', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  const rowsBecome = (page, n) => page.waitForFunction((n) => document.querySelectorAll('tbody tr').length === n, n);

  const signUpAdmin = (page, email) => signUpAdminAt(page, gh.baseUrl, email, PASSWORD);

  test('an admin creates a project, copies its keys once, and the keys work', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gh.baseUrl });
    const page = await watchedPage(context);
    await signUpAdmin(page, 'admin@example.com');
    await page.waitForSelector('text=admin@example.com');
    await page.waitForSelector('body[data-hydrated="true"]');

    await page.fill('input[name="display_name"]', 'Shop');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Shop is ready');
    assert.match(page.url(), /\?created=/);
    const ssk = await page.textContent('code[data-key="secret_server_key"]');
    const projectId = await page.textContent('code[data-key="project_id"]');
    assert.match(ssk, /^ssk_/);
    assert.match(await page.textContent('code[data-key="publishable_client_key"]'), /^pck_/);
    assert.match(await page.textContent('code[data-key="super_secret_admin_key"]'), /^sak_/);
    await shot(page, 'dashboard-new-project');

    await page.click('code[data-key="secret_server_key"] + button');
    await page.waitForSelector('code[data-key="secret_server_key"] + button:has-text("Copied")');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), ssk);

    const res = await fetch(`${gh.baseUrl}/api/v1/users`, {
      headers: { 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk },
    });
    assert.equal(res.status, 200);

    await page.reload();
    await page.waitForSelector('td:has-text("Shop")');
    assert.equal(await page.locator('text=Shop is ready').count(), 0, 'keys are shown only once');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test("the users table searches, sorts and pages; other admins cannot open it", async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, 'table-admin@example.com');
    await page.fill('input[name="display_name"]', 'Table');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Table is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const ssk = await page.textContent('code[data-key="secret_server_key"]');
    const server = { 'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk };
    for (let i = 0; i < 55; i++) {
      const name = i === 7 ? 'Bob Builder' : `User ${i}`;
      const res = await fetch(`${gh.baseUrl}/api/v1/users`, { method: 'POST', headers: server, body: JSON.stringify({ primary_email: `u${i}@example.com`, display_name: name }) });
      assert.equal(res.status, 201);
    }

    // Users made in the same millisecond are ordered by id; ask the API which are first and last.
    const edge = async (desc) => (await (await fetch(`${gh.baseUrl}/api/v1/users?limit=1&desc=${desc}`, { headers: server })).json()).items[0].primary_email;
    const [newest, oldest] = [await edge(true), await edge(false)];
    await page.click('a:has-text("Table")');
    await page.waitForURL(`${gh.baseUrl}/projects/${projectId}/overview`);
    assert.equal(await page.textContent('[data-stat="total-users"]'), '55');
    assert.equal(await page.textContent('[data-stat="recent-sign-ups"]'), '55');
    assert.equal(await page.locator('.chart rect').count(), 30);
    assert.equal(await page.getAttribute('.chart rect:last-of-type', 'data-count'), '55', "today's bar");
    assert.equal(await page.locator('.recent li').count(), 5);
    assert.equal(await page.locator('.hosted a').count(), 3);
    await shot(page, 'overview');
    await page.click('nav a:has-text("Users")');
    await page.waitForURL(`${gh.baseUrl}/projects/${projectId}/users`);
    await rowsBecome(page, 50);
    assert.equal(await page.textContent('tbody tr:first-child td:first-child'), newest, 'newest first');
    await page.click('a:has-text("Next page")');
    await page.waitForURL(/cursor=/);
    await rowsBecome(page, 5);
    assert.equal(await page.textContent('tbody tr:last-child td:first-child'), oldest);

    await page.goto(`${gh.baseUrl}/projects/${projectId}/users`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="query"]', 'bob');
    await page.click('button:has-text("Search")');
    await page.waitForURL(/query=bob/);
    await rowsBecome(page, 1);
    assert.equal(await page.textContent('tbody tr td:nth-child(2)'), 'Bob Builder');
    await page.selectOption('select[name="sort"]', 'oldest');
    await page.fill('input[name="query"]', '');
    await page.click('button:has-text("Search")');
    await page.waitForURL(/sort=oldest/);
    await rowsBecome(page, 50);
    assert.equal(await page.textContent('tbody tr:first-child td:first-child'), oldest);
    await shot(page, 'users-table');

    // Open a user, edit them, end their session, delete them.
    const first = await (await fetch(`${gh.baseUrl}/api/v1/users?query=${encodeURIComponent(oldest)}`, { headers: server })).json();
    const userId = first.items[0].id;
    const session = await (await fetch(`${gh.baseUrl}/api/v1/auth/sessions`, { method: 'POST', headers: server, body: JSON.stringify({ user_id: userId }) })).json();
    await page.click(`a:has-text("${oldest}")`);
    await page.waitForURL(`${gh.baseUrl}/projects/${projectId}/users/${userId}`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Zero');
    await page.fill('textarea[name="server_metadata"]', '{"plan": ');
    await page.waitForSelector('textarea[name="server_metadata"][aria-invalid="true"]');
    assert.match(await page.textContent('label[for="field-server_metadata"] [role="alert"]'), /Server metadata is not valid JSON/);
    await page.click('button:has-text("Save user")');
    await page.waitForSelector('form > p[role="alert"]:has-text("is not valid JSON")');
    await page.fill('textarea[name="server_metadata"]', '{"plan": "pro"}');
    await page.click('button:has-text("Save user")');
    await page.waitForSelector('text=Saved.', { timeout: 5000 }).catch(async (e) => {
      throw new Error(`not saved; the page says: ${await page.locator('[role="alert"]').allTextContents()}`);
    });
    const read = await (await fetch(`${gh.baseUrl}/api/v1/users/${userId}`, { headers: server })).json();
    assert.equal(read.display_name, 'Zero');
    assert.deepEqual(read.server_metadata, { plan: 'pro' });

    assert.equal(await page.locator('.session').count(), 1);
    await page.click('.session button:has-text("Revoke")');
    await page.waitForFunction(() => document.querySelectorAll('.session').length === 0);
    const refreshed = await fetch(`${gh.baseUrl}/api/v1/auth/sessions/current/refresh`, {
      method: 'POST', headers: { ...server, 'x-stack-access-type': 'client', 'x-stack-refresh-token': session.refresh_token }, body: '{}',
    });
    assert.equal(refreshed.status, 401);

    await page.check('.panel.danger input[type="checkbox"]');
    await page.click('button:has-text("Delete user")');
    await page.waitForURL(`${gh.baseUrl}/projects/${projectId}/users`);
    assert.equal((await fetch(`${gh.baseUrl}/api/v1/users/${userId}`, { headers: server })).status, 404);
    assert.deepEqual(page.problems, []);

    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await signUpAdmin(otherPage, 'other-admin@example.com');
    await otherPage.goto(`${gh.baseUrl}/projects/${projectId}/users`);
    await otherPage.waitForSelector('[role="alert"]');
    assert.match(await otherPage.textContent('[role="alert"]'), /not found or is not accessible/);
    await other.close();
    await context.close();
  });

  test('settings change how people sign in and where they go; key sets are created and revoked', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, 'settings-admin@example.com');
    await page.fill('input[name="display_name"]', 'Configured');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Configured is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const hosted = `${gh.baseUrl}/handler/${projectId}`;

    const settings = `${gh.baseUrl}/projects/${projectId}/settings`;
    await page.goto(settings);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.uncheck('input[name="sign_up_enabled"]');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('text=Saved.');
    const closed = await context.newPage();
    await closed.goto(`${hosted}/sign-up`);
    await closed.waitForSelector('text=is not taking new sign-ups');
    await closed.close();

    await page.fill('input[name="after_sign_in_url"]', 'https://evil.test/');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('[role="alert"]'), /after_sign_in_url/);
    const landing = `${gh.baseUrl.replace('127.0.0.1', 'localhost')}/health`;
    await page.fill('input[name="after_sign_in_url"]', landing);
    await page.check('input[name="sign_up_enabled"]');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('text=Saved.');

    const user = await browser.newContext();
    const userPage = await user.newPage();
    await userPage.goto(`${hosted}/sign-up`);
    await userPage.fill('input[name="email"]', 'landing@example.com');
    await userPage.fill('input[name="password"]', PASSWORD);
    await userPage.click('button:has-text("Sign up")');
    await userPage.waitForURL(landing);
    await user.close();

    await page.fill('input[name="description"]', 'CI');
    await page.click('button:has-text("Create keys")');
    await page.waitForSelector('text=CI is ready');
    const ssk = await page.textContent('code[data-key="secret_server_key"]');
    const call = () => fetch(`${gh.baseUrl}/api/v1/users`, {
      headers: { 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk },
    });
    assert.equal((await call()).status, 200);
    await shot(page, 'project-settings');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('tr:has-text("CI") button:has-text("Revoke")');
    await page.waitForSelector('tr:has-text("CI") >> text=Revoked');
    assert.equal((await call()).status, 401);
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('the Configuration room shows the tree, applies overrides and names the key a refusal is about', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, 'config-admin@example.com');
    await page.fill('input[name="display_name"]', 'Tree');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Tree is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    await page.goto(`${gh.baseUrl}/projects/${projectId}/config`);
    await page.waitForSelector('body[data-hydrated="true"]');
    const tree = async () => JSON.parse(await page.textContent('#rendered-config'));
    assert.equal((await tree()).auth.otp.allowSignIn, false);

    await page.fill('textarea[name="config_override"]', '{"auth.otp": {"allowSignIn": "yes"}}');
    await page.click('button:has-text("Apply override")');
    await page.waitForSelector('[role="alert"] code[data-key="auth.otp.allowSignIn"]');
    assert.match(await page.textContent('[role="alert"]'), /must be a `boolean` type/);

    await page.fill('textarea[name="config_override"]', '{"auth.otp": {"allowSignIn": true}, "teams.allowClientTeamCreation": true}');
    await page.click('button:has-text("Apply override")');
    await page.waitForSelector('text=Saved.');
    await page.waitForFunction(() => JSON.parse(document.querySelector('#rendered-config').textContent).auth.otp.allowSignIn === true);
    assert.equal((await tree()).teams.allowClientTeamCreation, true);
    assert.match(await page.textContent('pre[data-level="environment"]'), /"auth.otp"/);
    // The settings room reads the same tree.
    await page.goto(`${gh.baseUrl}/projects/${projectId}/settings`);
    assert.equal(await page.isChecked('input[name="credential_enabled"]'), true);
    await page.goto(`${gh.baseUrl}/projects/${projectId}/config`);
    await shot(page, 'project-config');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('the Teams and Permissions rooms: teams, members, grants, invitations, definitions as a tree, default grants', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, 'teams-admin@example.com');
    await page.fill('input[name="display_name"]', 'Crew');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Crew is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const ssk = await page.textContent('code[data-key="secret_server_key"]');
    const adminKey = await page.textContent('code[data-key="super_secret_admin_key"]');
    const made = await fetch(`${gh.baseUrl}/api/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk },
      body: JSON.stringify({ primary_email: 'mia@example.com', primary_email_auth_enabled: true }),
    });
    const mia = await made.json();
    const rooms = `${gh.baseUrl}/projects/${projectId}`;

    // Permissions: a definition containing another shows as a tree; defaults are saved.
    await page.goto(`${rooms}/permissions`);
    await page.waitForSelector('body[data-hydrated="true"]');
    const open = (inner) => page.locator(`details:has(${inner})`).evaluate((d) => { d.open = true; });
    await open('#team-new-id');
    await page.fill('#team-new-id', 'docs:read');
    await page.click('button:has-text("Create permission") >> nth=0');
    await page.waitForSelector('li[data-id="docs:read"]');
    await open('#team-new-id');
    await page.fill('#team-new-id', 'docs:write');
    await page.fill('#team-new-contained', 'docs:read');
    await page.click('button:has-text("Create permission") >> nth=0');
    await page.waitForSelector('li[data-id="docs:write"] ul code:has-text("docs:read")');
    await page.fill('#defaults-teamMember', 'team_member docs:read');
    await page.locator('form:has(#defaults-teamMember) button').click();
    await page.waitForSelector('text=Saved the default grants.');
    await page.reload();
    assert.equal(await page.inputValue('#defaults-teamMember'), 'docs:read team_member');
    // A cycle is refused with its chain.
    await open('[id="team-contained-docs:read"]');
    await page.fill('[id="team-contained-docs:read"]', 'docs:write');
    await page.locator('li[data-id="docs:read"] button:has-text("Save")').click();
    await page.waitForSelector('[role="alert"]:has-text("would contain itself")');
    await shot(page, 'dashboard-permissions');

    // Teams: create one, add a member (who gets the default grants), grant, invite.
    await page.goto(`${rooms}/teams`);
    await page.fill('input[name="display_name"]', 'Ops');
    await page.click('button:has-text("Create team")');
    await page.waitForURL(/\/teams\/[0-9a-f-]{36}$/);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('#team-add', 'mia@example.com');
    await page.click('button:has-text("Add member")');
    const row = 'tr.member[data-email="mia@example.com"]';
    await page.waitForSelector(`${row} .permission:has-text("docs:read")`);
    await page.selectOption(`${row} select[name="permission"]`, 'docs:write');
    await page.click(`${row} button:has-text("Grant")`);
    await page.waitForSelector(`${row} .permission:has-text("docs:write")`);
    await page.fill('#team-invite', 'zoe@example.com');
    await page.click('button:has-text("Send invitation")');
    await page.waitForSelector('li.invitation:has-text("zoe@example.com")');
    await page.fill('textarea[name="server_metadata"]', '{"plan": "team"}');
    await page.click('button:has-text("Save team")');
    await page.waitForSelector('text=Saved.');
    await shot(page, 'dashboard-team');

    // The list finds it by name; the user page shows the team and its grants, and the user's
    // API keys, which the admin revokes.
    await page.goto(`${rooms}/teams?search=op`);
    await page.waitForSelector('td a:has-text("Ops")');
    const enable = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': projectId, 'x-stack-super-secret-admin-key': adminKey },
      body: JSON.stringify({ config_override_string: JSON.stringify({ 'apiKeys.enabled.user': true }) }),
    });
    assert.equal(enable.status, 200, await enable.text());
    const serverHeaders = { 'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': projectId, 'x-stack-secret-server-key': ssk };
    const key = await (await fetch(`${gh.baseUrl}/api/v1/user-api-keys`, {
      method: 'POST', headers: serverHeaders, body: JSON.stringify({ user_id: mia.id, description: 'reports', expires_at_millis: null }),
    })).json();
    await page.goto(`${rooms}/users/${mia.id}`);
    await page.waitForSelector('li.user-team:has-text("Ops")');
    assert.match(await page.textContent('li.user-team'), /docs:read.*docs:write|docs:write.*docs:read/);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('tr.api-key[data-description="reports"] button:has-text("Revoke")');
    await page.waitForSelector('tr.api-key[data-description="reports"] >> text=Revoked');
    const checked = await fetch(`${gh.baseUrl}/api/v1/user-api-keys/check`, { method: 'POST', headers: serverHeaders, body: JSON.stringify({ api_key: key.value }) });
    assert.equal((await checked.json()).code, 'API_KEY_REVOKED');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('the Sign-up rules room: a refused condition points at its problem, rules are ordered and tried, and a rule turns a hosted sign-up away', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, 'rules-admin@example.com');
    await page.fill('input[name="display_name"]', 'Gate');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Gate is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const room = `${gh.baseUrl}/projects/${projectId}/sign-up-rules`;
    await page.goto(room);
    await page.waitForSelector('body[data-hydrated="true"]');

    // A typo is refused where it is, and what was typed stays.
    await page.fill('#rule-id', 'block-spam');
    await page.fill('#rule-name', 'No spam');
    await page.fill('#rule-condition', 'authMethod == "password" &&\n  emial.contains("spam")');
    await page.fill('#rule-message', 'No spam accounts, please.');
    await page.click('button:has-text("Create rule")');
    await page.waitForSelector('.condition-problem:has-text("Line 2, column 3: unknown variable `emial`")');
    assert.match(await page.textContent('.condition-problem pre'), /emial\.contains\("spam"\)\n  \^/);
    assert.equal(await page.inputValue('#rule-condition'), 'authMethod == "password" &&\n  emial.contains("spam")');
    await page.fill('#rule-condition', 'authMethod == "password" &&\n  email.contains("spam")');
    await page.click('button:has-text("Create rule")');
    await page.waitForURL(/\?edit=block-spam$/);
    await page.waitForSelector('li.sign-up-rule[data-id="block-spam"]');

    // A second rule goes last; the arrow moves it first.
    await page.goto(`${room}#editor`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('#rule-id', 'restrict-test');
    await page.fill('#rule-condition', 'emailDomain == "test.org"');
    await page.selectOption('#rule-action', 'restrict');
    await page.click('button:has-text("Create rule")');
    await page.waitForSelector('li.sign-up-rule[data-id="restrict-test"]');
    const order = () => page.$$eval('li.sign-up-rule', (lis) => lis.map((li) => li.dataset.id));
    assert.deepEqual(await order(), ['block-spam', 'restrict-test']);
    await page.click('button[aria-label="↑: restrict-test"]');
    await page.waitForFunction(() => document.querySelector('li.sign-up-rule')?.dataset.id === 'restrict-test');

    // The tester says which rule fires.
    await page.fill('#test-email', 'spam@example.com');
    await page.click('button:has-text("Test")');
    await page.waitForSelector('.test-outcome:has-text("Rejected by rule block-spam.")');
    assert.equal(await page.getAttribute('tr[data-rule="restrict-test"]', 'data-status'), 'not_matched');

    // A person signing up on the hosted page is turned away with the rule's message.
    const person = await watchedPage(await browser.newContext());
    await person.goto(`${gh.baseUrl}/handler/${projectId}/sign-up`);
    await person.fill('input[name="email"]', 'spam@example.com');
    await person.fill('input[name="password"]', PASSWORD);
    await person.click('button:has-text("Sign up")');
    await person.waitForSelector('[role="alert"]:has-text("No spam accounts, please.")');
    assert.match(person.url(), /\/sign-up(\?|$)/);

    // The chart counts it.
    await page.goto(room);
    await page.waitForSelector('li.sign-up-rule[data-id="block-spam"] .trigger-counts:has-text("1 in 48 h")');
    assert.equal(await page.locator('li.sign-up-rule[data-id="block-spam"] rect.bar.fill-accent').count(), 1);
    await shot(page, 'dashboard-sign-up-rules');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(person.problems, []);
    await context.close();
  });

  test('without JavaScript an admin still creates a project and sees its keys', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signUpAdmin(page, 'nojs-admin@example.com');
    await page.fill('input[name="display_name"]', 'Plain HTML');
    await page.uncheck('input[name="sign_up_enabled"]');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Plain HTML is ready');
    assert.match(await page.textContent('code[data-key="secret_server_key"]'), /^ssk_/);
    const projectId = await page.textContent('code[data-key="project_id"]');
    await page.goto(gh.baseUrl);
    await page.click('a:has-text("Plain HTML")');
    await page.waitForURL(`${gh.baseUrl}/projects/${projectId}/overview`);
    await page.click('.hosted a:has-text("sign-up")');
    await page.waitForSelector('text=is not taking new sign-ups', { state: 'attached' });
    await context.close();
  });
});
