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
