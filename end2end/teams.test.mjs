// Teams on the hosted pages, in Chromium with JavaScript off: a user creates a team and
// invites a colleague by email (delivered to a real SMTP server); the colleague follows the
// link, signs up through the invitation page and lands in the team; the owner then sees them,
// changes their permissions and removes them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { startSmtp } from './support/smtp.mjs';
import { launchBrowser, shot, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('teams on the hosted pages', () => {
  let gh, smtp, browser;

  before(async () => {
    smtp = await startSmtp();
    gh = await startGatehouse({ GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_EMAIL_FROM: 'Gatehouse <noreply@example.com>' });
    browser = await launchBrowser();
    const p = gh.project;
    const res = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': p.project_id, 'x-stack-super-secret-admin-key': p.super_secret_admin_key },
      body: JSON.stringify({ config_override_string: JSON.stringify({ 'teams.allowClientTeamCreation': true }) }),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    await smtp?.stop();
  });

  test('create a team, invite by email, the invitee signs up through the invitation and joins', async () => {
    const pages = `${gh.baseUrl}/handler/${gh.project.project_id}`;
    const owner = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    await owner.goto(`${pages}/sign-up`);
    await owner.fill('input[name="email"]', 'owner@example.com');
    await owner.fill('input[name="password"]', PASSWORD);
    await owner.click('button:has-text("Sign up")');
    await owner.waitForURL(`${pages}/account-settings`);
    await owner.fill('#new-team-name', 'Rocket');
    await owner.click('button:has-text("Create team")');
    await owner.waitForSelector('li.team[data-team="Rocket"] >> text=Selected');
    await owner.fill('li.team[data-team="Rocket"] input[name="email"]', 'guest@example.com');
    await owner.click('li.team[data-team="Rocket"] button:has-text("Send invitation")');
    await owner.waitForSelector('text=Invitation sent.');
    assert.match(await owner.textContent('li.team[data-team="Rocket"] li.invitation'), /guest@example\.com/);

    const mail = await smtp.waitFor('guest@example.com', 'invited to join Rocket');
    const link = mail.match(/https?:\/\/\S+\/team-invitation\?code=[0-9a-z]{45}/)[0];

    const guest = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    await guest.goto(link);
    assert.match(await guest.textContent('.invitation-summary'), /owner@example\.com invited guest@example\.com to join Rocket/);
    await shot(guest, 'team-invitation');
    await guest.click('a:has-text("Create an account")');
    await guest.fill('input[name="email"]', 'guest@example.com');
    await guest.fill('input[name="password"]', PASSWORD);
    await guest.click('button:has-text("Sign up")');
    await guest.waitForURL(link);
    await guest.click('button:has-text("Join Rocket")');
    await guest.waitForURL(`${pages}/account-settings?done=team-joined#teams`);
    await guest.waitForSelector('li.team[data-team="Rocket"] >> text=Selected');
    // A plain member: no invitations, no removing others.
    assert.equal(await guest.locator('li.team[data-team="Rocket"] button:has-text("Send invitation")').count(), 1, 'team_member may invite');
    assert.equal(await guest.locator('li.team[data-team="Rocket"] button:has-text("Remove")').count(), 0);
    // The code was used: the link shows it.
    await guest.goto(link);
    assert.match(await guest.textContent('main'), /already been used|already a member/);

    // The owner sees the new member, changes their permissions, and removes them.
    await owner.goto(`${pages}/account-settings#teams`);
    const row = 'li.team[data-team="Rocket"] li.member[data-email="guest@example.com"]';
    assert.match(await owner.textContent(row), /team_member/);
    await owner.selectOption(`${row} select[name="permission"]`, '$remove_members');
    await owner.click(`${row} button:has-text("Give")`);
    await owner.waitForSelector(`${row} .permission:has-text("$remove_members")`);
    await shot(owner, 'account-teams');
    await owner.click(`${row} button:has-text("Take $remove_members")`);
    await owner.waitForURL(/done=members/);
    await owner.goto(`${pages}/account-settings#teams`);
    assert.equal(await owner.locator(`${row} .permission:has-text("$remove_members")`).count(), 0);
    await owner.click(`${row} button:has-text("Remove")`);
    await owner.waitForURL(/done=members/);
    assert.equal(await owner.locator(row).count(), 0);
    for (const page of [owner, guest]) assert.deepEqual(page.problems, []);
  });
});

// Issue 8's last dashboard piece: with dashboard sign-up closed, an admin invites another by
// email from a project's settings; the invitee creates their account from the invitation (the
// only way in) and manages the project.
describe('inviting dashboard admins while sign-up is closed', () => {
  let gh, smtp, browser;
  before(async () => {
    smtp = await startSmtp();
    gh = await startGatehouse({
      STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED: 'false',
      STACK_SEED_INTERNAL_PROJECT_USER_EMAIL: 'owner@example.com',
      STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD: PASSWORD,
      GATEHOUSE_SMTP_URL: smtp.url,
      GATEHOUSE_EMAIL_FROM: 'Gatehouse <noreply@example.com>',
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    await smtp?.stop();
  });

  test('the owner invites an admin from the settings; the invitee signs up through the invitation', async () => {
    const owner = await watchedPage(await browser.newContext());
    await owner.goto(gh.baseUrl);
    await owner.waitForURL(/\/handler\/internal\/sign-in/);
    await owner.fill('input[name="email"]', 'owner@example.com');
    await owner.fill('input[name="password"]', PASSWORD);
    await owner.click('button:has-text("Sign in")');
    await owner.waitForURL(`${gh.baseUrl}/`);
    await owner.fill('input[name="display_name"]', 'Shared');
    await owner.click('button:has-text("Create project")');
    await owner.waitForSelector('text=Shared is ready');
    const projectId = await owner.textContent('code[data-key="project_id"]');
    await owner.goto(`${gh.baseUrl}/projects/${projectId}/settings`);
    await owner.waitForSelector('body[data-hydrated="true"]');
    await owner.fill('#admin-invite', 'second@example.com');
    await owner.click('section:has(#admins-heading) button:has-text("Send invitation")');
    await owner.waitForSelector('section:has(#admins-heading) li.invitation:has-text("second@example.com")');
    await shot(owner, 'dashboard-admins');

    const mail = await smtp.waitFor('second@example.com', 'invited to join');
    const link = mail.match(/https?:\/\/\S+\/handler\/internal\/team-invitation\?code=[0-9a-z]{45}/)[0];
    const second = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    // Without the invitation, the closed dashboard takes no sign-ups.
    await second.goto(`${gh.baseUrl}/handler/internal/sign-up`);
    assert.match(await second.textContent('main'), /not taking new sign-ups/);
    await second.goto(link);
    assert.match(await second.textContent('.invitation-summary'), /owner@example\.com invited second@example\.com/);
    await second.click('a:has-text("Create an account")');
    // Only the invited address may use it.
    await second.fill('input[name="email"]', 'someone-else@example.com');
    await second.fill('input[name="password"]', PASSWORD);
    await second.click('button:has-text("Sign up")');
    await second.waitForSelector('text=This invitation was sent to another address');
    await second.fill('input[name="email"]', 'second@example.com');
    await second.fill('input[name="password"]', PASSWORD);
    await second.click('button:has-text("Sign up")');
    await second.waitForURL(link);
    await second.click('button:has-text("Join")');
    await second.waitForURL(`${gh.baseUrl}/`);
    await second.waitForSelector('td a:has-text("Shared")');
    // The address came verified with the invitation.
    await second.goto(`${gh.baseUrl}/handler/internal/account-settings`);
    assert.match(await second.textContent('li[data-email="second@example.com"]'), /Verified/);

    // The owner sees the new admin, and no admin can remove the last one.
    await owner.goto(`${gh.baseUrl}/projects/${projectId}/settings`);
    await owner.waitForSelector('li.admin[data-email="second@example.com"]');
    for (const page of [owner, second]) assert.deepEqual(page.problems, []);
  });
});
