//! Products a customer buys or is granted (a plan, a pack of credits; the catalogue's, see
//! [`super::product`], or one a server defines inline), under Stack's rules: not twice unless
//! stackable, an add-on only with its base, one plan per product line. Each purchase is a
//! row of `purchases` keeping the product as it was then: a one-time purchase, or a subscription
//! with its current period (renewed at its end; a test-mode subscription by Gatehouse itself, see
//! [`Core::run_purchase_job`]). A product's included items are granted into the items ledger,
//! tagged with the purchase, so they follow it: those that expire with the purchase stop
//! counting when it ends, and those that repeat are granted again each period.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::items::{end_purchase_grants, grant_included, LedgerEntry};
use super::product::{
    catalogue, catalogue_product, charged_amount, describe_price, inline_product, minor_units,
    new_purchases_blocked, price_interval, require_customer_type, resolve_product, status,
    IncludedItem, Interval, Product,
};
use super::{Customer, CustomerType};
use crate::db::json_column;
use crate::emails::{queue_email, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::events::{lock_project, record, Change, Tx, Who};
use crate::jobs::{enqueue, NewJob};
use crate::projects::Project;
use crate::validation::{integer, object, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// The job that renews a subscription at the end of its period and grants its repeating items.
pub const PURCHASE_JOB: &str = "payments.purchase";

/// What a purchase is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    OneTime,
    Subscription,
}

/// How a purchase came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Granted by the app's server or an admin.
    ApiGrant,
    /// Bought on the hosted checkout in test mode.
    TestMode,
    /// Bought through Stripe.
    Stripe,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::ApiGrant => "API_GRANT",
            Source::TestMode => "TEST_MODE",
            Source::Stripe => "PURCHASE_PAGE",
        }
    }
}

/// A stored purchase.
#[derive(Clone, Debug)]
pub struct Purchase {
    pub id: String,
    pub customer: Customer,
    pub product_id: Option<String>,
    pub price_id: Option<String>,
    pub product: Product,
    pub quantity: i64,
    pub kind: Kind,
    /// `active`, `trialing`, `canceled`.
    pub status: String,
    pub source: String,
    pub test_mode: bool,
    pub current_period_start: Option<i64>,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub ended_at: Option<i64>,
    pub refunded_at: Option<i64>,
    pub created_at: i64,
}

const PURCHASE_COLUMNS: &str = "id, customer_type, customer_id, product_id, price_id, product, quantity, kind, status, \
     source, test_mode, current_period_start, current_period_end, cancel_at_period_end, ended_at, refunded_at, created_at";

impl sqlx::FromRow<'_, AnyRow> for Purchase {
    fn from_row(r: &AnyRow) -> sqlx::Result<Purchase> {
        let kind: String = r.try_get("customer_type")?;
        Ok(Purchase {
            id: r.try_get("id")?,
            customer: Customer {
                kind: CustomerType::parse(&kind).unwrap_or(CustomerType::Custom),
                id: r.try_get("customer_id")?,
            },
            product_id: r.try_get("product_id")?,
            price_id: r.try_get("price_id")?,
            product: Product(json_column(r, "product")?),
            quantity: r.try_get("quantity")?,
            kind: if r.try_get::<String, _>("kind")? == "subscription" {
                Kind::Subscription
            } else {
                Kind::OneTime
            },
            status: r.try_get("status")?,
            source: r.try_get("source")?,
            test_mode: r.try_get::<i64, _>("test_mode")? != 0,
            current_period_start: r.try_get("current_period_start")?,
            current_period_end: r.try_get("current_period_end")?,
            cancel_at_period_end: r.try_get::<i64, _>("cancel_at_period_end")? != 0,
            ended_at: r.try_get("ended_at")?,
            refunded_at: r.try_get("refunded_at")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

impl Purchase {
    /// Whether the customer holds its product at `now`.
    pub fn is_owned(&self, now: i64) -> bool {
        self.refunded_at.is_none() && self.ended_at.is_none_or(|e| e > now)
    }

    /// Bought through Stripe, which bills it (renewals, refunds and cancellations go there).
    pub fn through_stripe(&self) -> bool {
        self.source == Source::Stripe.as_str()
    }

    /// A subscription that runs on (not canceled).
    pub fn is_active_subscription(&self) -> bool {
        self.kind == Kind::Subscription && matches!(self.status.as_str(), "active" | "trialing")
    }

    fn price(&self) -> Option<Value> {
        let id = self.price_id.as_deref()?;
        self.product
            .prices()
            .into_iter()
            .find(|(p, _)| *p == id)
            .map(|(_, v)| v.clone())
    }

    /// What it charged, per currency (nothing in test mode, as Stack counts it).
    pub fn charged_amount(&self) -> Map<String, Value> {
        charged_amount(self.price().as_ref(), self.quantity)
    }

    /// "$9.99 / month" (for receipts and pages).
    pub fn describe_price(&self) -> String {
        self.price()
            .map(|p| describe_price(&p, self.quantity))
            .unwrap_or_else(|| "Free".into())
    }
}

/// A product a customer owns, as the products list shows it.
pub struct Owned {
    /// The product's id; none for an inline product.
    pub product_id: Option<String>,
    pub quantity: i64,
    pub product: Product,
    /// The subscription behind it, when one is.
    pub subscription: Option<Purchase>,
}

/// Whether a customer owning `owned` already holds `product_id` and may not have it again (the
/// product is not stackable): Stack's `PRODUCT_ALREADY_GRANTED` and `already_bought_non_stackable`.
pub fn already_owned(owned: &[Owned], product_id: Option<&str>, product: &Product) -> bool {
    product_id.is_some_and(|id| {
        !product.stackable() && owned.iter().any(|o| o.product_id.as_deref() == Some(id))
    })
}

/// A server's grant (`POST /payments/products/{customer_type}/{customer_id}`).
#[derive(serde::Deserialize)]
pub struct GrantRequest {
    pub product_id: Option<String>,
    pub product_inline: Option<Value>,
    pub quantity: Option<i64>,
}

impl Input for GrantRequest {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("product_id", string())
            .field("product_inline", object().custom(inline_product))
            .field(
                "quantity",
                integer().min(1.0).max(super::items::MAX_DELTA as f64),
            )
    }
}

/// `POST …/switch`'s body.
#[derive(serde::Deserialize)]
pub struct SwitchRequest {
    pub from_product_id: String,
    pub to_product_id: String,
    pub price_id: Option<String>,
    pub quantity: Option<i64>,
}

impl Input for SwitchRequest {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("from_product_id", string().defined())
            .field("to_product_id", string().defined())
            .field("price_id", string())
            .field(
                "quantity",
                integer().min(1.0).max(super::items::MAX_DELTA as f64),
            )
    }
}

/// A purchase about to be made.
pub struct NewPurchase<'a> {
    pub customer: &'a Customer,
    pub product_id: Option<&'a str>,
    pub product: &'a Product,
    pub price_id: Option<&'a str>,
    pub quantity: i64,
    pub source: Source,
}

async fn customer_purchases<'e, E>(
    db: E,
    project_id: &str,
    customer: &Customer,
) -> Result<Vec<Purchase>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM purchases \
         WHERE project_id = $1 AND customer_type = $2 AND customer_id = $3 ORDER BY created_at, id"
    ))
    .bind(project_id)
    .bind(customer.kind.as_str())
    .bind(&customer.id)
    .fetch_all(db)
    .await?)
}

async fn purchase_by_id<'e, E>(db: E, project_id: &str, id: &str) -> Result<Option<Purchase>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    purchase_where(db, project_id, "id", id).await
}

/// The project's purchase whose `column` (a unique one: `id`, `stripe_ref`) is `value`.
async fn purchase_where<'e, E>(
    db: E,
    project_id: &str,
    column: &'static str,
    value: &str,
) -> Result<Option<Purchase>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE project_id = $1 AND {column} = $2"
    ))
    .bind(project_id)
    .bind(value)
    .fetch_optional(db)
    .await?)
}

/// What each product id (none: inline) adds up to among `purchases` owned at `now`.
fn owned_quantities(purchases: &[Purchase], now: i64) -> BTreeMap<Option<&str>, i64> {
    let mut out = BTreeMap::new();
    for p in purchases.iter().filter(|p| p.is_owned(now)) {
        *out.entry(p.product_id.as_deref()).or_insert(0) += p.quantity;
    }
    out
}

/// Stack's `validatePurchaseSession`: the checks before a purchase, on the customer's purchases
/// as read in the purchase's transaction. Returns the selected price and the subscriptions in
/// the product's line that the purchase replaces.
fn check_purchase(
    new: &NewPurchase<'_>,
    purchases: &[Purchase],
    now: i64,
) -> Result<(Option<(String, Value)>, Vec<String>)> {
    let price = new.product.select_price(new.price_id)?;
    if new.quantity != 1 && !new.product.stackable() {
        return Err(status("This product is not stackable; quantity must be 1"));
    }
    let owned = owned_quantities(purchases, now);
    let owns = |id: &str| owned.get(&Some(id)).is_some_and(|q| *q > 0);
    if let Some(id) = new.product_id {
        if !new.product.stackable() && owns(id) {
            return Err(Error::ProductAlreadyGranted {
                product_id: id.into(),
                customer_id: new.customer.id.clone(),
            });
        }
    }
    let bases = new.product.add_on_to();
    if !bases.is_empty() && !bases.iter().any(|b| owns(b)) {
        return Err(status(
            "This product is an add-on to a product that the customer does not have",
        ));
    }
    let mut replaced = Vec::new();
    if let Some(line) = new.product.product_line_id() {
        let in_line: Vec<&Purchase> = purchases
            .iter()
            .filter(|p| p.is_owned(now) && p.product.product_line_id() == Some(line))
            .filter(|p| {
                !p.product_id
                    .as_deref()
                    .is_some_and(|id| bases.contains(&id))
            })
            .collect();
        if !in_line.is_empty() {
            replaced = in_line
                .iter()
                .filter(|p| p.is_active_subscription())
                .map(|p| p.id.clone())
                .collect();
            if replaced.is_empty() {
                return Err(status(
                    "Customer already has a one-time purchase in this product line",
                ));
            }
        }
    }
    Ok((price, replaced))
}

impl Core {
    /// Stack's checks of a purchase about to be paid for (nothing is written).
    pub(crate) async fn check_new_purchase(
        &self,
        project: &Project,
        new: &NewPurchase<'_>,
    ) -> Result<()> {
        let purchases = customer_purchases(&self.db.pool, &project.id, new.customer).await?;
        check_purchase(new, &purchases, now_ms()).map(|_| ())
    }

    /// One of the project's purchases.
    pub async fn purchase(&self, project: &Project, id: &str) -> Result<Option<Purchase>> {
        purchase_by_id(&self.db.pool, &project.id, id).await
    }

    /// A customer's products owned now, Stack's order (by product id; inline ones first).
    /// `client`: without the server-only ones.
    pub async fn owned_products(
        &self,
        project: &Project,
        customer: &Customer,
        client: bool,
    ) -> Result<Vec<Owned>> {
        self.require_customer(project, customer).await?;
        let now = now_ms();
        let purchases = customer_purchases(&self.db.pool, &project.id, customer).await?;
        let mut owned: BTreeMap<Option<String>, Owned> = BTreeMap::new();
        for p in purchases.iter().filter(|p| p.is_owned(now)) {
            let entry = owned.entry(p.product_id.clone()).or_insert_with(|| Owned {
                product_id: p.product_id.clone(),
                quantity: 0,
                product: p.product.clone(),
                subscription: None,
            });
            entry.quantity += p.quantity;
            if p.kind == Kind::Subscription {
                entry.product = p.product.clone();
                entry.subscription = Some(p.clone());
            }
        }
        Ok(owned
            .into_values()
            .filter(|o| o.quantity > 0 && !(client && o.product.server_only()))
            .collect())
    }

    /// The products in `line` a customer may switch to (plans with a repeating price, not
    /// add-ons; for a client, not server-only), each with only its repeating prices.
    pub fn switch_options(
        &self,
        project: &Project,
        customer: &Customer,
        line: &str,
        client: bool,
    ) -> Vec<(String, Value)> {
        catalogue(project)
            .into_iter()
            .filter(|(_, p)| {
                p.customer_type() == Some(customer.kind.as_str())
                    && p.product_line_id() == Some(line)
                    && !(client && p.server_only())
                    && p.is_subscribable()
                    && p.add_on_to().is_empty()
            })
            .map(|(id, p)| {
                (
                    id,
                    p.inline_view_with(|price| price_interval(price).is_some()),
                )
            })
            .collect()
    }

    /// Grants a product (a server's grant, or a purchase once paid): checked as Stack checks it,
    /// replacing the subscriptions it conflicts with in its product line, its included items
    /// granted, and its renewal and repeating items scheduled; all in one transaction.
    pub async fn grant_product(
        &self,
        project: &Project,
        new: NewPurchase<'_>,
        who: &Who,
    ) -> Result<Purchase> {
        self.require_customer(project, new.customer).await?;
        require_customer_type(new.product, new.product_id, new.customer)?;
        let mut tx = self.begin().await?;
        let purchase = grant_in(&mut tx, project, &new, who).await?;
        tx.commit().await?;
        Ok(purchase)
    }

    /// Cancels a customer's subscription to `product_id` (or the subscription `subscription_id`,
    /// for inline products): it runs to the end of its period, then ends, and with it the items
    /// that expire with it.
    pub async fn cancel_product(
        &self,
        project: &Project,
        customer: &Customer,
        product_id: &str,
        subscription_id: Option<&str>,
        client: bool,
        who: &Who,
    ) -> Result<()> {
        self.require_customer(project, customer).await?;
        let now = now_ms();
        if subscription_id.is_none() {
            let product = resolve_product(project, client, Some(product_id), None)?;
            require_customer_type(&product, Some(product_id), customer)?;
        }
        // A Stripe subscription is set to end with its period at Stripe before it is here.
        for p in customer_purchases(&self.db.pool, &project.id, customer).await? {
            let named = match subscription_id {
                Some(id) => p.id == id,
                None => p.product_id.as_deref() == Some(product_id),
            };
            if named && p.is_active_subscription() && p.through_stripe() {
                self.stripe_undo(project, &p, false).await?;
            }
        }
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let purchases = customer_purchases(&mut *tx, &project.id, customer).await?;
        let chosen: Vec<&Purchase> = match subscription_id {
            Some(id) => {
                let found: Vec<&Purchase> = purchases
                    .iter()
                    .filter(|p| p.id == id && p.is_active_subscription())
                    .collect();
                if found.is_empty() {
                    return Err(status(
                        "No active subscription found with this ID for the given customer.",
                    ));
                }
                found
            }
            None => {
                let owned = owned_quantities(&purchases, now);
                if !owned.get(&Some(product_id)).is_some_and(|q| *q > 0) {
                    return Err(status("Customer does not have this product."));
                }
                let found: Vec<&Purchase> = purchases
                    .iter()
                    .filter(|p| {
                        p.product_id.as_deref() == Some(product_id) && p.is_active_subscription()
                    })
                    .collect();
                if found.is_empty() {
                    return Err(status(
                        "This product is a one time purchase and cannot be canceled.",
                    ));
                }
                found
            }
        };
        for p in chosen {
            let end = p.current_period_end.unwrap_or(now);
            end_purchase(&mut tx, project, p, end, false, who).await?;
        }
        tx.commit().await
    }

    /// Moves a customer's subscription from one plan of a product line to another (`…/switch`):
    /// the old plan's items that expire with it go now, the new plan's are granted, and the
    /// period runs on.
    pub async fn switch_product(
        &self,
        project: &Project,
        customer: &Customer,
        req: &SwitchRequest,
        client: bool,
        who: &Who,
    ) -> Result<()> {
        if new_purchases_blocked(project) {
            return Err(Error::NewPurchasesBlocked);
        }
        let from = catalogue_product(project, &req.from_product_id);
        let to = catalogue_product(project, &req.to_product_id);
        let (Some(from), Some(to)) = (from, to) else {
            return Err(status("Product not found."));
        };
        if from.customer_type() != Some(customer.kind.as_str())
            || to.customer_type() != Some(customer.kind.as_str())
        {
            return Err(status("Product customer type does not match."));
        }
        if from.product_line_id().is_none() || from.product_line_id() != to.product_line_id() {
            return Err(status(
                "Products must be in the same product line to switch.",
            ));
        }
        if req.from_product_id == req.to_product_id {
            return Err(status("Product is already active."));
        }
        if !to.add_on_to().is_empty() {
            return Err(status(
                "Add-on products cannot be selected for plan switching.",
            ));
        }
        if to.is_include_by_default() {
            return Err(status(
                "Include-by-default products cannot be selected for plan switching.",
            ));
        }
        if client && to.server_only() {
            return Err(Error::ProductDoesNotExist {
                product_id: req.to_product_id.clone(),
                context: Some("server_only"),
            });
        }
        if !from.is_subscribable() {
            return Err(status("This subscription cannot be switched."));
        }
        let repeating: Vec<(&str, &Value)> = to
            .prices()
            .into_iter()
            .filter(|(_, p)| price_interval(p).is_some())
            .collect();
        let (price_id, price) = match &req.price_id {
            Some(id) => repeating.iter().find(|(p, _)| p == id).copied(),
            None => repeating.first().copied(),
        }
        .ok_or_else(|| status("Price not found for target product."))?;
        self.require_customer(project, customer).await?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let purchases = customer_purchases(&mut *tx, &project.id, customer).await?;
        let line = from.product_line_id();
        if purchases.iter().any(|p| {
            p.is_owned(now) && p.kind == Kind::OneTime && p.product.product_line_id() == line
        }) {
            return Err(status(
                "Customer already has a one-time purchase in this product line",
            ));
        }
        let existing = purchases
            .iter()
            .find(|p| {
                p.product_id.as_deref() == Some(&req.from_product_id) && p.is_active_subscription()
            })
            .ok_or_else(|| status("This subscription cannot be switched."))?;
        if existing.through_stripe() {
            return Err(status(
                "This plan is paid through Stripe: buy the new plan on the checkout, which replaces it.",
            ));
        }
        let quantity = req.quantity.unwrap_or(existing.quantity);
        if req.quantity.is_some() && quantity != 1 && !to.stackable() {
            return Err(status("This product is not stackable; quantity must be 1"));
        }
        // The old plan's items that go with it stop now; the new plan's come.
        for item in existing.product.included_items() {
            end_purchase_grants(&mut tx, project, customer, &item.item_id, &existing.id, now)
                .await?;
        }
        let interval = price_interval(price);
        let period_end = existing
            .current_period_end
            .filter(|e| *e > now)
            .or_else(|| interval.map(|i| i.after(now)));
        sqlx::query(
            "UPDATE purchases SET product_id = $1, product = $2, price_id = $3, quantity = $4, \
             current_period_end = $5 WHERE project_id = $6 AND id = $7",
        )
        .bind(&req.to_product_id)
        .bind(to.0.to_string())
        .bind(price_id)
        .bind(quantity)
        .bind(period_end)
        .bind(&project.id)
        .bind(&existing.id)
        .execute(&mut *tx)
        .await?;
        let switched = Purchase {
            product_id: Some(req.to_product_id.clone()),
            product: to.clone(),
            price_id: Some(price_id.to_string()),
            quantity,
            current_period_end: period_end,
            ..existing.clone()
        };
        record(
            &mut tx,
            &project.id,
            who,
            Change::new("purchase.updated", &existing.id, switched.event_data()),
        )
        .await?;
        grant_items(&mut tx, project, &switched, now).await?;
        tx.commit().await
    }

    /// Refunds a whole purchase (`POST /internal/payments/transactions/refund`): it ends now,
    /// the product is taken back with the items that go with it, and the refund is listed as a
    /// transaction. A test-mode purchase's refund moves no money and is recorded all the same.
    pub async fn refund_purchase(
        &self,
        project: &Project,
        req: &super::transactions::RefundRequest,
        who: &Who,
    ) -> Result<()> {
        let subscription = req.kind == "subscription";
        let missing = || match subscription {
            true => Error::SubscriptionInvoiceNotFound(req.id.clone()),
            false => Error::OneTimePurchaseNotFound(req.id.clone()),
        };
        let already = || match subscription {
            true => Error::SubscriptionAlreadyRefunded(req.id.clone()),
            false => Error::OneTimePurchaseAlreadyRefunded(req.id.clone()),
        };
        let purchase = purchase_by_id(&self.db.pool, &project.id, &req.id)
            .await?
            .filter(|p| (p.kind == Kind::Subscription) == subscription)
            .ok_or_else(missing)?;
        if purchase.refunded_at.is_some() {
            return Err(already());
        }
        if let Some(i) = req.refund_entries.iter().position(|e| e.entry_index != 0) {
            return Err(crate::validation::invalid(format!(
                "body.refund_entries[{i}].entry_index must be 0, the purchase's product grant"
            )));
        }
        let quantity: i64 = req.refund_entries.iter().map(|e| e.quantity).sum();
        if quantity != purchase.quantity {
            return Err(crate::validation::invalid(format!(
                "body.refund_entries must return the whole purchase, a quantity of {} in all: Gatehouse refunds whole purchases",
                purchase.quantity
            )));
        }
        let asked: i128 = req
            .refund_entries
            .iter()
            .filter_map(|e| minor_units(&e.amount_usd, 2))
            .sum();
        let charged = purchase
            .charged_amount()
            .get("USD")
            .and_then(|a| a.as_str().and_then(|a| minor_units(a, 2)))
            .unwrap_or(0);
        if asked > charged {
            return Err(crate::validation::invalid(
                "Refund amount cannot exceed the charged amount.",
            ));
        }
        // Bought through Stripe: Stripe returns the money before the refund is recorded.
        self.stripe_undo(project, &purchase, true).await?;
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let purchase = purchase_by_id(&mut *tx, &project.id, &req.id)
            .await?
            .ok_or_else(missing)?;
        if purchase.refunded_at.is_some() {
            return Err(already());
        }
        end_purchase(&mut tx, project, &purchase, now_ms(), true, who).await?;
        tx.commit().await
    }

    /// The purchase job (see [`PURCHASE_JOB`]): `{"purchase_id", "at", "item_id"?}`. With an
    /// item, grants that repeating item again if the purchase still runs at `at`, and schedules
    /// the next; without, renews a subscription whose period ends at `at` (test mode: Gatehouse
    /// is its own payment processor there), or lets it end.
    pub async fn run_purchase_job(&self, project_id: &str, payload: &Value) -> Result<()> {
        let Some(project) = self.project(project_id).await? else {
            return Ok(());
        };
        let (Some(id), Some(at)) = (payload["purchase_id"].as_str(), payload["at"].as_i64()) else {
            return Ok(());
        };
        let now = now_ms();
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let Some(purchase) = purchase_by_id(&mut *tx, &project.id, id).await? else {
            return Ok(());
        };
        if let Some(item_id) = payload["item_id"].as_str() {
            if !purchase.is_owned(at) {
                return tx.rollback().await;
            }
            if let Some(item) = purchase
                .product
                .included_items()
                .into_iter()
                .find(|i| i.item_id == item_id)
            {
                grant_item(&mut tx, &project, &purchase, &item, at, now).await?;
            }
            return tx.commit().await;
        }
        // A renewal: only of a subscription still running into this period's end, and only in
        // test mode or of a grant (Stripe renews its subscriptions: see `stripe`).
        if !purchase.is_active_subscription()
            || purchase.through_stripe()
            || purchase.current_period_end != Some(at)
            || purchase.refunded_at.is_some()
        {
            return tx.rollback().await;
        }
        let Some(interval) = purchase.price().as_ref().and_then(price_interval) else {
            return tx.rollback().await;
        };
        renew(&mut tx, &project, &purchase, at, interval.after(at), now).await?;
        tx.commit().await
    }
}

/// A subscription's next period, from `start` to `end`: recorded as a renewal (a transaction),
/// and its end scheduled.
pub(crate) async fn renew(
    tx: &mut Tx,
    project: &Project,
    purchase: &Purchase,
    start: i64,
    end: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE purchases SET status = 'active', current_period_start = $1, current_period_end = $2 \
         WHERE project_id = $3 AND id = $4",
    )
    .bind(start)
    .bind(end)
    .bind(&project.id)
    .bind(&purchase.id)
    .execute(&mut **tx)
    .await?;
    let renewal = new_id();
    sqlx::query(
        "INSERT INTO purchase_renewals (id, project_id, purchase_id, period_start, period_end, test_mode, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&renewal)
    .bind(&project.id)
    .bind(&purchase.id)
    .bind(start)
    .bind(end)
    .bind(purchase.test_mode as i64)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    record(
        tx,
        &project.id,
        &Who::System,
        Change::new(
            "subscription.renewed",
            &renewal,
            json!({ "purchase_id": purchase.id, "period_start_millis": start, "period_end_millis": end }),
        ),
    )
    .await?;
    schedule(tx, project, &purchase.id, end, None).await
}

/// The purchase Stripe knows as `stripe_ref` (its PaymentIntent or Subscription id).
pub(crate) async fn purchase_by_stripe_ref<'e, E>(
    db: E,
    project_id: &str,
    stripe_ref: &str,
) -> Result<Option<Purchase>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    purchase_where(db, project_id, "stripe_ref", stripe_ref).await
}

/// A receipt or a failed payment's notice, to the user who bought: `to` is (the signed-in user
/// who made the purchase URL, the customer), and a user customer is their own buyer. A team's or
/// a custom customer's purchase made by no signed-in user has no inbox to go to.
pub(crate) async fn queue_payment_email(
    tx: &mut Tx,
    public_url: &str,
    project: &Project,
    to: (Option<&str>, &Customer),
    template: &str,
    variables: Value,
) -> Result<()> {
    let (purchaser, customer) = to;
    let user_id =
        purchaser.or((customer.kind == CustomerType::User).then_some(customer.id.as_str()));
    if let Some(user_id) = user_id {
        let to = Recipient::UserPrimaryEmail {
            user_id: user_id.to_string(),
        };
        let email = NewEmail::from_template(to, template, variables);
        queue_email(tx, public_url, project, email).await?;
    }
    Ok(())
}

/// The work of a grant, in `tx`.
pub(crate) async fn grant_in(
    tx: &mut Tx,
    project: &Project,
    new: &NewPurchase<'_>,
    who: &Who,
) -> Result<Purchase> {
    let now = now_ms();
    lock_project(tx, &project.id).await?;
    let purchases = customer_purchases(&mut **tx, &project.id, new.customer).await?;
    let (price, replaced) = check_purchase(new, &purchases, now)?;
    for id in &replaced {
        if let Some(p) = purchases.iter().find(|p| &p.id == id) {
            end_purchase(tx, project, p, now, false, who).await?;
            if p.through_stripe() {
                // Stripe stops billing the replaced plan (after this commits; see `stripe`).
                let job = NewJob::new(
                    super::stripe::STRIPE_END_JOB,
                    Some(&project.id),
                    json!({ "purchase_id": p.id }),
                );
                enqueue(tx, job).await?;
            }
        }
    }
    let interval = price.as_ref().and_then(|(_, p)| price_interval(p));
    let trial = price
        .as_ref()
        .and_then(|(_, p)| Interval::parse(&p["freeTrial"]))
        .or_else(|| Interval::parse(&new.product.0["freeTrial"]));
    let (kind, status, period_end) = match interval {
        Some(i) => match trial {
            Some(t) => (Kind::Subscription, "trialing", Some(t.after(now))),
            None => (Kind::Subscription, "active", Some(i.after(now))),
        },
        None => (Kind::OneTime, "active", None),
    };
    let purchase = Purchase {
        id: new_id(),
        customer: new.customer.clone(),
        product_id: new.product_id.map(str::to_string),
        price_id: price.map(|(id, _)| id),
        product: new.product.clone(),
        quantity: new.quantity,
        kind,
        status: status.into(),
        source: new.source.as_str().into(),
        test_mode: new.source == Source::TestMode,
        current_period_start: period_end.map(|_| now),
        current_period_end: period_end,
        cancel_at_period_end: false,
        ended_at: None,
        refunded_at: None,
        created_at: now,
    };
    record(
        tx,
        &project.id,
        who,
        Change::new("purchase.created", &purchase.id, purchase.event_data()),
    )
    .await?;
    sqlx::query(&format!(
        "INSERT INTO purchases ({PURCHASE_COLUMNS}, project_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    ))
    .bind(&purchase.id)
    .bind(purchase.customer.kind.as_str())
    .bind(&purchase.customer.id)
    .bind(&purchase.product_id)
    .bind(&purchase.price_id)
    .bind(purchase.product.0.to_string())
    .bind(purchase.quantity)
    .bind(if kind == Kind::Subscription {
        "subscription"
    } else {
        "one_time"
    })
    .bind(&purchase.status)
    .bind(&purchase.source)
    .bind(purchase.test_mode as i64)
    .bind(purchase.current_period_start)
    .bind(purchase.current_period_end)
    .bind(0i64)
    .bind(None::<i64>)
    .bind(None::<i64>)
    .bind(now)
    .bind(&project.id)
    .execute(&mut **tx)
    .await?;
    grant_items(tx, project, &purchase, now).await?;
    if let Some(end) = purchase.current_period_end {
        schedule(tx, project, &purchase.id, end, None).await?;
    }
    Ok(purchase)
}

impl Purchase {
    fn event_data(&self) -> Value {
        json!({
            "customer_type": self.customer.kind.as_str(),
            "customer_id": self.customer.id,
            "product_id": self.product_id,
            "price_id": self.price_id,
            "quantity": self.quantity,
            "type": if self.kind == Kind::Subscription { "subscription" } else { "one_time" },
            "status": self.status,
            "test_mode": self.test_mode,
            "current_period_end_millis": self.current_period_end,
            "ended_at_millis": self.ended_at,
            "refunded_at_millis": self.refunded_at,
        })
    }
}

/// Grants `purchase`'s included items as of now, and schedules those that repeat.
async fn grant_items(tx: &mut Tx, project: &Project, purchase: &Purchase, now: i64) -> Result<()> {
    for item in purchase.product.included_items() {
        grant_item(tx, project, purchase, &item, now, now).await?;
    }
    Ok(())
}

/// One grant of an included item, due at `at`; the next scheduled when it repeats.
async fn grant_item(
    tx: &mut Tx,
    project: &Project,
    purchase: &Purchase,
    item: &IncludedItem,
    at: i64,
    now: i64,
) -> Result<()> {
    let quantity = item.quantity.saturating_mul(purchase.quantity);
    let next = item.repeat.filter(|r| r.count > 0).map(|r| r.after(at));
    let expires_at = match item.expires.as_str() {
        "when-repeated" => next,
        "when-purchase-expires" => purchase.ended_at,
        _ => None,
    };
    if quantity != 0 {
        let id = new_id();
        let description = format!("{} ({})", purchase.product.display_name(), item.item_id);
        grant_included(
            tx,
            project,
            &purchase.customer,
            LedgerEntry {
                id: &id,
                item_id: &item.item_id,
                quantity,
                expires_at,
                description: Some(&description),
                purchase: Some(&purchase.id),
                ends_with_purchase: item.expires == "when-purchase-expires",
            },
            now,
        )
        .await?;
    }
    if let Some(next) = next {
        schedule(tx, project, &purchase.id, next, Some(&item.item_id)).await?;
    }
    Ok(())
}

async fn schedule(
    tx: &mut Tx,
    project: &Project,
    purchase_id: &str,
    at: i64,
    item_id: Option<&str>,
) -> Result<()> {
    let mut job = NewJob::new(
        PURCHASE_JOB,
        Some(&project.id),
        json!({ "purchase_id": purchase_id, "at": at, "item_id": item_id }),
    );
    job.run_at = Some(at);
    enqueue(tx, job).await?;
    Ok(())
}

/// Ends `purchase` at `at` (a cancellation runs to the end of the period; a replaced plan ends
/// now): it stops renewing, and the items that expire with it stop counting then.
pub(crate) async fn end_purchase(
    tx: &mut Tx,
    project: &Project,
    purchase: &Purchase,
    at: i64,
    refunded: bool,
    who: &Who,
) -> Result<()> {
    let refunded_at = refunded.then_some(at);
    sqlx::query(
        "UPDATE purchases SET status = 'canceled', cancel_at_period_end = 1, ended_at = $1, \
         refunded_at = COALESCE($2, refunded_at) WHERE project_id = $3 AND id = $4",
    )
    .bind(at)
    .bind(refunded_at)
    .bind(&project.id)
    .bind(&purchase.id)
    .execute(&mut **tx)
    .await?;
    let ended = Purchase {
        status: "canceled".into(),
        cancel_at_period_end: true,
        ended_at: Some(at),
        refunded_at: refunded_at.or(purchase.refunded_at),
        ..purchase.clone()
    };
    record(
        tx,
        &project.id,
        who,
        Change::new("purchase.updated", &purchase.id, ended.event_data()),
    )
    .await?;
    for item in purchase.product.included_items() {
        if item.expires == "when-purchase-expires" {
            end_purchase_grants(
                tx,
                project,
                &purchase.customer,
                &item.item_id,
                &purchase.id,
                at,
            )
            .await?;
        }
    }
    Ok(())
}
