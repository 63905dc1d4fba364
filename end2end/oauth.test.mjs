// OAuth end to end, against a real OpenID Connect provider process (npm `oidc-provider`):
// the hosted pages with JavaScript off (sign in with GitHub on shared MOCK keys, connect a
// second provider in account settings, disconnect, a provider's refusal and an untrusted
// return address shown on the page), and the official SDK in a browser app on another origin
// (signInWithOAuth, callOAuthCallback, getConnectedAccount with extra scopes and
// `or: 'redirect'`, getAccessToken).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, watchedPage } from './support/browser.mjs';
import { startOidcProvider } from './support/oidc-server.mjs';
import { startSdkApp } from './support/sdk-app.mjs';
import { authenticator } from 'otplib';
import { base32 } from './support/base32.mjs';

describe('OAuth', () => {
  let provider, gh, browser, pages, app;
  before(async () => {
    provider = await startOidcProvider();
    gh = await startGatehouse({
      STACK_GITHUB_CLIENT_ID: 'MOCK',
      STACK_GITHUB_CLIENT_SECRET: 'MOCK',
      STACK_OAUTH_MOCK_URL: provider.url,
    });
    const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id, 'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
      body: JSON.stringify({ config_override_string: JSON.stringify({
        'auth.oauth.providers.github': { type: 'github', isShared: true, allowSignIn: true, allowConnectedAccounts: true },
        'auth.oauth.providers.oidc': {
          type: 'oidc', isShared: false, clientId: 'oidc', clientSecret: 'MOCK-SERVER-SECRET', issuerUrl: provider.url,
          allowSignIn: true, allowConnectedAccounts: true,
        },
      }) }),
    });
    assert.equal(on.status, 200, await on.text());
    browser = await launchBrowser();
    pages = `${gh.baseUrl}/handler/${gh.project.project_id}`;
    app = await startSdkApp(gh, { urls: { oauthCallback: '/handler/oauth-callback', home: '/', signIn: '/' } });
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await gh?.stop();
    await provider?.stop();
  });

  // At the provider's login page: sign in as `login`, or press Deny.
  async function atProvider(page, login) {
    await page.waitForURL(`${provider.url}/**`);
    if (login === null) {
      await page.click('button:has-text("Deny")');
    } else {
      await page.fill('input[name="login"]', login);
      await page.click('button:has-text("Sign in")');
    }
  }

  test('hosted pages, JavaScript off: sign in with GitHub, connect and disconnect a second provider', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-in`);
    await shot(page, 'sign-in-with-providers');
    await page.click('a:has-text("Continue with GitHub")');
    await atProvider(page, 'octo@example.com');
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'octo@example.com');
    assert.equal(await page.locator('.connected-account').count(), 1);
    assert.equal(await page.getAttribute('.connected-account', 'data-provider'), 'github');

    await page.click('a:has-text("Connect OpenID Connect")');
    await atProvider(page, 'octo-at-oidc');
    await page.waitForURL(`${pages}/account-settings`);
    await page.waitForSelector('.connected-account[data-provider="oidc"]');
    assert.equal(await page.locator('.connected-account').count(), 2);
    await shot(page, 'account-connected-accounts');

    // One may go; the last way to sign in may not.
    await page.click('.connected-account[data-provider="oidc"] button:has-text("Disconnect")');
    await page.waitForURL(/account-settings/);
    assert.equal(await page.locator('.connected-account').count(), 1);
    await page.click('.connected-account[data-provider="github"] button:has-text("Disconnect")');
    await page.waitForSelector('[role="alert"]');
    assert.match(await page.textContent('#connected-accounts [role="alert"]'), /only way to sign in/);
    assert.equal(await page.locator('.connected-account').count(), 1);
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('hosted pages: a user with a second factor gives it after the provider', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    const viaGitHub = async () => {
      await page.goto(`${pages}/sign-in`);
      await page.click('a:has-text("Continue with GitHub")');
      await atProvider(page, 'mfa-octo@example.com');
    };
    await viaGitHub();
    await page.waitForURL(`${pages}/account-settings`);
    const server = { 'content-type': 'application/json', 'x-stack-access-type': 'server', 'x-stack-project-id': gh.project.project_id, 'x-stack-secret-server-key': gh.project.secret_server_key };
    const { items } = await fetch(`${gh.baseUrl}/api/v1/users?query=mfa-octo`, { headers: server }).then((r) => r.json());
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const on = await fetch(`${gh.baseUrl}/api/v1/users/${items[0].id}`, {
      method: 'PATCH', headers: server, body: JSON.stringify({ totp_secret_base64: Buffer.from(secret).toString('base64') }),
    });
    assert.equal(on.status, 200, await on.text());

    await context.clearCookies();
    await viaGitHub();
    await page.waitForURL(/\/mfa\?attempt=/);
    await page.fill('input[name="totp"]', authenticator.generate(base32(secret)));
    await page.click('button:has-text("Verify")');
    await page.waitForURL(`${pages}/account-settings`);
    assert.equal(await page.textContent('.signed-in-as strong'), 'mfa-octo@example.com');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test('hosted pages: the provider refusing, and a return address the project does not trust', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await watchedPage(context);
    await page.goto(`${pages}/sign-in`);
    await page.click('a:has-text("Continue with GitHub")');
    await atProvider(page, null);
    await page.waitForURL(`${pages}/sign-in?**`);
    assert.equal(await page.textContent('[role="alert"]'), 'The OAuth provider denied access to the user.');

    await page.goto(`${pages}/sign-in?after_auth_return_to=${encodeURIComponent('https://evil.example/steal')}`);
    await page.click('a:has-text("Continue with GitHub")');
    await page.waitForURL(`${pages}/sign-in?**`);
    assert.match(await page.textContent('[role="alert"]'), /Redirect URL not whitelisted/);
    assert.ok(!page.url().includes(provider.url));
    await context.close();
  });

  test('the SDK in a browser app: signInWithOAuth, then a connected account with extra scopes', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await page.goto(`${app.url}/`);
    await page.waitForFunction(() => window.ready === true);
    await Promise.all([
      page.waitForURL(`${provider.url}/**`),
      // Not awaited in the page: it navigates away.
      page.evaluate(() => { window.stack.signInWithOAuth('github'); }),
    ]);
    await atProvider(page, 'sdk-user@example.com');
    // The app's callback page runs callOAuthCallback(), which signs in and goes on to the
    // app's home.
    await page.waitForURL(`${app.url}/handler/oauth-callback?**`);
    await page.waitForURL(`${app.url}/`);
    await page.waitForFunction(() => window.ready === true);
    const email = await page.evaluate(async () => (await window.stack.getUser()).primaryEmail);
    assert.equal(email, 'sdk-user@example.com');

    // No account at the OpenID Connect provider yet: `or: 'redirect'` goes to link it, with
    // the extra scope.
    await Promise.all([
      page.waitForURL(`${provider.url}/**`),
      page.evaluate(() => {
        window.stack.getUser().then((user) => user.getConnectedAccount('oidc', { scopes: ['repo'], or: 'redirect' }));
      }),
    ]);
    await atProvider(page, 'sdk-user-at-oidc');
    await page.waitForURL(`${app.url}/handler/oauth-callback?**`);
    await page.waitForURL(`${app.url}/`);
    await page.waitForFunction(() => window.ready === true);
    const token = await page.evaluate(async () => {
      const user = await window.stack.getUser();
      const account = await user.getConnectedAccount('oidc', { scopes: ['repo'] });
      return (await account.getAccessToken()).accessToken;
    });
    // The provider's own token, with the scope asked for.
    const info = await (await fetch(`${provider.url}/me`, { headers: { authorization: `Bearer ${token}` } })).json();
    assert.equal(info.sub, 'sdk-user-at-oidc');
    assert.deepEqual(page.problems, []);
    await context.close();
  });

  test("the dashboard's auth methods room and a user's linked accounts", async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await page.goto(gh.baseUrl);
    await page.waitForURL(/\/handler\/internal\/sign-in/);
    await page.click('a:has-text("Sign up")');
    await page.fill('input[name="email"]', 'oauth-admin@example.com');
    await page.fill('input[name="password"]', 'correct horse battery');
    await page.click('button:has-text("Sign up")');
    await page.waitForURL(`${gh.baseUrl}/`);
    await page.fill('input[name="display_name"]', 'Gate');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Gate is ready');
    const projectId = await page.textContent('code[data-key="project_id"]');
    const room = `${gh.baseUrl}/projects/${projectId}/auth-methods`;
    await page.goto(room);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.waitForSelector('text=No providers yet');

    // An OpenID Connect provider needs its issuer; with it, it is saved, and its secret is
    // never shown back.
    const form = '#editor form';
    await page.selectOption(`${form} select[name="provider_type"]`, 'oidc');
    await page.fill(`${form} input[name="id"]`, 'company_sso');
    await page.uncheck(`${form} input[name="shared"]`);
    await page.fill(`${form} input[name="client_id"]`, 'oidc');
    await page.fill(`${form} input[name="client_secret"]`, 'MOCK-SERVER-SECRET');
    await page.click('button:has-text("Save provider")');
    await page.waitForSelector('#editor [role="alert"]:has-text("needs its issuer URL")');
    await page.fill(`${form} input[name="issuer_url"]`, provider.url);
    await page.click('button:has-text("Save provider")');
    await page.waitForSelector('li.oauth-provider[data-id="company_sso"]');
    assert.equal(await page.textContent('li.oauth-provider[data-id="company_sso"] .callback-url'),
      `${gh.baseUrl}/api/v1/auth/oauth/callback/company_sso`);
    assert.ok(!(await page.content()).includes('MOCK-SERVER-SECRET'), 'the secret is not on the page');

    // Shared keys that say MOCK are labelled as the development provider.
    await page.selectOption(`${form} select[name="provider_type"]`, 'github');
    await page.fill(`${form} input[name="id"]`, '');
    await page.check(`${form} input[name="shared"]`);
    await page.click('button:has-text("Save provider")');
    await page.waitForSelector('li.oauth-provider[data-id="github"]:has-text("development provider only")');

    // Editing without typing the secret keeps it: people still sign in with the provider.
    await page.goto(`${room}?edit=company_sso#editor`);
    await page.waitForSelector('body[data-hydrated="true"]');
    assert.equal(await page.inputValue(`${form} input[name="client_secret"]`), '');
    await page.uncheck(`${form} input[name="allow_connected_accounts"]`);
    await page.click('button:has-text("Save provider")');
    await page.waitForSelector('li.oauth-provider[data-id="company_sso"]:not(:has-text("connected accounts"))');
    const person = await watchedPage(await browser.newContext({ javaScriptEnabled: false }));
    await person.goto(`${gh.baseUrl}/handler/${projectId}/sign-in`);
    await person.click('a:has-text("Continue with OpenID Connect")');
    await atProvider(person, 'employee-7');
    await person.waitForURL(`${gh.baseUrl}/handler/${projectId}/account-settings`);

    // The merge strategy.
    await page.selectOption('select[name="strategy"]', 'raise_error');
    // The select shows the choice before the save has happened: wait for the save's answer,
    // or the reload races it.
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('set_merge_strategy') && r.request().method() === 'POST'),
      page.click('#merge-heading ~ form button:has-text("Save")'),
    ]);
    await page.reload();
    assert.equal(await page.inputValue('select[name="strategy"]'), 'raise_error');
    await shot(page, 'dashboard-auth-methods');

    // The person's user page lists the linked account; unlinking removes it.
    await page.goto(`${gh.baseUrl}/projects/${projectId}/users`);
    await page.click('a:has-text("employee-7")');
    await page.waitForSelector('li.linked-account[data-provider="company_sso"]:has-text("employee-7")');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('li.linked-account button:has-text("Unlink")');
    await page.waitForSelector('text=has not signed in with a provider');
    assert.deepEqual(page.problems, []);
    assert.deepEqual(person.problems, []);
    await context.close();
  });
});
