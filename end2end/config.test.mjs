// The config tree held against Stack's own reference: for each override below, Gatehouse's
// rendered config and its refusal messages must equal what `@stackframe/stack-shared` (installed
// with the SDK) computes for the same input. Email themes and templates are left out of the
// comparison: Gatehouse renders emails with its own templates (their ids are Stack's).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startGatehouse } from './support/gatehouse.mjs';

const require = createRequire(import.meta.url);
const schema = require('@stackframe/stack-shared/dist/config/schema');
const format = require('@stackframe/stack-shared/dist/config/format');

const SCHEMAS = { project: schema.projectConfigSchema, branch: schema.branchConfigSchema, environment: schema.environmentConfigSchema };

async function stackRender(levels) {
  const merged = format.override({}, levels.project ?? {}, levels.branch ?? {}, levels.environment ?? {});
  const normalized = format.normalize(schema.applyOrganizationDefaults(merged), { onDotIntoNonObject: 'ignore' });
  return withoutEmailSources(await schema.sanitizeOrganizationConfig(normalized));
}

// Gatehouse's one addition to the provider types: any OpenID Connect provider by its issuer
// (`type: "oidc"`), so refusals of a provider's type list it after Stack's.
const withGatehouseProviderTypes = (message) =>
  message.replace(/(oauth\.providers\.[^ ]+\.type must be one of the following values: [^\n]*)/g, '$1, oidc');

function withoutEmailSources(config) {
  const copy = structuredClone(config);
  delete copy.emails.themes;
  delete copy.emails.templates;
  delete copy.hostedPages; // Gatehouse's own keys
  delete copy.security;
  return copy;
}

describe('config tree matches Stack', () => {
  let gh;
  const call = async (method, path, body) => {
    const res = await fetch(`${gh.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-stack-access-type': 'admin',
        'x-stack-project-id': gh.project.project_id,
        'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key,
      },
      body: body && JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const put = (level, override) => call('PUT', `/internal/config/override/${level}`, {
    config_string: JSON.stringify(override),
    ...(level === 'branch' ? { source: { type: 'pushed-from-unknown' } } : {}),
  });

  before(async () => { gh = await startGatehouse(); });
  after(async () => { await gh?.stop(); });

  const cases = {
    'nothing set': {},
    'nested and dotted keys at every level': {
      project: { 'project.requirePublishableClientKey': true },
      branch: {
        auth: { password: { allowSignIn: true }, otp: { allowSignIn: true } },
        'teams.allowClientTeamCreation': true,
        'rbac.permissions.editor': { description: 'Edits', scope: 'team', containedPermissionIds: { $read_members: true } },
        'rbac.defaultPermissions.teamMember': { editor: true },
        'apps.installed.teams': { enabled: true },
        'auth.signUpRules': {
          low: { enabled: true, priority: 1, condition: 'email.endsWith("@a.test")', action: { type: 'reject', message: 'no' } },
          high: { enabled: true, priority: 5, action: { type: 'allow' } },
          alsoHigh: { priority: 5 },
        },
        'payments.products.pro': { displayName: 'Pro', prices: { monthly: { USD: '9', serverOnly: true } }, includedItems: { seats: { quantity: 3 } } },
        'payments.items.seats': { customerType: 'team' },
        'dataVault.stores.main': {},
      },
      environment: {
        'auth.allowSignUp': false,
        'auth.password.allowSignIn': null,
        'auth.oauth.providers': { github: { type: 'github', isShared: false, clientId: 'id', clientSecret: 'secret', allowSignIn: true }, notype: { allowSignIn: true } },
        'auth.oauth.providers.github.allowConnectedAccounts': true,
        'auth.oauth.providers.missing.allowSignIn': true,
        'domains.allowLocalhost': true,
        'domains.trustedDomains': { main: { baseUrl: 'https://app.example.com' }, other: { baseUrl: 'https://*.example.org', handlerPath: '/auth' } },
        'emails.server': { isShared: false, host: 'smtp.example.com', port: 587, username: 'u', password: 'p', senderName: 'Acme', senderEmail: 'a@example.com' },
        'emails.selectedThemeId': 'not-a-theme',
        'analytics.queryFolders.f': { queries: { q: { sqlQuery: 'SELECT 1' } } },
      },
    },
    'a later level replaces what lies below its keys': {
      branch: { 'teams.allowClientTeamCreation': true, teams: { createPersonalTeamOnSignUp: true }, 'apps.installed.authentication.enabled': true },
      environment: { teams: { allowClientTeamCreation: false }, 'apps.installed.authentication': null },
    },
  };

  for (const [name, levels] of Object.entries(cases)) {
    test(`renders as Stack does: ${name}`, async () => {
      for (const level of ['project', 'branch', 'environment']) {
        const res = await put(level, levels[level] ?? {});
        assert.equal(res.status, 200, res.text);
      }
      const res = await call('GET', '/internal/config');
      assert.equal(res.status, 200, res.text);
      const ours = withoutEmailSources(JSON.parse(JSON.parse(res.text).config_string));
      assert.deepEqual(ours, await stackRender(levels));
    });
  }

  const bad = [
    ['environment', []],
    ['environment', { auth: { 'password.allowSignIn': true } }],
    ['environment', { 'a..b': 1 }],
    ['environment', { x: [1, null] }],
    ['environment', { 'auth.allowSignUp': 'yes' }],
    ['environment', { auth: 'x' }],
    ['environment', { auth: { nope: 1, otp: { x: 1 } } }],
    ['environment', { 'auth.nope': true }],
    ['environment', { 'auth.oauth.providers': { google: { allowSignIn: 'yes' } } }],
    ['environment', { 'auth.oauth.providers.google': { foo: 1 } }],
    ['environment', { 'auth.oauth.providers.google.type': 'myspace' }],
    ['environment', { 'auth.oauth.accountMergeStrategy': 'merge' }],
    ['environment', { 'rbac.permissions.A-B': { scope: 'team' } }],
    ['environment', { 'apps.installed': { foo: { enabled: true } } }],
    ['environment', { 'apps.installed.foo': { enabled: true } }],
    ['environment', { 'emails.server.port': '25' }],
    ['environment', { 'payments.products.pro': { nope: 1 } }],
    ['environment', { 'auth.signUpRules.r1': { action: { type: 'deny' } } }],
    ['environment', { 'auth.signUpRules.r1.priority': 'high' }],
    ['environment', { 'customDashboards.abc': { displayName: 'x' } }],
    ['environment', { 'analytics.queryFolders.f.queries.q.sqlQuery': 5 }],
    ['branch', { 'domains.allowLocalhost': true }],
    ['branch', { domains: { allowLocalhost: true } }],
    ['branch', { project: { requirePublishableClientKey: true } }],
    ['branch', { 'auth.oauth.providers.google': { type: 'google', clientSecret: 's' } }],
    ['project', { 'auth.allowSignUp': false }],
  ];
  for (const [level, override] of bad) {
    test(`refuses as Stack does at the ${level} level: ${JSON.stringify(override)}`, async () => {
      const expected = await schema.getConfigOverrideErrors(SCHEMAS[level], override);
      assert.equal(expected.status, 'error');
      const res = await call('PATCH', `/internal/config/override/${level}`, { config_override_string: JSON.stringify(override) });
      assert.equal(res.status, 400);
      assert.equal(res.text, withGatehouseProviderTypes(expected.error));
    });
  }
});
