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
      // Sign-in by emailed code is off in a new project; these tests use it.
      const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id, 'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
        body: JSON.stringify({ config_override_string: JSON.stringify({
          'auth.otp.allowSignIn': true,
          'payments.items.credits': { displayName: 'Credits', customerType: 'user' },
          'payments.items.tokens': { customerType: 'custom' },
          'payments.productLines.plans': { displayName: 'Plans', customerType: 'user' },
          'payments.products.starter': { displayName: 'Starter', customerType: 'user', productLineId: 'plans', prices: { monthly: { USD: '5', interval: [1, 'month'] } }, includedItems: { credits: { quantity: 10, expires: 'when-purchase-expires' } } },
          'payments.products.growth': { displayName: 'Growth', customerType: 'user', productLineId: 'plans', prices: { monthly: { USD: '20', interval: [1, 'month'] } }, includedItems: { credits: { quantity: 50, expires: 'when-purchase-expires' } } },
          'auth.signUpRules.no-rejected-example': { enabled: true, priority: 0, condition: 'emailDomain == "rejected.example"', action: { type: 'reject', message: 'Not from rejected.example.' } },
        }) }),
      });
      assert.equal(on.status, 200, await on.text());
      const options = { projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory' };
      server = new sdk.StackServerApp({ ...options, secretServerKey: gh.project.secret_server_key });
      newClient = () => new sdk.StackClientApp(options);
    });
    after(async () => {
      await gh?.stop();
      assert.deepEqual(complaints, [], 'the SDK complained about our responses');
    });

    test('items: the server grants and uses them, never below zero by tryDecreaseQuantity, and the user reads theirs', async () => {
      const address = email('buyer');
      const buyer = await server.createUser({ primaryEmail: address, password: PASSWORD, primaryEmailAuthEnabled: true });
      const credits = await server.getItem({ userId: buyer.id, itemId: 'credits' });
      assert.equal(credits.displayName, 'Credits');
      assert.equal(credits.quantity, 0);
      await credits.increaseQuantity(10);
      assert.equal(await credits.tryDecreaseQuantity(4), true);
      assert.equal(await credits.tryDecreaseQuantity(7), false);
      assert.equal((await server.getItem({ userId: buyer.id, itemId: 'credits' })).quantity, 6);
      await credits.decreaseQuantity(8);
      const owed = await server.getItem({ userId: buyer.id, itemId: 'credits' });
      assert.equal(owed.quantity, -2);
      assert.equal(owed.nonNegativeQuantity, 0);
      const tokens = await server.getItem({ customCustomerId: 'org-1', itemId: 'tokens' });
      await tokens.increaseQuantity(3);
      assert.equal((await server.getItem({ customCustomerId: 'org-1', itemId: 'tokens' })).quantity, 3);

      const app = newClient();
      await app.signInWithCredential({ email: address, password: PASSWORD, noRedirect: true });
      const mine = await (await app.getUser({ or: 'throw' })).getItem('credits');
      assert.equal(mine.quantity, -2);
    });

    test('products: the server grants them (by id and inline), the user lists, switches and cancels theirs, and makes a checkout URL', async () => {
      const address = email('planner');
      const planner = await server.createUser({ primaryEmail: address, password: PASSWORD, primaryEmailAuthEnabled: true });
      await server.grantProduct({ userId: planner.id, productId: 'starter' });
      await server.grantProduct({ userId: planner.id, product: { display_name: 'Welcome gift', customer_type: 'user', server_only: true, stackable: false, prices: {}, included_items: { credits: { quantity: 3 } } } });
      const listed = await server.listProducts({ userId: planner.id });
      assert.deepEqual(listed.map((p) => [p.id, p.displayName, p.quantity, p.isServerOnly]), [[null, 'Welcome gift', 1, true], ['starter', 'Starter', 1, false]]);
      assert.equal(listed.nextCursor, null);
      const starter = listed[1];
      assert.equal(starter.type, 'subscription');
      assert.deepEqual(starter.switchOptions.map((o) => [o.productId, o.displayName]), [['growth', 'Growth']]);
      assert.equal((await server.getItem({ userId: planner.id, itemId: 'credits' })).quantity, 13);

      const app = newClient();
      await app.signInWithCredential({ email: address, password: PASSWORD, noRedirect: true });
      const me = await app.getUser({ or: 'throw' });
      assert.deepEqual((await me.listProducts()).map((p) => p.id), ['starter'], 'the server-only gift is not for the client to see');
      await me.switchSubscription({ fromProductId: 'starter', toProductId: 'growth' });
      assert.equal((await server.getItem({ userId: planner.id, itemId: 'credits' })).quantity, 53);
      await app.cancelSubscription({ productId: 'growth' });
      const [growth] = await me.listProducts();
      assert.equal(growth.id, 'growth');
      assert.equal(growth.subscription.cancelAtPeriodEnd, true);
      assert.equal(growth.subscription.isCancelable, false);
      const url = await me.createCheckoutUrl({ productId: 'starter' });
      assert.ok(url.startsWith(`${gh.baseUrl}/handler/${gh.project.project_id}/purchase/`), url);
      await assert.rejects(me.createCheckoutUrl({ productId: 'nope' }), (e) => e.errorCode === 'PRODUCT_DOES_NOT_EXIST');
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

    test("a sign-up rule turns a sign-up away with the rule's message", async () => {
      let error;
      try {
        const up = await newClient().signUpWithCredential({ email: `x-${++unique}@rejected.example`, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
        error = up.status === 'error' ? up.error : undefined;
      } catch (e) {
        error = e;
      }
      assert.equal(error?.errorCode, 'SIGN_UP_REJECTED', String(error));
      assert.match(error.message, /Not from rejected\.example\./);
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

    // The newest email to `address` whose subject contains `subject`, read from the outbox.
    async function mailTo(address, subject) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await fetch(`${gh.baseUrl}/api/v1/emails/outbox`, { headers: {
          'x-stack-access-type': 'server', 'x-stack-project-id': gh.project.project_id, 'x-stack-secret-server-key': gh.project.secret_server_key,
        } });
        const found = (await res.json()).items.find((m) => JSON.stringify(m.to).includes(address) && m.subject.includes(subject));
        if (found) return found;
        assert.ok(Date.now() < deadline, `no email "${subject}" to ${address}`);
        await new Promise((ok) => setTimeout(ok, 50));
      }
    }
    const codeIn = (mail) => mail.text.match(/code=([0-9a-z]{45})/)[1];

    test("the verification email's code verifies the address", async () => {
      const client = newClient();
      const address = email('verify');
      await client.signUpWithCredential({ email: address, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      assert.equal((await client.getUser()).primaryEmailVerified, false);
      const code = codeIn(await mailTo(address, 'Verify your email'));
      assert.equal((await client.verifyEmail(code)).status, 'ok');
      assert.equal((await client.getUser()).primaryEmailVerified, true);
      const again = await client.verifyEmail(code);
      assert.equal(again.status, 'error');
      assert.equal(again.error.errorCode, 'VERIFICATION_CODE_ALREADY_USED');
    });

    test('a forgotten password is reset by the emailed code', async () => {
      const client = newClient();
      const address = email('forgot');
      await client.signUpWithCredential({ email: address, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      assert.equal((await client.sendForgotPasswordEmail(address, { callbackUrl: 'http://localhost/reset' })).status, 'ok');
      const code = codeIn(await mailTo(address, 'Reset your password'));
      assert.equal((await client.verifyPasswordResetCode(code)).status, 'ok');
      assert.equal((await client.resetPassword({ code, password: 'a whole new password' })).status, 'ok');
      const other = newClient();
      assert.equal((await other.signInWithCredential({ email: address, password: PASSWORD, noRedirect: true })).status, 'error');
      assert.equal((await other.signInWithCredential({ email: address, password: 'a whole new password', noRedirect: true })).status, 'ok');
    });

    test('a magic link signs a new user up and an existing one in', async () => {
      const client = newClient();
      const address = email('magic');
      const sent = await client.sendMagicLinkEmail(address, { callbackUrl: 'http://localhost/magic' });
      assert.equal(sent.status, 'ok');
      assert.equal(sent.data.nonce.length, 39);
      const mail = await mailTo(address, 'Your code is');
      const otp = mail.subject.split(' ').pop();
      const first = await client.signInWithMagicLink(otp.toLowerCase() + sent.data.nonce, { noRedirect: true });
      assert.equal(first.status, 'ok', JSON.stringify(first.error));
      const user = await client.getUser();
      assert.equal(user.primaryEmail, address);
      assert.equal(user.primaryEmailVerified, true);
      const again = newClient();
      await again.sendMagicLinkEmail(address, { callbackUrl: 'http://localhost/magic' });
      const deadline = Date.now() + 30_000;
      let link;
      while (!link) {
        const m = await mailTo(address, 'Your code is');
        if (m.id !== mail.id) link = codeIn(m);
        else { assert.ok(Date.now() < deadline); await new Promise((ok) => setTimeout(ok, 50)); }
      }
      assert.equal((await again.signInWithMagicLink(link, { noRedirect: true })).status, 'ok');
      assert.equal((await again.getUser()).id, user.id);
    });

    test("a user's contact channels are listed, added, verified, made primary and removed", async () => {
      const client = newClient();
      const address = email('channels');
      await client.signUpWithCredential({ email: address, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      const user = await client.getUser();
      const [primary] = await user.listContactChannels();
      assert.deepEqual([primary.value, primary.isPrimary, primary.usedForAuth, primary.isVerified], [address, true, true, false]);
      const work = await user.createContactChannel({ type: 'email', value: email('work'), usedForAuth: false });
      await work.sendVerificationEmail({ callbackUrl: 'http://localhost/verify' });
      assert.equal((await client.verifyEmail(codeIn(await mailTo(work.value, 'Verify your email')))).status, 'ok');
      await work.update({ isPrimary: true });
      assert.equal((await client.getUser()).primaryEmail, work.value);
      const channels = await (await client.getUser()).listContactChannels();
      assert.equal(channels.length, 2);
      await channels.find((c) => c.value === address).delete();
      assert.deepEqual((await (await client.getUser()).listContactChannels()).map((c) => [c.value, c.isPrimary, c.isVerified]), [[work.value, true, true]]);
    });

    test('teams: a user creates a team, invites by email, the invitee joins, and permissions decide', async () => {
      const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id, 'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
        body: JSON.stringify({ config_override_string: JSON.stringify({ 'teams.allowClientTeamCreation': true }) }),
      });
      assert.equal(on.status, 200, await on.text());
      const owner = newClient();
      await owner.signUpWithCredential({ email: email('owner'), password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      const ownerUser = await owner.getUser();
      const team = await ownerUser.createTeam({ displayName: 'Acme' });
      assert.equal(team.displayName, 'Acme');
      assert.equal((await owner.getUser()).selectedTeam?.id, team.id, 'a new team is selected');
      assert.deepEqual((await ownerUser.listTeams()).map((t) => t.id), [team.id]);
      await team.update({ displayName: 'Acme Inc' });
      assert.equal((await ownerUser.getTeam(team.id)).displayName, 'Acme Inc');
      assert.equal(await ownerUser.hasPermission(team, '$invite_members'), true);
      assert.equal(await ownerUser.hasPermission(team, 'team_admin'), true);

      const invitee = email('invitee');
      await team.inviteUser({ email: invitee, callbackUrl: 'http://localhost/join' });
      const [pending] = await team.listInvitations();
      assert.equal(pending.recipientEmail, invitee);
      const code = codeIn(await mailTo(invitee, 'invited to join Acme Inc'));

      const joiner = newClient();
      await joiner.signUpWithCredential({ email: invitee, password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      assert.equal((await joiner.verifyTeamInvitationCode(code)).status, 'ok');
      const details = await joiner.getTeamInvitationDetails(code);
      assert.equal(details.status, 'ok');
      assert.equal(details.data.teamDisplayName, 'Acme Inc');
      assert.equal((await joiner.acceptTeamInvitation(code)).status, 'ok');
      const joinerUser = await joiner.getUser();
      const joined = await joinerUser.getTeam(team.id);
      assert.ok(joined, 'the invitee is in the team');
      assert.equal(await joinerUser.hasPermission(joined, '$read_members'), true);
      assert.equal(await joinerUser.hasPermission(joined, '$delete_team'), false);
      assert.deepEqual((await team.listUsers()).map((u) => u.id).sort(), [ownerUser.id, joinerUser.id].sort());
      assert.deepEqual(await team.listInvitations(), []);

      // The server grants a permission; the member's app sees it.
      const serverJoiner = await server.getUser(joinerUser.id);
      await serverJoiner.grantPermission(await server.getTeam(team.id), '$delete_team');
      const fresh = newClient();
      await fresh.signInWithCredential({ email: invitee, password: PASSWORD, noRedirect: true });
      const freshUser = await fresh.getUser();
      assert.equal(await freshUser.hasPermission(await freshUser.getTeam(team.id), '$delete_team'), true);
      assert.ok((await freshUser.listPermissions(await freshUser.getTeam(team.id))).some((p) => p.id === 'team_member'));

      await freshUser.setSelectedTeam(team.id);
      assert.equal((await fresh.getUser()).selectedTeam?.id, team.id);
      await (await freshUser.getTeam(team.id)).delete();
      assert.equal(await server.getTeam(team.id), null);
    });

    test('API keys: a user and a team make keys, the server finds their owners by key, revoked keys stop working', async () => {
      const on = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': gh.project.project_id, 'x-stack-super-secret-admin-key': gh.project.super_secret_admin_key },
        body: JSON.stringify({ config_override_string: JSON.stringify({ 'apiKeys.enabled.user': true, 'apiKeys.enabled.team': true, 'teams.allowClientTeamCreation': true }) }),
      });
      assert.equal(on.status, 200, await on.text());
      const client = newClient();
      await client.signUpWithCredential({ email: email('keys'), password: PASSWORD, noRedirect: true, verificationCallbackUrl: 'http://localhost/verify' });
      const user = await client.getUser();
      const key = await user.createApiKey({ description: 'CLI', expiresAt: new Date(Date.now() + 3_600_000) });
      assert.match(key.value, /^sk_[0-9a-z]{45}[0-9a-f]{32}user1574ck4u7h[0-9a-f]{8}$/);
      const listed = await user.listApiKeys();
      assert.deepEqual(listed.map((k) => k.description), ['CLI']);
      assert.equal(listed[0].value.lastFour, key.value.slice(-4));
      const owner = await server.getUser({ apiKey: key.value });
      assert.equal(owner?.id, user.id);

      const team = await user.createTeam({ displayName: 'Keys Inc' });
      const teamKey = await team.createApiKey({ description: 'deploy', expiresAt: null });
      assert.equal((await server.getTeam({ apiKey: teamKey.value }))?.id, team.id);
      assert.equal(await server.getUser({ apiKey: teamKey.value }), null, 'a team key is no user key');

      await listed[0].revoke();
      const fresh = new sdk.StackServerApp({ projectId: gh.project.project_id, publishableClientKey: gh.project.publishable_client_key, baseUrl: gh.baseUrl, tokenStore: 'memory', secretServerKey: gh.project.secret_server_key });
      assert.equal(await fresh.getUser({ apiKey: key.value }), null, 'a revoked key finds nobody');
      assert.equal(await fresh.getUser({ apiKey: 'sk_not_a_key' }), null);
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
