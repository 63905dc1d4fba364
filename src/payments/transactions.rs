//! Transactions, as Stack lists them to admins (`/internal/payments/transactions`): purchases,
//! subscription renewals and item quantities changed by hand, newest first, each in Stack's
//! shape (entries: a product grant, the money it moved, an item change). They are read from the
//! records the changes wrote (purchases, renewals, the items ledger), not kept twice.

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::products::Purchase;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::validation::{string, Input, Shape};
use crate::Core;

pub const TYPES: [&str; 7] = [
    "purchase",
    "subscription-cancellation",
    "subscription-renewal",
    "manual-item-quantity-change",
    "refund",
    "chargeback",
    "product-change",
];

/// The list's query.
#[derive(Deserialize, Default)]
pub struct TransactionQuery {
    pub cursor: Option<String>,
    pub limit: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub customer_type: Option<String>,
}

impl Input for TransactionQuery {
    fn shape(_: bool) -> Shape {
        let types: Vec<Value> = TYPES.iter().map(|t| json!(t)).collect();
        Shape::new()
            .field("cursor", string())
            .field("limit", string())
            .field("type", string().one_of(&types))
            .field(
                "customer_type",
                string().one_of(&[json!("user"), json!("team"), json!("custom")]),
            )
    }
}

/// Parses a page size given as text (Stack's `limit` query): 1 to 100, 10 when absent.
pub fn page_limit(limit: Option<&str>) -> Result<usize> {
    match limit {
        None => Ok(10),
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                crate::validation::invalid("query.limit must be a whole number from 1 to 100")
            }),
    }
}

fn invalid_cursor() -> Error {
    Error::Status(400, "Invalid cursor".into())
}

fn money_transfer(p: &Purchase, charged: serde_json::Map<String, Value>) -> Option<Value> {
    if charged.is_empty() {
        return None;
    }
    let net = charged.get("USD").cloned().unwrap_or(json!("0"));
    Some(json!({
        "type": "money_transfer",
        "adjusted_transaction_id": null,
        "adjusted_entry_index": null,
        "customer_type": p.customer.kind.as_str(),
        "customer_id": p.customer.id,
        "charged_amount": charged,
        "net_amount": { "USD": net },
    }))
}

/// A purchase as Stack's `purchase` transaction: the product granted, and the money it moved
/// when a payment processor moved some (test mode and grants move none).
pub fn purchase_transaction(p: &Purchase) -> Value {
    let mut grant = json!({
        "type": "product_grant",
        "adjusted_transaction_id": null,
        "adjusted_entry_index": null,
        "customer_type": p.customer.kind.as_str(),
        "customer_id": p.customer.id,
        "product_id": p.product_id,
        "product": p.product.inline_view(),
        "price_id": p.price_id,
        "quantity": p.quantity,
    });
    let reference = match p.kind {
        super::products::Kind::Subscription => "subscription_id",
        super::products::Kind::OneTime => "one_time_purchase_id",
    };
    grant[reference] = json!(p.id);
    let mut entries = vec![grant];
    if p.source == "PURCHASE_PAGE" {
        entries.extend(money_transfer(p, p.charged_amount()));
    }
    json!({
        "id": p.id,
        "created_at_millis": p.created_at,
        "effective_at_millis": p.created_at,
        "type": "purchase",
        "customer_type": p.customer.kind.as_str(),
        "customer_id": p.customer.id,
        "entries": entries,
        "adjusted_by": match p.refunded_at {
            Some(_) => json!([{ "transaction_id": format!("{}:refund", p.id), "entry_index": 0 }]),
            None => json!([]),
        },
        "test_mode": p.test_mode,
    })
}

impl Core {
    /// A page of the project's transactions, newest first, and the cursor of the next page.
    pub async fn transactions(
        &self,
        project: &Project,
        q: &TransactionQuery,
    ) -> Result<(Vec<Value>, Option<String>)> {
        let limit = page_limit(q.limit.as_deref())?;
        let after = match &q.cursor {
            None => None,
            Some(c) => {
                let (at, id) = c.split_once('.').ok_or_else(invalid_cursor)?;
                Some((
                    at.parse::<i64>().map_err(|_| invalid_cursor())?,
                    id.to_string(),
                ))
            }
        };
        let kinds = [
            (
                "purchase",
                "SELECT 'purchase' AS kind, id, created_at, customer_type FROM purchases WHERE project_id = $1",
            ),
            (
                "subscription-renewal",
                "SELECT 'subscription-renewal' AS kind, r.id, r.created_at, p.customer_type FROM purchase_renewals r \
                 JOIN purchases p ON p.id = r.purchase_id WHERE r.project_id = $1",
            ),
            (
                "refund",
                "SELECT 'refund' AS kind, id || ':refund' AS id, refunded_at AS created_at, customer_type FROM purchases \
                 WHERE project_id = $1 AND refunded_at IS NOT NULL",
            ),
            (
                "manual-item-quantity-change",
                "SELECT 'manual-item-quantity-change' AS kind, id, created_at, customer_type FROM item_quantity_changes \
                 WHERE project_id = $1 AND purchase_id IS NULL",
            ),
        ];
        let parts: Vec<&str> = kinds
            .iter()
            .filter(|(k, _)| q.kind.as_deref().is_none_or(|t| t == *k))
            .map(|(_, sql)| *sql)
            .collect();
        if parts.is_empty() {
            return Ok((vec![], None));
        }
        let mut sql = format!(
            "SELECT kind, id, created_at FROM ({}) t WHERE 1 = 1",
            parts.join(" UNION ALL ")
        );
        let mut n = 1;
        if q.customer_type.is_some() {
            n += 1;
            sql.push_str(&format!(" AND customer_type = ${n}"));
        }
        if after.is_some() {
            sql.push_str(&format!(
                " AND (created_at < ${} OR (created_at = ${} AND id < ${}))",
                n + 1,
                n + 1,
                n + 2
            ));
            n += 2;
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT ${}",
            n + 1
        ));
        let mut query = sqlx::query(&sql).bind(&project.id);
        if let Some(t) = &q.customer_type {
            query = query.bind(t);
        }
        if let Some((at, id)) = &after {
            query = query.bind(*at).bind(id);
        }
        let rows = query
            .bind(limit as i64 + 1)
            .fetch_all(&self.db.pool)
            .await?;
        let mut out = Vec::new();
        let mut last = None;
        for row in rows.iter().take(limit) {
            let kind: String = row.try_get("kind")?;
            let id: String = row.try_get("id")?;
            let at: i64 = row.try_get("created_at")?;
            if let Some(t) = self.transaction(project, &kind, &id).await? {
                out.push(t);
            }
            last = Some(format!("{at}.{id}"));
        }
        let next = if rows.len() > limit { last } else { None };
        Ok((out, next))
    }

    async fn transaction(&self, project: &Project, kind: &str, id: &str) -> Result<Option<Value>> {
        match kind {
            "purchase" => Ok(self
                .purchase(project, id)
                .await?
                .map(|p| purchase_transaction(&p))),
            "refund" => {
                let purchase_id = id.trim_end_matches(":refund");
                Ok(self.purchase(project, purchase_id).await?.and_then(|p| {
                    let at = p.refunded_at?;
                    Some(refund_transaction(&p, at))
                }))
            }
            "subscription-renewal" => {
                let Some(row) = sqlx::query(
                    "SELECT purchase_id, test_mode, created_at FROM purchase_renewals WHERE project_id = $1 AND id = $2",
                )
                .bind(&project.id)
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
                else {
                    return Ok(None);
                };
                let purchase_id: String = row.try_get("purchase_id")?;
                let test_mode = row.try_get::<i64, _>("test_mode")? != 0;
                let at: i64 = row.try_get("created_at")?;
                let Some(p) = self.purchase(project, &purchase_id).await? else {
                    return Ok(None);
                };
                let entries: Vec<Value> = if test_mode {
                    vec![]
                } else {
                    money_transfer(&p, p.charged_amount()).into_iter().collect()
                };
                Ok(Some(json!({
                    "id": id,
                    "created_at_millis": at,
                    "effective_at_millis": at,
                    "type": "subscription-renewal",
                    "customer_type": p.customer.kind.as_str(),
                    "customer_id": p.customer.id,
                    "entries": entries,
                    "adjusted_by": [],
                    "test_mode": test_mode,
                })))
            }
            _ => {
                let Some(row) = sqlx::query(
                    "SELECT customer_type, customer_id, item_id, quantity, created_at FROM item_quantity_changes \
                     WHERE project_id = $1 AND id = $2",
                )
                .bind(&project.id)
                .bind(id)
                .fetch_optional(&self.db.pool)
                .await?
                else {
                    return Ok(None);
                };
                let at: i64 = row.try_get("created_at")?;
                let customer_type: String = row.try_get("customer_type")?;
                let customer_id: String = row.try_get("customer_id")?;
                Ok(Some(json!({
                    "id": id,
                    "created_at_millis": at,
                    "effective_at_millis": at,
                    "type": "manual-item-quantity-change",
                    "customer_type": customer_type,
                    "customer_id": customer_id,
                    "entries": [{
                        "type": "item_quantity_change",
                        "adjusted_transaction_id": null,
                        "adjusted_entry_index": null,
                        "customer_type": customer_type,
                        "customer_id": customer_id,
                        "item_id": row.try_get::<String, _>("item_id")?,
                        "quantity": row.try_get::<i64, _>("quantity")?,
                    }],
                    "adjusted_by": [],
                    "test_mode": false,
                })))
            }
        }
    }
}

/// `POST /internal/payments/transactions/refund`'s body, as Stack's.
#[derive(Deserialize)]
pub struct RefundRequest {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub refund_entries: Vec<RefundEntry>,
}

#[derive(Deserialize)]
pub struct RefundEntry {
    pub entry_index: i64,
    pub quantity: i64,
    pub amount_usd: String,
}

impl Input for RefundRequest {
    fn shape(_: bool) -> Shape {
        use crate::validation::{array, integer, nested};
        Shape::new()
            .field(
                "type",
                string()
                    .one_of(&[json!("subscription"), json!("one-time-purchase")])
                    .defined(),
            )
            .field("id", string().defined())
            .field(
                "refund_entries",
                array(nested(
                    Shape::new()
                        .field("entry_index", integer().defined())
                        .field("quantity", integer().defined())
                        .field("amount_usd", string().custom(usd_amount).defined()),
                ))
                .defined(),
            )
    }
}

fn usd_amount(at: &str, v: &Value) -> Option<String> {
    let text = v.as_str()?;
    super::product::minor_units(text, 2)
        .is_none()
        .then(|| format!("{at} must be an amount in US dollars, such as 9 or 9.99"))
}

/// A refund as Stack's `refund` transaction: the product taken back, and the money returned
/// when a payment processor moved some.
pub fn refund_transaction(p: &Purchase, refunded_at: i64) -> Value {
    let mut entries = vec![json!({
        "type": "product_revocation",
        "adjusted_transaction_id": p.id,
        "adjusted_entry_index": 0,
        "quantity": p.quantity,
    })];
    if p.source == "PURCHASE_PAGE" {
        let mut returned = serde_json::Map::new();
        for (code, amount) in p.charged_amount() {
            let text = amount.as_str().unwrap_or("0");
            returned.insert(code, json!(format!("-{text}")));
        }
        entries.extend(money_transfer(p, returned));
    }
    json!({
        "id": format!("{}:refund", p.id),
        "created_at_millis": refunded_at,
        "effective_at_millis": refunded_at,
        "type": "refund",
        "customer_type": p.customer.kind.as_str(),
        "customer_id": p.customer.id,
        "entries": entries,
        "adjusted_by": [],
        "test_mode": p.test_mode,
    })
}
