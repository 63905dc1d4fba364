// Debian's Chromium, driven by playwright-core (no browser download), as root in a sandbox-less
// container, with the background networking this closed network refuses turned off.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SHOTS = resolve(import.meta.dirname, '..', 'test-results');

export async function launchBrowser() {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// A page that records server errors, console errors and uncaught exceptions, for asserting
// there are none. (Chromium logs every 4xx answer to the console too; those are expected
// answers to wrong input, so they are told apart by the response itself.)
export async function watchedPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on('response', (r) => {
    if (r.status() >= 500 || r.status() === 404) page.problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  return page;
}

// Fills a form's inputs by name and presses the button with `button` in its text.
export async function submit(page, fields, button) {
  for (const [name, value] of Object.entries(fields)) await page.fill(`input[name="${name}"]`, value);
  await page.click(`button:has-text("${button}")`);
}

export const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

// A new dashboard admin: from the dashboard's front door (which sends strangers to the internal
// project's sign-in page) to the sign-up form and back to the dashboard.
export async function signUpAdmin(page, baseUrl, email, password) {
  await page.goto(baseUrl);
  await page.waitForURL(/\/handler\/internal\/sign-in/);
  await page.click('a:has-text("Sign up")');
  await page.waitForURL(/\/handler\/internal\/sign-up\?after_auth_return_to=%2F/);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.click('button:has-text("Sign up")');
  await page.waitForURL(`${baseUrl}/`);
}
