// A real SMTP server for browser tests: aiosmtpd (PyPI, in end2end's venv) writing what it
// receives to a maildir, read back here.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const PYTHON = process.env.GATEHOUSE_TEST_PYTHON ?? resolve(import.meta.dirname, '..', '.venv', 'bin', 'python');

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
});
const listening = (port) => new Promise((ok) => {
  const c = connect(port, '127.0.0.1', () => { c.end(); ok(true); }).on('error', () => ok(false));
});

// Undoes quoted-printable (soft line breaks and =XX escapes), as mail bodies arrive.
const unquote = (raw) => raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

export async function startSmtp() {
  const port = await freePort();
  const maildir = join(mkdtempSync(join(tmpdir(), 'gatehouse-smtp-')), 'mail');
  const child = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (Date.now() > deadline) throw new Error('aiosmtpd did not start listening');
    await new Promise((ok) => setTimeout(ok, 50));
  }
  const messages = () => ['new', 'cur'].flatMap((sub) => {
    try {
      return readdirSync(join(maildir, sub)).map((f) => unquote(readFileSync(join(maildir, sub, f), 'utf8')));
    } catch { return []; }
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    // The first message to `to` whose text contains `needle`, waiting up to 30 s.
    async waitFor(to, needle) {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = messages().find((m) => new RegExp(`^To:.*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(m) && m.includes(needle));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} containing ${needle}`);
        await new Promise((ok) => setTimeout(ok, 50));
      }
    },
    stop: () => new Promise((ok) => { child.once('exit', ok); child.kill('SIGTERM'); }),
  };
}
