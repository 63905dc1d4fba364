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
    created_at BIGINT NOT NULL
);
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
