// Starts a real gatehouse process for a test file: a fresh database (SQLite file, or a new
// PostgreSQL database when GATEHOUSE_TEST_DB=postgres), a project made with the CLI, a free port.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = process.env.GATEHOUSE_BIN ?? join(ROOT, 'target', 'debug', 'gatehouse');
const PG = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

function freshDatabaseUrl(dir) {
  if (process.env.GATEHOUSE_TEST_DB === 'postgres') {
    const name = `gh_test_${randomUUID().replaceAll('-', '')}`;
    execFileSync('psql', [`${PG}/postgres`, '-qc', `CREATE DATABASE ${name}`]);
    return `${PG}/${name}`;
  }
  return `sqlite://${join(dir, 'gatehouse.db')}`;
}

// Dashboard sign-up is open unless `extraEnv` says otherwise, as in Stack's development setup.
// Rate limits are off (`GATEHOUSE_RATE_LIMITS=off`): these suites sign up and in far faster
// than people do, from one address. abuse.test.mjs turns them on and tests them; lockouts
// apply everywhere.
export async function startGatehouse(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  const env = {
    ...process.env,
    STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED: 'true',
    GATEHOUSE_RATE_LIMITS: 'off',
    ...extraEnv,
    DATABASE_URL: freshDatabaseUrl(dir),
    GATEHOUSE_DATA_DIR: dir,
    GATEHOUSE_ADDR: '127.0.0.1:0',
    RUST_LOG: 'warn,gatehouse=info',
  };
  const project = JSON.parse(execFileSync(BIN, ['project', 'create', '--display-name', 'End-to-end'], { env }).toString());
  let instance = await serve(env);
  return {
    get baseUrl() { return instance.baseUrl; },
    project,
    dataDir: dir,
    log: () => instance.log(),
    // The project's recorded changes after `after`, read with `gatehouse events`.
    events: (projectId, after = 0) =>
      execFileSync(BIN, ['events', projectId, '--after', String(after)], { env }).toString()
        .split('\n').filter(Boolean).map((line) => JSON.parse(line)),
    // Kills the server with SIGKILL (no chance to finish anything) and starts it again on the
    // same database.
    restart: async () => {
      await instance.kill('SIGKILL');
      instance = await serve(env);
    },
    // Another project on the same server, made with the CLI (its id and keys).
    newProject: (name) =>
      JSON.parse(execFileSync(BIN, ['project', 'create', '--display-name', name], { env }).toString()),
    // Runs the gatehouse CLI on the server's database; returns what it printed.
    cli: (...args) => execFileSync(BIN, args, { env }).toString(),
    // A second server on the same database (PostgreSQL: two instances as one).
    another: (moreEnv = {}) => serve({ ...env, ...moreEnv }),
    stop: () => instance.kill('SIGTERM'),
  };
}

// One `gatehouse serve` process; resolves once it listens.
async function serve(env) {
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((ok) => child.once('exit', ok));
  const baseUrl = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`gatehouse did not start:\n${log}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/listening on (http:\/\/[^\s"]+)/);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => fail(new Error(`gatehouse exited with ${code}:\n${log}`)));
  });
  return {
    baseUrl,
    log: () => log,
    kill: (signal) => { child.kill(signal); return exited; },
    stop: () => { child.kill('SIGTERM'); return exited; },
  };
}
