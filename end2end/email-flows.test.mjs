// The promise, in Chromium, with no SMTP server anywhere: a person signs up on the hosted
// pages, the verification email waits in the dashboard's dev inbox, the link verifies the
// address; they sign out, sign in with an emailed code, and reset their password by an emailed
// link. The hosted pages ship no script, and the person's browser runs with JavaScript off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, watchedPage } from './support/browser.mjs';

const PASSWORD = 'correct horse battery';

describe('email flows through the dev inbox', () => {
  let gh, browser;
  // Waits for a page to arrive at `url`; if it does not, says where it is, what it shows and
  // what the server logged.
  async function arrive(page, url) {
    try {
      await page.waitForURL(url);
    } catch (e) {
      console.log('STUCK at', page.url(), '\n', (await page.textContent('body').catch(() => '')).slice(0, 2000), '\nSERVER LOG\n', gh.log().slice(-4000));
      throw e;
    }
  }

  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  for (const js of [false, true]) test(`sign up, verify from the dev inbox, sign in by emailed code, reset the password (JavaScript ${js ? 'on' : 'off'})`, async () => {
    const tag = js ? 'js' : 'nojs';
    // The admin makes a project and turns on sign-in by email.
    const adminContext = await browser.newContext();
    const admin = await watchedPage(adminContext);
    await signUpAdmin(admin, gh.baseUrl, `mail-admin-${tag}@example.com`, PASSWORD);
    await admin.fill('input[name="display_name"]', 'Mailing');
    await admin.click('button:has-text("Create project")');
    await admin.waitForSelector('text=Mailing is ready');
    const projectId = await admin.textContent('code[data-key="project_id"]');
    const adminKey = await admin.textContent('code[data-key="super_secret_admin_key"]');
    const res = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': projectId, 'x-stack-super-secret-admin-key': adminKey },
      body: JSON.stringify({ config_override_string: JSON.stringify({ 'auth.otp.allowSignIn': true }) }),
    });
    assert.equal(res.status, 200, await res.text());

    // Opens the newest email whose subject matches, in the dev inbox; returns its links.
    const inbox = `${gh.baseUrl}/projects/${projectId}/emails`;
    async function openMail(subject) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        await admin.goto(inbox);
        const row = admin.locator('tbody tr', { hasText: subject }).first();
        if (await row.count() && await row.locator('[data-status="sent"]').count()) {
          await row.locator('a').click();
          await admin.waitForSelector('#email-text');
          return {
            subject: await admin.textContent('#email-heading'),
            links: await admin.$$eval('#email-links a', (as) => as.map((a) => a.href)),
          };
        }
        assert.ok(Date.now() < deadline, `no sent email "${subject}" in the dev inbox`);
        await admin.waitForTimeout(100);
      }
    }

    const userContext = await browser.newContext({ javaScriptEnabled: js });
    const user = await watchedPage(userContext);
    const pages = `${gh.baseUrl}/handler/${projectId}`;

    // Sign up: the verification email is in the dev inbox.
    await user.goto(`${pages}/sign-up`);
    await user.fill('input[name="email"]', `grace-${tag}@example.com`);
    await user.fill('input[name="password"]', PASSWORD);
    await user.click('button:has-text("Sign up")');
    await arrive(user, `${pages}/account-settings`);
    const verification = await openMail('Verify your email at Mailing');
    assert.match(await admin.textContent('h1'), /Verify your email/);
    assert.match(await admin.textContent('main'), /No SMTP server|kept in the dev inbox/);
    if (!js) await shot(admin, 'dev-inbox-email');
    const verifyLink = verification.links.find((l) => l.includes('/email-verification?code='));
    assert.ok(verifyLink, verification.links.join(' '));
    // Opening the link verifies nothing yet: a scanner that fetches it spends no code.
    await user.goto(verifyLink);
    await user.click('button:has-text("Verify my email")');
    await user.waitForSelector('text=Your email address is verified');
    await admin.goto(inbox);
    if (!js) await shot(admin, 'dev-inbox');

    // Account settings: a second address, verified from its email and made primary; and the
    // emails they take.
    await user.goto(`${pages}/account-settings`);
    assert.match(await user.textContent(`li[data-email="grace-${tag}@example.com"]`), /Primary.*Verified.*Signs in/s);
    await user.fill('input[name="email"]', `grace-${tag}@work.example`);
    await user.click('button:has-text("Add address")');
    await user.waitForSelector('text=We sent a verification link');
    const workMail = await openMail('Verify your email at Mailing');
    const secondLink = workMail.links.find((l) => l.includes('/email-verification?code=') && l !== verifyLink);
    assert.ok(secondLink, workMail.links.join(' '));
    await user.goto(secondLink);
    await user.click('button:has-text("Verify my email")');
    await user.waitForSelector('text=Your email address is verified');
    await user.goto(`${pages}/account-settings`);
    await user.click(`li[data-email="grace-${tag}@work.example"] button:has-text("Make primary")`);
    await user.waitForSelector(`.signed-in-as strong:has-text("grace-${tag}@work.example")`);
    await user.uncheck('input[name="marketing"]');
    await user.click('button:has-text("Save email choices")');
    await user.waitForSelector('text=Saved.');
    await user.goto(`${pages}/account-settings`);
    assert.equal(await user.isChecked('input[name="marketing"]'), false);
    assert.equal(await user.isDisabled('input[name="transactional"]'), true);
    if (!js) await shot(user, 'account-emails');

    // Sign out, then in with an emailed code.
    await user.goto(`${pages}/sign-out`);
    await user.click('button:has-text("Sign out")');
    await user.waitForURL(`${pages}/sign-in`);
    await user.click('a:has-text("Sign in with a code by email")');
    await user.fill('input[name="email"]', `grace-${tag}@example.com`);
    await user.click('button:has-text("Email me a code")');
    await user.waitForSelector('input[name="code"]');
    const signIn = await openMail('Sign in to Mailing: Your code is');
    const code = signIn.subject.trim().split(' ').pop();
    assert.match(code, /^[0-9A-Z]{6}$/);
    await user.fill('input[name="code"]', code);
    await user.click('button:has-text("Sign in")');
    await arrive(user, `${pages}/account-settings`);
    assert.equal(await user.textContent('.signed-in-as strong'), `grace-${tag}@work.example`);

    // The sign-in link works too, behind its Continue button.
    await user.goto(`${pages}/sign-out`);
    await user.click('button:has-text("Sign out")');
    await user.goto(`${pages}/magic-link`);
    await user.fill('input[name="email"]', `grace-${tag}@example.com`);
    await user.click('button:has-text("Email me a code")');
    await user.waitForSelector('input[name="code"]');
    const second = await openMail('Sign in to Mailing: Your code is');
    const magic = second.links.find((l) => l.includes('/magic-link-callback?code='));
    assert.ok(magic, second.links.join(' '));
    await user.goto(magic);
    await user.click('button:has-text("Continue")');
    await arrive(user, `${pages}/account-settings`);

    // Forgot the password: a reset link, a new password, every session ended.
    await user.goto(`${pages}/sign-out`);
    await user.click('button:has-text("Sign out")');
    await user.click('a:has-text("Forgot your password?")');
    await user.fill('input[name="email"]', `grace-${tag}@example.com`);
    await user.click('button:has-text("Email me a link")');
    await user.waitForSelector('text=a link to choose a new password is on its way');
    const reset = await openMail('Reset your password at Mailing');
    const resetLink = reset.links.find((l) => l.includes('/password-reset?code='));
    assert.ok(resetLink, reset.links.join(' '));
    await user.goto(resetLink);
    await user.fill('input[name="password"]', 'an entirely new password');
    await user.click('button:has-text("Set the new password")');
    await user.waitForURL(/\/sign-in\?done=password-reset/);
    await user.waitForSelector('text=Your password is changed');
    await user.fill('input[name="email"]', `grace-${tag}@example.com`);
    await user.fill('input[name="password"]', 'an entirely new password');
    await user.click('button:has-text("Sign in")');
    await arrive(user, `${pages}/account-settings`);
    // The link was spent.
    await user.goto(resetLink);
    await user.fill('input[name="password"]', 'yet another new password');
    await user.click('button:has-text("Set the new password")');
    await user.waitForSelector('[role="alert"]');
    assert.match(await user.textContent('[role="alert"]'), /already been used|already used/i);

    assert.deepEqual(admin.problems, []);
    await adminContext.close();
    await userContext.close();
  });

  test('an admin translates a template with a live preview, and a German browser gets it', async () => {
    const adminContext = await browser.newContext();
    const admin = await watchedPage(adminContext);
    await signUpAdmin(admin, gh.baseUrl, 'lang-admin@example.com', PASSWORD);
    await admin.fill('input[name="display_name"]', 'Sprachen');
    await admin.click('button:has-text("Create project")');
    await admin.waitForSelector('text=Sprachen is ready');
    const projectId = await admin.textContent('code[data-key="project_id"]');

    await admin.goto(`${gh.baseUrl}/projects/${projectId}/emails`);
    await admin.click('a:has-text("Email Verification")');
    await admin.waitForURL(/\/emails\/templates\//);
    await admin.goto(`${admin.url()}?language=de`, { waitUntil: 'domcontentloaded' });
    await admin.waitForSelector('body[data-hydrated="true"]');
    await admin.waitForSelector('#preview-subject:has-text("Verify your email at Sprachen")');
    await admin.fill('input[name="subject"]', 'Bestätige deine E-Mail bei {{ project.display_name }}');
    await admin.waitForSelector('#preview-subject:has-text("Bestätige deine E-Mail bei Sprachen")');
    await admin.fill('textarea[name="html"]', '<p>{% if %}</p>');
    await admin.waitForSelector('#preview-error');
    await admin.fill('textarea[name="html"]', '<p>Bitte bestätigen: <a href="{{ variables.emailVerificationLink }}">Bestätigen</a></p>');
    await admin.fill('textarea[name="text"]', 'Bitte bestätigen: {{ variables.emailVerificationLink }}');
    await admin.waitForSelector('#preview-text:has-text("Bitte bestätigen: https://app.example.com")');
    await admin.frameLocator('iframe[title="Preview"]').locator('a:has-text("Bestätigen")').waitFor();
    await shot(admin, 'email-template-editor');
    await admin.click('button:has-text("Save template")');
    await admin.waitForSelector('text=Saved.');

    const user = await (await browser.newContext({ javaScriptEnabled: false, locale: 'de-DE' })).newPage();
    await user.goto(`${gh.baseUrl}/handler/${projectId}/sign-up`);
    await user.fill('input[name="email"]', 'jonas@example.com');
    await user.fill('input[name="password"]', PASSWORD);
    await user.click('button:has-text("Sign up")');
    await user.waitForURL(/account-settings/);
    const deadline = Date.now() + 30_000;
    for (;;) {
      await admin.goto(`${gh.baseUrl}/projects/${projectId}/emails`);
      if (await admin.locator('tbody tr', { hasText: 'Bestätige deine E-Mail bei Sprachen' }).count()) break;
      assert.ok(Date.now() < deadline, 'the German verification email');
      await admin.waitForTimeout(100);
    }
    assert.equal(await user.inputValue('input[name="language"]'), 'de-DE');
    assert.deepEqual(admin.problems, []);
    await adminContext.close();
  });
});
