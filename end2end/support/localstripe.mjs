// A fake Stripe server for the tests: PyPI's localstripe (installed in end2end/.venv by
// scripts/lib.sh), with its API, signed webhooks and its own Stripe.js, on a free port.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const VENV = resolve(import.meta.dirname, '..', '.venv', 'bin');

const freePort = () => new Promise((done, fail) => {
  const s = createServer();
  s.on('error', fail);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => done(port));
  });
});

export async function startLocalstripe(secretKey) {
  const port = await freePort();
  const proc = spawn(join(VENV, 'localstripe'), ['--port', String(port), '--from-scratch'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v1/balance`, { headers: { authorization: `Bearer ${secretKey}` } });
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('localstripe did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const api = async (method, path, body) => {
    const r = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: body && new URLSearchParams(body),
    });
    if (!r.ok) throw new Error(`localstripe ${method} ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  return {
    url,
    api,
    // Stripe sends this endpoint every event, signed with `secret`.
    webhook: async (endpoint, secret) => {
      const r = await fetch(`${url}/_config/webhooks/gatehouse`, { method: 'POST', body: new URLSearchParams({ url: endpoint, secret }) });
      if (!r.ok) throw new Error(`localstripe webhook: ${r.status}`);
    },
    stop: () => new Promise((done) => { proc.once('exit', done); proc.kill(); }),
  };
}
