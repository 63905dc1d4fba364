// The record of changes, driven as people drive Gatehouse: the hosted pages without JavaScript
// and the dashboard in Chromium each write exactly their events, naming who made them; a
// refused form writes none. Read back with `gatehouse events`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, signUpAdmin, submit, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('the record of changes', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  const last = (projectId) => gh.events(projectId).at(-1)?.position ?? 0;
  const summary = (events) => events.map((e) => [e.kind, e.actor_type, e.actor_id]);

  test('hosted pages without JavaScript: sign-up, a rename and sign-out are the user\'s', async () => {
    const project = gh.project.project_id;
    const pages = `${gh.baseUrl}/handler/${project}`;
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    let at = last(project);

    await page.goto(`${pages}/sign-up`);
    await submit(page, { email: 'ada@example.com', password: 'short' }, 'Sign up');
    await page.waitForSelector('[role="alert"]');
    assert.deepEqual(gh.events(project, at), [], 'a refused sign-up writes nothing');

    await submit(page, { email: 'ada@example.com', password: PASSWORD }, 'Sign up');
    await page.waitForURL(`${pages}/account-settings`);
    const signedUp = gh.events(project, at);
    const ada = signedUp[0].object_id;
    assert.deepEqual(summary(signedUp), [['user.created', 'user', ada], ['session.created', 'user', ada]]);
    assert.equal(signedUp[1].data.user_id, ada);
    const session = signedUp[1].object_id;

    at = last(project);
    await submit(page, { display_name: 'Ada' }, 'Save');
    await page.waitForSelector('input[name="display_name"][value="Ada"]');
    assert.deepEqual(summary(gh.events(project, at)), [['user.updated', 'user', ada]]);

    at = last(project);
    await page.goto(`${pages}/sign-out`);
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${pages}/sign-in`);
    const signedOut = gh.events(project, at);
    assert.deepEqual(summary(signedOut), [['session.deleted', 'user', ada]]);
    assert.equal(signedOut[0].object_id, session);
    await context.close();
  });

  test('the dashboard: a project made, a setting saved and a key set revoked are the admin\'s', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'admin@example.com', PASSWORD);
    const admin = gh.events('internal').findLast((e) => e.kind === 'user.created').object_id;

    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Recorded');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Recorded is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const made = gh.events(projectId);
    assert.deepEqual(summary(made), [
      ['project.created', 'admin', admin],
      ['config.updated', 'admin', admin],
      ['project_api_key.created', 'admin', admin],
    ]);
    const keySet = made[2].object_id;

    await page.goto(`${gh.baseUrl}/projects/${projectId}/settings`);
    await page.waitForSelector('body[data-hydrated="true"]');
    let at = last(projectId);
    await page.fill('input[name="after_sign_in_url"]', 'https://evil.test/');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('[role="alert"]');
    assert.deepEqual(gh.events(projectId, at), [], 'a refused setting writes nothing');
    await page.fill('input[name="after_sign_in_url"]', '');
    await page.uncheck('input[name="sign_up_enabled"]');
    await page.click('button:has-text("Save settings")');
    await page.waitForSelector('text=Saved.');
    assert.deepEqual(summary(gh.events(projectId, at)), [['config.updated', 'admin', admin]]);

    at = last(projectId);
    await page.click('tr:has-text("Created with the project") button:has-text("Revoke")');
    await page.waitForSelector('tr:has-text("Created with the project") >> text=Revoked');
    const revoked = gh.events(projectId, at);
    assert.deepEqual(summary(revoked), [['project_api_key.updated', 'admin', admin]]);
    assert.equal(revoked[0].object_id, keySet);
    assert.deepEqual(page.problems, []);
    await context.close();
  });
});
