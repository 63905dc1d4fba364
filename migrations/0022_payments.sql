-- Payments (see src/payments/): the ledger of item quantities. Each row changes one customer's
-- quantity of one item (a grant when positive, which may expire; a use when negative); a
-- customer is a user, a team or an id of the app's own (`customer_type`: user, team, custom).
-- Times are epoch ms.
CREATE TABLE item_quantity_changes (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    description TEXT,
    expires_at BIGINT,
    -- The purchase whose included items this grant is (NULL: a change made by hand, through
    -- update-quantity or the dashboard).
    purchase_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX item_quantity_changes_customer
    ON item_quantity_changes (project_id, customer_type, customer_id, item_id, created_at);

-- What each customer's ledger of an item adds up to (see src/payments/items.rs): the grants still
-- open with their expiries and what is owed, as JSON, kept with every change.
CREATE TABLE item_balances (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (project_id, customer_type, customer_id, item_id)
);

-- Products a customer bought or was granted (src/payments/products.rs): one row per purchase, a
-- one-time purchase or a subscription, with the product as it was then (config form, JSON; an
-- inline product has no product_id). status: active, trialing, canceled. Times are epoch ms;
-- booleans 0/1.
CREATE TABLE purchases (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    product_id TEXT,
    price_id TEXT,
    product TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    test_mode BIGINT NOT NULL,
    current_period_start BIGINT,
    current_period_end BIGINT,
    cancel_at_period_end BIGINT NOT NULL,
    ended_at BIGINT,
    refunded_at BIGINT,
    created_at BIGINT NOT NULL,
    -- Bought through Stripe: its PaymentIntent (one-time) or Subscription id.
    stripe_ref TEXT
);
CREATE UNIQUE INDEX purchases_stripe_ref ON purchases (project_id, stripe_ref);
CREATE INDEX purchases_customer ON purchases (project_id, customer_type, customer_id);
CREATE INDEX purchases_created ON purchases (project_id, created_at);

-- Each new period of a subscription after its first.
CREATE TABLE purchase_renewals (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    purchase_id TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    test_mode BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX purchase_renewals_created ON purchase_renewals (project_id, created_at);

-- Stripe (src/payments/stripe.rs): each project connects its own Stripe account. Its secret key
-- and webhook signing secret are sealed (AES-GCM under the server secret).
CREATE TABLE stripe_accounts (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    secret_key TEXT NOT NULL,
    publishable_key TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The Stripe customer of each Gatehouse customer that has paid or saved a card.
CREATE TABLE stripe_customers (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    stripe_customer_id TEXT NOT NULL,
    PRIMARY KEY (project_id, customer_type, customer_id)
);

-- A purchase started through Stripe and not yet paid: what its PaymentIntent or Subscription
-- (stripe_ref) buys, granted when Stripe says it is paid.
CREATE TABLE stripe_checkouts (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    stripe_ref TEXT NOT NULL,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    product_id TEXT,
    price_id TEXT NOT NULL,
    product TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    purchaser TEXT,
    amount TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, stripe_ref)
);

-- Stripe's webhook events already handled (a replay changes nothing).
CREATE TABLE stripe_events (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, event_id)
);

-- Invoices of customers' Stripe subscriptions, as Stripe's webhooks reported them.
CREATE TABLE stripe_invoices (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    customer_type TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    subscription TEXT NOT NULL,
    payment_intent TEXT,
    status TEXT NOT NULL,
    amount_total BIGINT NOT NULL,
    hosted_invoice_url TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, id)
);
CREATE INDEX stripe_invoices_customer ON stripe_invoices (project_id, customer_type, customer_id, created_at);
