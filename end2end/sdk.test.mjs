// The official Stack SDK, unmodified, against a real Gatehouse: the current release (sends
// X-Hexclave-* headers) and the newest that still sends X-Stack-* headers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startGatehouse } from './support/gatehouse.mjs';

const RELEASES = { 'current (X-Hexclave-*)': 'stack-current', 'legacy (X-Stack-*)': 'stack-legacy' };
const PASSWORD = 'correct horse battery';

// The SDK reports responses it did not expect with console warnings/errors; there must be none.
const complaints = [];
for (const level of ['warn', 'error']) {
  const original = console[level];
  console[level] = (...args) => { complaints.push(`${level}: ${args.map(String).join(' ')}`); original(...args); };
}

for (const [label, pkg] of Object.entries(RELEASES)) {
  describe(`@stackframe/js ${label}`, () => {
    let gh, sdk, server, newClient, unique = 0;
    const email = (name) => `${name}-${++unique}-${Date.now()}@example.com`;

    before(async () => {
      sdk = await import(pkg);
      gh = await startGatehouse();
      const options = { projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory' };
      server = new sdk.StackServerApp({ ...options, secretServerKey: gh.project.secret_server_key });
      newClient = () => new sdk.StackClientApp(options);
    });
    after(async () => {
      await gh?.stop();
      assert.deepEqual(complaints, [], 'the SDK complained about our responses');
    });

    test('server creates users with a password and with metadata, and reads them back', async () => {
      const address = email('ada');
      const ada = await server.createUser({ primaryEmail: address, password: PASSWORD, primaryEmailAuthEnabled: true, displayName: 'Ada' });
      assert.equal(ada.primaryEmail, address);
      assert.equal(ada.displayName, 'Ada');
      assert.equal(ada.hasPassword, true);
      const meta = await server.createUser({
        primaryEmail: email('meta'),
        clientMetadata: { theme: 'dark' },
        clientReadOnlyMetadata: { plan: 'pro' },
        serverMetadata: { stripe: 'cus_1' },
      });
      const read = await server.getUser(meta.id);
      assert.deepEqual(read.clientMetadata, { theme: 'dark' });
      assert.deepEqual(read.clientReadOnlyMetadata, { plan: 'pro' });
      assert.deepEqual(read.serverMetadata, { stripe: 'cus_1' });
      assert.equal(await server.getUser('00000000-0000-4000-8000-000000000000'), null);
    });

    test('server lists users page by page and by query', async () => {
      const tag = `page${Date.now()}`;
      const made = [];
      for (let i = 0; i < 5; i++) made.push((await server.createUser({ primaryEmail: `${tag}-${i}@example.com`, displayName: `${tag} ${i}` })).id);
      const found = await server.listUsers({ query: tag, limit: 2 });
      assert.equal(found.length, 2);
      assert.ok(found.nextCursor, 'a cursor to the next page');
      const seen = [...found.map((u) => u.id)];
      let cursor = found.nextCursor;
      while (cursor) {
        const page = await server.listUsers({ query: tag, limit: 2, cursor });
        seen.push(...page.map((u) => u.id));
        cursor = page.nextCursor;
      }
      assert.deepEqual(seen, made);
      const one = await server.listUsers({ query: `${tag}-3@` });
      assert.deepEqual(one.map((u) => u.id), [made[3]]);
    });

    test('server updates display name and all three metadata kinds, then deletes', async () => {
      const user = await server.createUser({ primaryEmail: email('upd') });
      await user.update({ displayName: 'Updated', clientMetadata: { a: 1 }, clientReadOnlyMetadata: { b: 2 }, serverMetadata: { c: 3 } });
      const read = await server.getUser(user.id);
      assert.equal(read.displayName, 'Updated');
      assert.deepEqual([read.clientMetadata, read.clientReadOnlyMetadata, read.serverMetadata], [{ a: 1 }, { b: 2 }, { c: 3 }]);
      await read.delete();
      assert.equal(await server.getUser(user.id), null);
    });

    test('server creates a session the client can use', async () => {
      const user = await server.createUser({ primaryEmail: email('sess') });
      const session = await user.createSession({ expiresInMillis: 60_000 });
      const tokens = await session.getTokens();
      assert.ok(tokens.accessToken && tokens.refreshToken);
      const client = new sdk.StackClientApp({ projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: tokens });
      assert.equal((await client.getUser()).id, user.id);
    });

    test('client signs up, signs in, updates itself, reads its tokens and signs out', async () => {
      const address = email('client');
      const client = newClient();
      const up = await client.signUpWithCredential({ email: address, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      assert.equal(up.status, 'ok');
      const me = await client.getUser();
      assert.equal(me.primaryEmail, address);
      await me.update({ displayName: 'Client Side', clientMetadata: { lang: 'en' } });
      const again = await client.getUser();
      assert.equal(again.displayName, 'Client Side');
      assert.deepEqual(again.clientMetadata, { lang: 'en' });
      const auth = await again.getAuthJson();
      assert.ok(auth.accessToken && auth.refreshToken);
      await again.signOut({ redirectUrl: 'http://localhost/' });
      assert.equal(await client.getUser(), null);

      const other = newClient();
      const wrong = await other.signInWithCredential({ email: address, password: 'not the password', noRedirect: true });
      assert.equal(wrong.status, 'error');
      assert.ok(sdk.KnownErrors?.EmailPasswordMismatch?.isInstance?.(wrong.error) ?? wrong.error.errorCode === 'EMAIL_PASSWORD_MISMATCH', String(wrong.error));
      const right = await other.signInWithCredential({ email: address, password: PASSWORD, noRedirect: true });
      assert.equal(right.status, 'ok');
      assert.equal((await other.getUser()).displayName, 'Client Side');
    });

    test('anonymous users sign up and upgrade to a password keeping their id', async () => {
      const client = newClient();
      const anon = await client.getUser({ or: 'anonymous' });
      assert.equal(anon.isAnonymous, true);
      const up = await client.signUpWithCredential({ email: email('anon'), password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      assert.equal(up.status, 'ok');
      const user = await client.getUser();
      assert.equal(user.id, anon.id);
      assert.equal(user.isAnonymous, false);
    });

    test("the access token verifies with jose against the project's JWKS", async () => {
      const client = newClient();
      await client.signUpWithCredential({ email: email('jwt'), password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      const user = await client.getUser();
      const { accessToken } = await user.getAuthJson();
      const projectId = gh.project.project_id;
      const jwks = createRemoteJWKSet(new URL(`${gh.baseUrl}/api/v1/projects/${projectId}/.well-known/jwks.json`));
      const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
        issuer: `${gh.baseUrl}/api/v1/projects/${projectId}`,
        audience: projectId,
        algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.sub, user.id);
      assert.equal(payload.project_id, projectId);
    });
  });
}
