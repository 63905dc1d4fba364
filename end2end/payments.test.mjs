// Payments as an admin and an app meet them: items defined in the dashboard's payments room, a
// customer's balance looked up, granted and used there, and the same balance read and spent by
// the official SDK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, watchedPage } from './support/browser.mjs';

describe('payments', () => {
  let gh, browser;
  before(async () => {
    gh = await startGatehouse();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
  });

  test('an admin defines items and grants some to a user, which the app reads and spends with the SDK', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    await signUpAdmin(page, gh.baseUrl, 'shop@example.com', 'correct horse battery');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Shop');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Shop is ready');
    const key = (name) => page.textContent(`code[data-key="${name}"]`);
    const keys = { projectId: await key('project_id'), publishableClientKey: await key('publishable_client_key'), secretServerKey: await key('secret_server_key') };

    await page.goto(`${gh.baseUrl}/projects/${keys.projectId}/overview`);
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.click('nav a:has-text("Payments")');
    await page.waitForURL(/\/payments$/);
    await page.waitForSelector('body[data-hydrated="true"]');
    assert.match(await page.textContent('.test-mode'), /Test mode/);
    const addItem = async (id, name, type) => {
      await page.fill('#field-item_id', id);
      await page.fill('#field-display_name', name);
      await page.selectOption('#field-item-customer-type', type);
      await page.click('button:has-text("Add item")');
      await page.waitForSelector(`td code:text-is("${id}")`);
    };
    await addItem('credits', 'API credits', 'user');
    await addItem('seats', 'Seats', 'team');
    await page.fill('#field-item_id', 'not an id!');
    await page.click('button:has-text("Add item")');
    await page.waitForSelector('[role="alert"]');

    // The app's user, made by its backend with the SDK.
    const sdk = await import('stack-current');
    const server = new sdk.StackServerApp({ ...keys, baseUrl: gh.baseUrl, tokenStore: 'memory' });
    const user = await server.createUser({ primaryEmail: 'buyer@example.com' });

    await page.selectOption('#field-balance-type', 'user');
    await page.fill('#field-customer_id', user.id);
    await page.selectOption('#field-balance-item', 'credits');
    await page.click('button:has-text("Look up")');
    await page.waitForSelector('.balance .quantity:text-is("0")');
    const apply = async (delta, { negative = false } = {}) => {
      await page.fill('#field-delta', String(delta));
      await page.fill('#field-description', `by hand: ${delta}`);
      if (negative) await page.check('input[name="allow_negative"]');
      await page.click('button:has-text("Apply")');
    };
    await apply(25);
    await page.waitForSelector('.balance .quantity:text-is("25")');
    await apply(-30);
    await page.waitForSelector('.balance [role="alert"]:has-text("insufficient quantity")');
    assert.equal(await page.textContent('.balance .quantity'), '25');
    await apply(-30, { negative: true });
    await page.waitForSelector('.balance .quantity:text-is("-5")');
    await apply(12);
    await page.waitForSelector('.balance .quantity:text-is("7")');
    await shot(page, 'dashboard-payments');

    const credits = await server.getItem({ userId: user.id, itemId: 'credits' });
    assert.equal(credits.quantity, 7);
    assert.equal(credits.displayName, 'API credits');
    assert.equal(await credits.tryDecreaseQuantity(8), false);
    assert.equal(await credits.tryDecreaseQuantity(7), true);
    await page.reload();
    await page.waitForSelector('.balance .quantity:text-is("0")');

    // A customer that does not exist, and an item removed.
    await page.fill('#field-customer_id', '00000000-0000-4000-8000-000000000000');
    await page.click('button:has-text("Look up")');
    await page.waitForSelector('.balance-error:has-text("User not found.")');
    await page.click('tr:has(code:text-is("seats")) button:has-text("Remove")');
    await page.waitForSelector('td code:text-is("seats")', { state: 'detached' });
    assert.deepEqual(page.problems.filter((p) => !p.startsWith('console:')), []);
    await context.close();
  });
});
