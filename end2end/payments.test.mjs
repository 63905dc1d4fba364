// Payments as an admin, a buyer and an app meet them: items, plans and prices defined in the
// dashboard's payments room; a customer's balance looked up, granted and used there; a plan
// bought on the hosted checkout in test mode (with JavaScript and without), its receipt in a
// real SMTP server; and the same products and balances read and spent by the official SDK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { launchBrowser, shot, signUpAdmin, submit, watchedPage } from './support/browser.mjs';
import { startSmtp } from './support/smtp.mjs';

// A dashboard admin and their new project, with its keys, in the payments room.
async function shopProject(page, baseUrl, email, name) {
  await signUpAdmin(page, baseUrl, email, 'correct horse battery');
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.fill('input[name="display_name"]', name);
  await page.click('button:has-text("Create project")');
  await page.waitForSelector(`text=${name} is ready`);
  const key = (k) => page.textContent(`code[data-key="${k}"]`);
  const keys = { projectId: await key('project_id'), publishableClientKey: await key('publishable_client_key'), secretServerKey: await key('secret_server_key') };
  await page.goto(`${baseUrl}/projects/${keys.projectId}/payments`);
  await page.waitForSelector('body[data-hydrated="true"]');
  return keys;
}

describe('payments', () => {
  let gh, browser, smtp;
  before(async () => {
    smtp = await startSmtp();
    gh = await startGatehouse({ GATEHOUSE_SMTP_URL: smtp.url, GATEHOUSE_EMAIL_FROM: 'Shop <noreply@example.com>' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    await smtp?.stop();
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

  test('an admin defines a plan with monthly credits, a user buys it on the hosted checkout, and the app spends the credits', async () => {
    const context = await browser.newContext();
    const page = await watchedPage(context);
    const keys = await shopProject(page, gh.baseUrl, 'plans@example.com', 'Plans shop');
    // The catalogue, in the dashboard: an item, a product line, a plan with a monthly price and
    // monthly credits, a stackable pack.
    await page.fill('#field-item_id', 'credits');
    await page.fill('#field-display_name', 'Credits');
    await page.click('button:has-text("Add item")');
    await page.waitForSelector('td code:text-is("credits")');
    await page.fill('#field-line-id', 'plans');
    await page.fill('#field-line-name', 'Plans');
    await page.click('button:has-text("Add product line")');
    await page.waitForSelector('td code:text-is("plans")');
    const product = async (id, name, { line = '', stackable = false } = {}) => {
      await page.fill('#field-new-product-id', id);
      await page.fill('#field-new-product-name', name);
      await page.selectOption('#field-product-line', line);
      if (stackable) await page.check('input[name="stackable"]');
      await page.click('button:has-text("Save product")');
      await page.waitForSelector(`tr.product-row code:text-is("${id}")`);
    };
    await product('pro', 'Pro', { line: 'plans' });
    await product('pack', 'Credit pack', { stackable: true });
    const price = async (productId, priceId, amount, interval) => {
      await page.selectOption('#field-price-product', productId);
      await page.fill('#field-price-id', priceId);
      await page.fill('#field-price-amount', amount);
      await page.selectOption('#field-price-interval', interval);
      await page.click('button:has-text("Add price")');
    };
    await price('pro', 'monthly', '9.999', 'month');
    await page.waitForSelector('[role="alert"]:has-text("at most 2 decimals")');
    await price('pro', 'monthly', '9.99', 'month');
    await page.waitForSelector('tr.product-row:has(code:text-is("pro")) li:has-text("$9.99 / month")');
    await price('pack', 'once', '5', '');
    await page.waitForSelector('tr.product-row:has(code:text-is("pack")) li:has-text("$5")');
    await page.selectOption('#field-included-product', 'pro');
    await page.selectOption('#field-included-item', 'credits');
    await page.fill('#field-included-quantity', '100');
    await page.selectOption('#field-included-repeat', 'month');
    await page.selectOption('#field-included-expires', 'when-repeated');
    await page.click('button:has-text("Include item")');
    await page.waitForSelector('tr.product-row:has(code:text-is("pro")) li:has-text("100 every month")');
    await page.selectOption('#field-included-product', 'pack');
    await page.fill('#field-included-quantity', '50');
    await page.selectOption('#field-included-repeat', 'never');
    await page.selectOption('#field-included-expires', 'never');
    await page.click('button:has-text("Include item")');
    await page.waitForSelector('tr.product-row:has(code:text-is("pack")) li:has-text("50, kept for good")');

    // The buyer, signed in to the app (the SDK in the app's browser code).
    const sdk = await import('stack-current');
    const options = { projectId: keys.projectId, publishableClientKey: keys.publishableClientKey, baseUrl: gh.baseUrl, tokenStore: 'memory' };
    const server = new sdk.StackServerApp({ ...options, secretServerKey: keys.secretServerKey });
    await server.createUser({ primaryEmail: 'buyer@example.com', password: 'correct horse battery', primaryEmailAuthEnabled: true, primaryEmailVerified: true });
    const app = new sdk.StackClientApp(options);
    await app.signInWithCredential({ email: 'buyer@example.com', password: 'correct horse battery', noRedirect: true });
    const buyer = await app.getUser({ or: 'throw' });
    const checkoutUrl = await buyer.createCheckoutUrl({ productId: 'pro' });
    assert.ok(checkoutUrl.startsWith(`${gh.baseUrl}/handler/${keys.projectId}/purchase/${keys.projectId}_`), checkoutUrl);

    // The hosted checkout (plain HTML with the hosted pages' one small script).
    const shop = await watchedPage(await browser.newContext());
    await shop.goto(checkoutUrl);
    assert.equal(await shop.textContent('.product-name'), 'Pro');
    assert.match(await shop.textContent('.price-choice'), /\$9\.99 \/ month/);
    assert.match(await shop.textContent('.test-mode-banner'), /Nothing is charged/);
    await shot(shop, 'hosted-checkout');
    await shop.click('button:has-text("Pay (test)")');
    await shop.waitForSelector('.purchase-done:has-text("Pro is now yours.")');
    const receipt = await smtp.waitFor('buyer@example.com', 'for Pro');
    assert.match(receipt, /\$9\.99 \/ month \(test mode, nothing was charged\)/);

    // The app sees the plan and its credits, and spends them.
    const products = await buyer.listProducts();
    assert.deepEqual(products.map((p) => [p.id, p.displayName, p.type, p.quantity]), [['pro', 'Pro', 'subscription', 1]]);
    assert.equal(products[0].subscription.cancelAtPeriodEnd, false);
    assert.ok(products[0].subscription.currentPeriodEnd > new Date());
    assert.equal((await buyer.getItem('credits')).quantity, 100);
    const credits = await server.getItem({ userId: buyer.id, itemId: 'credits' });
    assert.equal(await credits.tryDecreaseQuantity(30), true);
    assert.equal(await credits.tryDecreaseQuantity(71), false);
    assert.equal((await buyer.getItem('credits')).quantity, 70);

    // Without JavaScript: a stackable pack, three at once, through the plain form.
    const packUrl = await buyer.createCheckoutUrl({ productId: 'pack', returnUrl: `${gh.baseUrl}/handler/${keys.projectId}/account-settings` });
    const plain = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    await plain.goto(packUrl);
    assert.equal(await plain.textContent('.product-name'), 'Credit pack');
    await plain.fill('#field-quantity', '3');
    await plain.click('button:has-text("Pay (test)")');
    await plain.waitForURL(/\/account-settings$/);
    assert.equal((await buyer.getItem('credits')).quantity, 220);
    // The link is spent.
    await plain.goto(packUrl);
    await plain.waitForSelector('.purchase-done');

    // The buyer's account settings (still without JavaScript): the plan and the credits, and the
    // plan canceled there.
    const pages = `${gh.baseUrl}/handler/${keys.projectId}`;
    await plain.goto(`${pages}/sign-in`);
    await submit(plain, { email: 'buyer@example.com', password: 'correct horse battery' }, 'Sign in');
    await plain.waitForURL(`${pages}/account-settings`);
    assert.match(await plain.textContent('#payments .owned-product:has-text("Pro")'), /Subscription, renews/);
    assert.match(await plain.textContent('#payments .owned-product:has-text("Credit pack")'), /× 3/);
    assert.equal(await plain.textContent('#payments .held-item:has-text("Credits") .quantity'), '220');
    await plain.click('#payments .owned-product:has-text("Pro") button:has-text("Cancel")');
    await plain.waitForSelector('#payments [role="status"]:has-text("Canceled.")');
    assert.match(await plain.textContent('#payments .owned-product:has-text("Pro")'), /Canceled, ends/);
    assert.equal(await plain.$('#payments .owned-product:has-text("Pro") button'), null);
    await shot(plain, 'account-payments');

    // The dashboard: the customer's products, the transactions, and a refund.
    await page.fill('#field-customer_id', buyer.id);
    await page.selectOption('#field-balance-item', '');
    await page.click('button:has-text("Look up")');
    await page.waitForSelector('tr.owned-product:has-text("Pro") >> text=Canceled, ends');
    assert.equal((await page.$$('tr.transaction')).length, 3, 'two purchases and the change by hand');
    assert.match(await page.textContent('tr.transaction >> nth=2'), /purchase.*\(test\).*Pro × 1/s);
    await page.click('tr.transaction:has-text("Credit pack") button:has-text("Refund")');
    await page.waitForSelector('tr.transaction:has-text("refund") >> text=Taken back × 3');
    await page.waitForSelector('tr.owned-product:has-text("Credit pack")', { state: 'detached' });
    assert.equal(await page.$('tr.transaction:has-text("Credit pack") button:has-text("Refund")'), null);
    // A grant from the dashboard, as the app's server would.
    await page.selectOption('#field-grant-product', 'pack');
    await page.click('button:has-text("Grant")');
    await page.waitForSelector('tr.owned-product:has-text("Credit pack")');
    await shot(page, 'dashboard-payments');
    const pro = (await server.listProducts({ userId: buyer.id })).find((p) => p.id === 'pro');
    assert.equal(pro.subscription.cancelAtPeriodEnd, true);
    // The refunded pack's credits were kept for good (a refund takes the product back, not what
    // it gave), and the granted pack brought 50 more.
    assert.equal((await server.getItem({ userId: buyer.id, itemId: 'credits' })).quantity, 270);
    assert.deepEqual(page.problems.filter((p) => !p.startsWith('console:')), []);
    assert.deepEqual(shop.problems.filter((p) => !p.startsWith('console:')), []);
    await context.close();
  });
});
