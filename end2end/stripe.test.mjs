// Payments through Stripe as an admin and a buyer meet them: the admin connects the project's
// own Stripe account in the dashboard's payments room (the keys saved, Stripe asked whether it
// takes them, the webhook endpoint shown), and a buyer pays on the hosted checkout with
// Stripe.js's card fields; the app's SDK sees the purchase. Stripe is a fake Stripe server
// (PyPI localstripe, with its own Stripe.js), one process for this file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGatehouse } from './support/gatehouse.mjs';
import { join } from 'node:path';
import { launchBrowser, shot, signUpAdmin, SHOTS, watchedPage } from './support/browser.mjs';
import { startLocalstripe } from './support/localstripe.mjs';
import { startSmtp } from './support/smtp.mjs';

const SECRET_KEY = 'sk_test_browser';
const WEBHOOK_SECRET = 'whsec_browser';

describe('payments through Stripe', () => {
  let gh, browser, stripe, smtp;
  before(async () => {
    stripe = await startLocalstripe(SECRET_KEY);
    smtp = await startSmtp();
    gh = await startGatehouse({
      GATEHOUSE_STRIPE_API_URL: stripe.url,
      GATEHOUSE_STRIPE_JS_URL: `${stripe.url}/js.stripe.com/v3/`,
      GATEHOUSE_SMTP_URL: smtp.url,
      GATEHOUSE_EMAIL_FROM: 'Shop <noreply@example.com>',
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await gh?.stop();
    await smtp?.stop();
    await stripe?.stop();
  });

  test('an admin connects Stripe and a buyer pays by card on the hosted checkout', async () => {
    const page = await watchedPage(await browser.newContext());
    await signUpAdmin(page, gh.baseUrl, 'stripe-shop@example.com', 'correct horse battery');
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.fill('input[name="display_name"]', 'Card shop');
    await page.click('button:has-text("Create project")');
    await page.waitForSelector('text=Card shop is ready');
    const key = (name) => page.textContent(`code[data-key="${name}"]`);
    const keys = { projectId: await key('project_id'), publishableClientKey: await key('publishable_client_key'), secretServerKey: await key('secret_server_key') };
    const adminKey = await key('super_secret_admin_key');
    await page.goto(`${gh.baseUrl}/projects/${keys.projectId}/payments`);
    await page.waitForSelector('body[data-hydrated="true"]');

    // The Stripe panel: a key of the wrong kind is refused, the right ones saved and checked.
    await page.fill('#field-secret_key', 'pk_test_wrong');
    await page.fill('#field-publishable_key', 'pk_test_browser');
    await page.fill('#field-webhook_secret', WEBHOOK_SECRET);
    await page.click('button:has-text("Save the Stripe keys")');
    await page.waitForSelector('[role="alert"]:has-text("sk_")');
    await page.fill('#field-secret_key', SECRET_KEY);
    await page.click('button:has-text("Save the Stripe keys")');
    await page.waitForSelector('.stripe-connected:has-text("pk_test_browser")');
    assert.match(await page.textContent('.stripe-connected'), /ending wser\./);
    assert.ok(!(await page.content()).includes(SECRET_KEY), 'the secret key is never shown again');
    await page.click('button:has-text("Check the connection")');
    await page.waitForSelector('.stripe-check:has-text("Stripe accepted the secret key")');
    const endpoint = await page.textContent('.webhook-url');
    assert.equal(endpoint, `${gh.baseUrl}/api/v1/integrations/stripe/webhooks?project_id=${keys.projectId}`);
    await stripe.webhook(endpoint, WEBHOOK_SECRET);

    // The catalogue, test mode off (an admin key sets it).
    const config = {
      'payments.testMode': false,
      'payments.products.pack': { displayName: 'Credit pack', customerType: 'user', prices: { once: { USD: '5' } } },
      'payments.products.pro': { displayName: 'Pro', customerType: 'user', prices: { monthly: { USD: '9.99', interval: [1, 'month'] } } },
    };
    const r = await fetch(`${gh.baseUrl}/api/v1/internal/config/override/environment`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-stack-access-type': 'admin', 'x-stack-project-id': keys.projectId, 'x-stack-super-secret-admin-key': adminKey },
      body: JSON.stringify({ config_override_string: JSON.stringify(config) }),
    });
    assert.equal(r.status, 200, await r.text());
    await page.reload();
    await page.waitForSelector('.stripe-connected');
    assert.equal(await page.$('.test-mode'), null, 'no test-mode banner once it is off');
    await page.locator('section[aria-labelledby="stripe-heading"]').screenshot({ path: join(SHOTS, 'dashboard-stripe.png') });

    // The buyer, signed in to the app.
    const sdk = await import('stack-current');
    const options = { projectId: keys.projectId, publishableClientKey: keys.publishableClientKey, baseUrl: gh.baseUrl, tokenStore: 'memory' };
    const server = new sdk.StackServerApp({ ...options, secretServerKey: keys.secretServerKey });
    await server.createUser({ primaryEmail: 'card-buyer@example.com', password: 'correct horse battery', primaryEmailAuthEnabled: true, primaryEmailVerified: true });
    const app = new sdk.StackClientApp(options);
    await app.signInWithCredential({ email: 'card-buyer@example.com', password: 'correct horse battery', noRedirect: true });
    const buyer = await app.getUser({ or: 'throw' });
    const checkoutUrl = await buyer.createCheckoutUrl({ productId: 'pack' });

    // Without JavaScript, the page says why the card form needs it.
    const plain = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
    await plain.goto(checkoutUrl);
    await plain.waitForSelector('[data-needs-js]:has-text("needs JavaScript")');

    // With it: Stripe.js's card fields (localstripe's), typed in, and paid.
    const shop = await watchedPage(await browser.newContext());
    const pay = async (url, name, { screenshot } = {}) => {
      await shop.goto(url);
      await shop.waitForSelector('[data-card] input[placeholder="number"]');
      assert.equal(await shop.isVisible('[data-needs-js]'), false);
      await shop.fill('[data-card] input[placeholder="number"]', '4242424242424242');
      await shop.fill('[data-card] input[placeholder="exp_month"]', '12');
      await shop.fill('[data-card] input[placeholder="exp_year"]', '30');
      await shop.fill('[data-card] input[placeholder="cvc"]', '123');
      await shop.fill('[data-card] input[placeholder="postal_code"]', '12345');
      if (screenshot) await shot(shop, screenshot);
      await shop.click('.stripe-checkout button:has-text("Pay")');
      await shop.waitForSelector(`.purchase-done:has-text("${name} is now yours.")`);
    };
    await pay(checkoutUrl, 'Credit pack', { screenshot: 'hosted-checkout-card' });
    await pay(await buyer.createCheckoutUrl({ productId: 'pro' }), 'Pro');
    assert.deepEqual(shop.problems, []);

    // The app reads the saved card and the plan's invoice (Stripe's webhook) with the SDK.
    const billing = await buyer.getBilling();
    assert.equal(billing.hasCustomer, true);
    assert.equal(billing.defaultPaymentMethod.last4, '4242');
    const deadline = Date.now() + 20_000;
    let invoices = [];
    while (invoices.length === 0 && Date.now() < deadline) {
      invoices = await buyer.listInvoices();
      if (invoices.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(invoices.map((i) => [i.status, i.amountTotal]), [['paid', 999]]);
    const setup = await buyer.createPaymentMethodSetupIntent();
    assert.match(setup.clientSecret, /^seti_/);

    // The buyer's account settings (JavaScript off): the plans, the card and the invoice.
    const pages = `${gh.baseUrl}/handler/${keys.projectId}`;
    await plain.goto(`${pages}/sign-in`);
    await plain.fill('input[name="email"]', 'card-buyer@example.com');
    await plain.fill('input[name="password"]', 'correct horse battery');
    await plain.click('button:has-text("Sign in")');
    await plain.waitForURL(`${pages}/account-settings`);
    assert.match(await plain.textContent('#payments .saved-card'), /visa ending 4242, expires 12\/2030/);
    assert.match(await plain.textContent('#payments .invoice'), /9\.99 · paid/);
    await plain.locator('#payments').screenshot({ path: join(SHOTS, 'account-billing.png') });

    const products = await buyer.listProducts();
    assert.deepEqual(products.map((p) => [p.id, p.quantity]).sort(), [['pack', 1], ['pro', 1]]);
    assert.match(await smtp.waitFor('card-buyer@example.com', 'for Credit pack'), /payment of \$5 for Credit pack/);
    assert.match(await smtp.waitFor('card-buyer@example.com', 'for Pro'), /payment of \$9\.99 \/ month for Pro/);
    const charged = await stripe.api('GET', 'payment_intents?limit=10');
    assert.ok(charged.data.some((pi) => pi.amount === 500 && pi.status === 'succeeded'), JSON.stringify(charged.data));
  });
});
