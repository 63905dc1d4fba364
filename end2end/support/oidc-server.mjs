// A real OpenID Connect provider for the tests: the npm `oidc-provider` package (discovery,
// JWKS, authorization with a login page, token, userinfo, refresh tokens).
//
// Clients: one per provider id Stack's development setup knows (`github`, `google`…, plus
// `oidc`), secret MOCK-SERVER-SECRET, any redirect URI. Whoever signs in types a login, which
// becomes their subject and (verified) email, as Stack's mock provider does; "Deny" refuses.
//
// Imported, `startOidcProvider()` starts one in this process. Run as a script, it prints
// `{"url": …}` on its first line and serves until its standard input closes (the Rust tests
// spawn it so).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

export const CLIENT_SECRET = 'MOCK-SERVER-SECRET';
const CLIENT_IDS = ['oidc', 'github', 'google', 'microsoft', 'spotify', 'facebook', 'discord',
  'gitlab', 'bitbucket', 'linkedin', 'apple', 'x', 'twitch'];

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (uid, client) => `<!doctype html><html><head><title>Test provider sign-in</title></head>
<body><h1>Sign in to ${escape(client)} at the test provider</h1>
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" autofocus required></label>
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button>
</form></body></html>`;

const readForm = (req) => new Promise((ok, fail) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => ok(Object.fromEntries(new URLSearchParams(body))));
  req.on('error', fail);
});

export async function startOidcProvider() {
  const server = createServer();
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(url, {
    clients: CLIENT_IDS.map((client_id) => ({
      client_id,
      client_secret: CLIENT_SECRET,
      redirect_uris: ['http://localhost/any'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    scopes: ['openid', 'offline_access', 'email', 'profile', 'repo', 'calendar', 'user:email'],
    claims: { email: ['email', 'email_verified'], profile: ['name'] },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, email: sub, email_verified: true, name: sub.split('@')[0] }),
    }),
    features: { devInteractions: { enabled: false } },
    // Each sign-in is its own: the browser never sends its earlier session back (which, for
    // another account, the provider would end through a scripted logout page).
    cookies: { long: { path: '/no-session' } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // Refresh tokens whenever the client may have them (consent is given on the login page).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: { AccessToken: 3600, AuthorizationCode: 600, Grant: 3600, Interaction: 600, Session: 600, RefreshToken: 86400, IdToken: 3600 },
  });
  // Tests start Gatehouse on ports nobody knows beforehand: every redirect URI is accepted.
  provider.Client.prototype.redirectUriAllowed = () => true;
  const callback = provider.callback();
  // GitHub's API shape for whoever holds one of this provider's access tokens, so that a
  // known provider's profile mapping is tried against a real server: `/github/user` (numeric
  // id, login, no public email) and `/github/user/emails` (the primary address, verified).
  const github = async (req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /i, '');
    const grant = token && await provider.AccessToken.find(token);
    if (!grant) return res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
    const sub = grant.accountId;
    const answer = req.url === '/github/user/emails'
      ? [{ email: `old-${sub}`, primary: false, verified: true }, { email: sub, primary: true, verified: true }]
      : { id: parseInt(createHash('sha256').update(sub).digest('hex').slice(0, 8), 16), login: sub.split('@')[0], name: null, email: null, avatar_url: `${url}/avatars/${encodeURIComponent(sub)}.png` };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer));
  };
  server.on('request', async (req, res) => {
    if (req.url === '/favicon.ico') return res.writeHead(204).end();
    if (req.url.startsWith('/github/')) return github(req, res);
    const m = req.url.match(/^\/interaction\/([^/?]+)/);
    if (!m) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(page(details.uid, details.params.client_id));
      }
      const form = await readForm(req);
      if (form.action === 'deny') {
        return await provider.interactionFinished(req, res,
          { error: 'access_denied', error_description: 'The user refused.' }, { mergeWithLastSubmission: false });
      }
      const accountId = form.login.trim();
      const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res,
        { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${e.message}`);
    }
  });
  return { url, stop: () => new Promise((ok) => server.close(ok)) };
}

/// Signs in at the provider without a browser: follows the redirects of `authorizeUrl` with a
/// cookie jar, submits `login` (or denies, with `login` null), and returns the URL the provider
/// sends the browser back to.
export async function completeProviderLogin(authorizeUrl, login) {
  const jar = new Map();
  const origin = new URL(authorizeUrl).origin;
  const go = async (url, init = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), cookie } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };
  let url = authorizeUrl;
  for (let hops = 0; hops < 10; hops++) {
    const res = await go(url);
    const location = res.headers.get('location');
    if (!location) throw new Error(`the provider answered ${res.status} at ${url}: ${await res.text()}`);
    const next = new URL(location, url).toString();
    if (!next.startsWith(origin)) return next;
    if (next.includes('/interaction/')) {
      const done = await go(next.replace(/\?.*$/, ''), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(login === null ? { action: 'deny' } : { action: 'login', login }).toString(),
      });
      url = new URL(done.headers.get('location'), next).toString();
      continue;
    }
    url = next;
  }
  throw new Error('too many redirects at the provider');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { url } = await startOidcProvider();
  console.log(JSON.stringify({ url }));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
