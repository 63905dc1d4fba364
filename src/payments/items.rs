//! Items: what a customer holds a quantity of (credits, seats, quotas). Every change of a
//! quantity is a row of the ledger `item_quantity_changes`; a quantity is what the ledger adds up
//! to now, read as Stack reads it: a positive change is a grant (which may expire), a negative
//! one uses up the grants that expire soonest first, and what it takes beyond them is owed and
//! paid back first by the next grant. A grant that expires takes with it only what is left of it.
//!
//! The ledger is the history; what it adds up to is kept beside it, per customer and item, in
//! `item_balances` (the grants still open with their expiries, and what is owed), updated with
//! each change, so a read or a use costs the same however long the history grows. A change is
//! checked and written in one transaction that holds the project's change lock from the start
//! (its event is recorded first), so concurrent decrements never overdraw, on either database.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Customer;
use crate::error::{Error, Result};
use crate::events::{record, Change, Tx, Who};
use crate::projects::Project;
use crate::validation::{integer, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// The largest change one request may make: JavaScript's largest safe integer, as Stack's SDK
/// sends numbers.
pub const MAX_DELTA: i64 = 9_007_199_254_740_991;

/// An item as a customer holds it.
pub struct Item {
    pub id: String,
    pub display_name: String,
    pub quantity: i64,
}

impl Item {
    pub fn view(&self) -> Value {
        json!({ "id": self.id, "display_name": self.display_name, "quantity": self.quantity })
    }
}

/// `POST …/update-quantity`'s body.
#[derive(Deserialize)]
pub struct QuantityChange {
    pub delta: i64,
    pub expires_at: Option<String>,
    pub description: Option<String>,
}

impl Input for QuantityChange {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field(
                "delta",
                integer()
                    .min(-(MAX_DELTA as f64))
                    .max(MAX_DELTA as f64)
                    .defined(),
            )
            .field("expires_at", string().custom(iso_date))
            .field("description", string().max_chars(10_000))
    }
}

fn iso_date(at: &str, v: &Value) -> Option<String> {
    let text = v.as_str()?;
    parse_time(text)
        .is_none()
        .then(|| format!("{at} must be a date and time in ISO 8601 (2030-12-31T23:59:59Z)"))
}

fn parse_time(text: &str) -> Option<i64> {
    let t =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// An item of the catalogue (`payments.items.<id>` in the config tree).
pub struct CatalogueItem {
    pub id: String,
    /// The item's id when it has no name.
    pub display_name: String,
    /// Who may hold it (`user`, `team`, `custom`).
    pub customer_type: Option<String>,
}

/// The project's items, in the config tree's order.
pub fn catalogue(project: &Project) -> Vec<CatalogueItem> {
    project
        .config
        .tree
        .pointer("/payments/items")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, item)| item.is_object())
        .map(|(id, item)| CatalogueItem {
            id: id.clone(),
            display_name: item["displayName"].as_str().unwrap_or(id).to_string(),
            customer_type: item["customerType"].as_str().map(str::to_string),
        })
        .collect()
}

/// The item `item_id` of the catalogue, for `customer`: its display name, once the customer
/// type matches the item's (`ITEM_NOT_FOUND`, `ITEM_CUSTOMER_TYPE_DOES_NOT_MATCH`).
fn catalogue_item(project: &Project, customer: &Customer, item_id: &str) -> Result<String> {
    let item = catalogue(project)
        .into_iter()
        .find(|i| i.id == item_id)
        .ok_or_else(|| Error::ItemNotFound(item_id.into()))?;
    if item.customer_type.as_deref() != Some(customer.kind.as_str()) {
        return Err(Error::ItemCustomerTypeDoesNotMatch {
            item_id: item_id.into(),
            customer_id: customer.id.clone(),
            item_customer_type: item.customer_type,
            actual_customer_type: customer.kind.as_str().into(),
        });
    }
    Ok(item.display_name)
}

/// What a customer's ledger of one item adds up to (see the module's comment): the grants still
/// open, as (quantity left, expiry, the purchase that granted it), and what is owed (zero or
/// less).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    grants: Vec<(i64, Option<i64>, Option<String>)>,
    debt: i64,
}

impl Balance {
    fn expire(&mut self, t: i64) {
        self.grants.retain(|(_, e, _)| e.is_none_or(|e| e > t));
    }

    /// The balance after a change of `quantity` made at `at` (a grant of `purchase`'s, when it
    /// says so).
    fn apply(&mut self, quantity: i64, expires_at: Option<i64>, purchase: Option<&str>, at: i64) {
        self.expire(at);
        if quantity > 0 {
            let left = quantity.saturating_add(self.debt);
            self.debt = left.min(0);
            if left > 0 {
                self.grants
                    .push((left, expires_at, purchase.map(str::to_string)));
            }
        } else if quantity < 0 {
            // Soonest expiry first, those that never expire last (those of a purchase, which go
            // when it ends, before those that stay).
            let mut owed = quantity.saturating_neg();
            self.grants
                .sort_by_key(|(_, e, p)| (e.is_none(), e.unwrap_or(0), p.is_none()));
            for g in self.grants.iter_mut() {
                let take = g.0.min(owed);
                g.0 -= take;
                owed -= take;
                if owed == 0 {
                    break;
                }
            }
            self.grants.retain(|(q, _, _)| *q > 0);
            self.debt = self.debt.saturating_sub(owed);
        }
    }

    /// What is left of `purchase`'s grants stops counting at `at` (the purchase ends then).
    fn end_purchase(&mut self, purchase: &str, at: i64) {
        for g in self.grants.iter_mut() {
            if g.2.as_deref() == Some(purchase) {
                g.1 = Some(g.1.map_or(at, |e| e.min(at)));
            }
        }
    }

    /// The quantity at `now`.
    pub fn at(&self, now: i64) -> i64 {
        self.grants
            .iter()
            .filter(|(_, e, _)| e.is_none_or(|e| e > now))
            .fold(self.debt, |sum, (q, _, _)| sum.saturating_add(*q))
    }

    fn read(state: Option<&str>) -> Balance {
        state
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }
}

/// A customer's balance of an item, as last stored (through the pool, or in a transaction).
async fn stored_balance<'e, E>(
    db: E,
    project: &Project,
    customer: &Customer,
    item_id: &str,
) -> Result<Balance>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let state: Option<(String,)> = sqlx::query_as(
        "SELECT state FROM item_balances \
         WHERE project_id = $1 AND customer_type = $2 AND customer_id = $3 AND item_id = $4",
    )
    .bind(&project.id)
    .bind(customer.kind.as_str())
    .bind(&customer.id)
    .bind(item_id)
    .fetch_optional(db)
    .await?;
    Ok(Balance::read(state.as_ref().map(|(s,)| s.as_str())))
}

impl Core {
    /// `customer`'s quantity of `item_id` now.
    pub async fn item(
        &self,
        project: &Project,
        customer: &Customer,
        item_id: &str,
    ) -> Result<Item> {
        let display_name = catalogue_item(project, customer, item_id)?;
        self.require_customer(project, customer).await?;
        let balance = stored_balance(&self.db.pool, project, customer, item_id).await?;
        Ok(Item {
            id: item_id.into(),
            display_name,
            quantity: balance.at(now_ms()),
        })
    }

    /// Changes `customer`'s quantity of `item_id` by `change.delta`; unless `allow_negative`, a
    /// change that would leave less than zero is refused (`ITEM_QUANTITY_INSUFFICIENT_AMOUNT`)
    /// and nothing is written.
    pub async fn change_item_quantity(
        &self,
        project: &Project,
        customer: &Customer,
        item_id: &str,
        change: QuantityChange,
        allow_negative: bool,
        who: &Who,
    ) -> Result<()> {
        catalogue_item(project, customer, item_id)?;
        self.require_customer(project, customer).await?;
        let expires_at = change.expires_at.as_deref().and_then(parse_time);
        let id = new_id();
        let now = now_ms();
        let mut tx = self.begin().await?;
        // The event first: recording takes the project's change lock, which the read below
        // then holds until the write commits.
        record(
            &mut tx,
            &project.id,
            who,
            Change::new(
                "item_quantity_change.created",
                &id,
                json!({
                    "customer_type": customer.kind.as_str(),
                    "customer_id": customer.id,
                    "item_id": item_id,
                    "quantity": change.delta,
                    "expires_at_millis": expires_at,
                    "description": change.description,
                }),
            ),
        )
        .await?;
        let balance = stored_balance(&mut *tx, project, customer, item_id).await?;
        if !allow_negative && change.delta < 0 && balance.at(now).saturating_add(change.delta) < 0 {
            return Err(Error::ItemQuantityInsufficientAmount {
                item_id: item_id.into(),
                customer_id: customer.id.clone(),
                quantity: change.delta,
            });
        }
        let entry = LedgerEntry {
            id: &id,
            item_id,
            quantity: change.delta,
            expires_at,
            description: change.description.as_deref(),
            purchase: None,
            ends_with_purchase: false,
        };
        write_ledger(&mut tx, project, customer, balance, entry, now).await?;
        tx.commit().await
    }
}

/// One row of the ledger.
pub(crate) struct LedgerEntry<'a> {
    pub id: &'a str,
    pub item_id: &'a str,
    pub quantity: i64,
    pub expires_at: Option<i64>,
    pub description: Option<&'a str>,
    /// The purchase whose included items this grant is.
    pub purchase: Option<&'a str>,
    /// Whether what is left of it goes when that purchase ends.
    pub ends_with_purchase: bool,
}

/// Writes `entry` to the ledger and `balance` (the customer's, read in `tx`) with it applied.
async fn write_ledger(
    tx: &mut Tx,
    project: &Project,
    customer: &Customer,
    mut balance: Balance,
    entry: LedgerEntry<'_>,
    now: i64,
) -> Result<()> {
    let tag = entry.purchase.filter(|_| entry.ends_with_purchase);
    balance.apply(entry.quantity, entry.expires_at, tag, now);
    store_balance(tx, project, customer, entry.item_id, &balance).await?;
    sqlx::query(
        "INSERT INTO item_quantity_changes \
         (id, project_id, customer_type, customer_id, item_id, quantity, description, expires_at, purchase_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.id)
    .bind(&project.id)
    .bind(customer.kind.as_str())
    .bind(&customer.id)
    .bind(entry.item_id)
    .bind(entry.quantity)
    .bind(entry.description)
    .bind(entry.expires_at)
    .bind(entry.purchase)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn store_balance(
    tx: &mut Tx,
    project: &Project,
    customer: &Customer,
    item_id: &str,
    balance: &Balance,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO item_balances (project_id, customer_type, customer_id, item_id, state) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, customer_type, customer_id, item_id) \
         DO UPDATE SET state = excluded.state",
    )
    .bind(&project.id)
    .bind(customer.kind.as_str())
    .bind(&customer.id)
    .bind(item_id)
    .bind(serde_json::to_string(balance).map_err(Error::internal)?)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A grant of a purchase's included item, in the purchase's transaction (which holds the
/// project's change lock): recorded as an item change like any other.
pub(crate) async fn grant_included(
    tx: &mut Tx,
    project: &Project,
    customer: &Customer,
    entry: LedgerEntry<'_>,
    now: i64,
) -> Result<()> {
    record(
        tx,
        &project.id,
        &Who::System,
        Change::new(
            "item_quantity_change.created",
            entry.id,
            json!({
                "customer_type": customer.kind.as_str(),
                "customer_id": customer.id,
                "item_id": entry.item_id,
                "quantity": entry.quantity,
                "expires_at_millis": entry.expires_at,
                "description": entry.description,
                "purchase_id": entry.purchase,
            }),
        ),
    )
    .await?;
    let balance = stored_balance(&mut **tx, project, customer, entry.item_id).await?;
    write_ledger(tx, project, customer, balance, entry, now).await
}

/// What is left of `purchase`'s grants of `item_id` stops counting at `at`.
pub(crate) async fn end_purchase_grants(
    tx: &mut Tx,
    project: &Project,
    customer: &Customer,
    item_id: &str,
    purchase: &str,
    at: i64,
) -> Result<()> {
    let mut balance = stored_balance(&mut **tx, project, customer, item_id).await?;
    balance.end_purchase(purchase, at);
    store_balance(tx, project, customer, item_id, &balance).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The balance after `changes` (quantity, expiry, made at), read at `now`, after a trip
    /// through its stored form as each change would make it.
    fn quantity_at(changes: &[(i64, Option<i64>, i64)], now: i64) -> i64 {
        let mut b = Balance::default();
        for &(q, e, at) in changes {
            b.apply(q, e, None, at);
            b = Balance::read(Some(&serde_json::to_string(&b).unwrap()));
        }
        b.at(now)
    }

    #[test]
    fn grants_add_up_and_uses_take_from_what_expires_soonest() {
        let changes = [(100, None, 1), (50, Some(100), 2), (-30, None, 3)];
        assert_eq!(quantity_at(&changes, 50), 120);
        // The expiring grant paid for the use: 20 of it were left, and go.
        assert_eq!(quantity_at(&changes, 100), 100);
    }

    #[test]
    fn what_is_owed_is_paid_back_by_the_next_grant_and_expiry_takes_only_what_is_left() {
        let changes = [(-10, None, 1), (25, Some(50), 2)];
        assert_eq!(quantity_at(&changes, 10), 15);
        // The grant paid the 10 owed first; the 15 left of it expire.
        assert_eq!(quantity_at(&changes, 50), 0);
        assert_eq!(quantity_at(&[(5, None, 1), (-8, None, 2)], 3), -3);
    }

    #[test]
    fn a_grant_that_expired_before_a_use_does_not_pay_for_it() {
        assert_eq!(quantity_at(&[(10, Some(5), 1), (-4, None, 6)], 7), -4);
    }

    #[test]
    fn a_purchase_that_ends_takes_what_is_left_of_its_grants() {
        let mut b = Balance::default();
        b.apply(10, None, Some("p1"), 1);
        b.apply(5, None, None, 2);
        b.apply(-3, None, None, 3);
        b.end_purchase("p1", 10);
        assert_eq!(b.at(9), 12);
        // The use took from p1's grant (listed first among those that never expire): 7 go.
        assert_eq!(b.at(10), 5);
    }

    #[test]
    fn a_missing_or_unreadable_state_is_an_empty_balance() {
        assert_eq!(Balance::read(None), Balance::default());
        assert_eq!(Balance::read(Some("not json")).at(0), 0);
    }
}
