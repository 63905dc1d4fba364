//! Products: what a customer buys or is granted (a plan, a pack of credits). The catalogue is
//! the config tree's `payments.products` (and `productLines`, groups of products a customer holds
//! at most one of); an app's server may also grant a product defined inline. Each purchase is a
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
use super::{Customer, CustomerType};
use crate::config::schema::is_user_id;
use crate::db::json_column;
use crate::error::{Error, Result};
use crate::events::{lock_project, record, Change, Tx, Who};
use crate::jobs::{enqueue, NewJob};
use crate::projects::Project;
use crate::validation::{integer, object, string, Input, Shape};
use crate::{new_id, now_ms, Core};

/// The job that renews a subscription at the end of its period and grants its repeating items.
pub const PURCHASE_JOB: &str = "payments.purchase";

/// Currencies a price may name, with their decimals (as Stack's).
pub const CURRENCIES: [(&str, u32); 7] = [
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("JPY", 0),
    ("INR", 2),
    ("AUD", 2),
    ("CAD", 2),
];

/// `[count, unit]`, Stack's day interval (`[1, "month"]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    pub count: i64,
    pub unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
    Year,
}

impl Interval {
    pub fn parse(v: &Value) -> Option<Interval> {
        let [count, unit] = v.as_array()?.as_slice() else {
            return None;
        };
        let count = count.as_i64().filter(|c| *c >= 0)?;
        let unit = match unit.as_str()? {
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "year" => Unit::Year,
            _ => return None,
        };
        Some(Interval { count, unit })
    }

    /// `at` (epoch ms) one interval later; months and years by the calendar (31 January plus a
    /// month is the end of February). Saturates far in the future.
    pub fn after(self, at: i64) -> i64 {
        const DAY: i64 = 86_400_000;
        match self.unit {
            Unit::Day => at.saturating_add(self.count.saturating_mul(DAY)),
            Unit::Week => at.saturating_add(self.count.saturating_mul(7 * DAY)),
            Unit::Month => add_months(at, self.count),
            Unit::Year => add_months(at, self.count.saturating_mul(12)),
        }
    }

    /// "month", "3 months".
    pub fn describe(self) -> String {
        let unit = match self.unit {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
            Unit::Year => "year",
        };
        if self.count == 1 {
            unit.into()
        } else {
            format!("{} {unit}s", self.count)
        }
    }
}

fn add_months(at: i64, months: i64) -> i64 {
    let far = i64::MAX / 2;
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(at as i128 * 1_000_000) else {
        return far;
    };
    let total = t.year() as i64 * 12 + (t.month() as i64 - 1) + months.min(12 * 10_000);
    let Ok(year) = i32::try_from(total.div_euclid(12)) else {
        return far;
    };
    let Ok(month) = time::Month::try_from((total.rem_euclid(12) + 1) as u8) else {
        return far;
    };
    let day = t.day().min(month.length(year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => (t.replace_date(date).unix_timestamp_nanos() / 1_000_000) as i64,
        Err(_) => far,
    }
}

/// A money amount in a currency's smallest unit, from Stack's text form (`"9.99"`).
pub fn minor_units(amount: &str, decimals: u32) -> Option<i128> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > decimals as usize
        || (amount.contains('.') && frac.is_empty())
        || whole.len() > 20
    {
        return None;
    }
    let frac = format!("{frac:0<width$}", width = decimals as usize);
    format!("{whole}{frac}").parse().ok()
}

/// Stack's text form of an amount in minor units (`999` → `"9.99"`, no trailing zeros).
pub fn money_text(units: i128, decimals: u32) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let digits = format!(
        "{:0>width$}",
        units.unsigned_abs(),
        width = decimals as usize + 1
    );
    let (whole, frac) = digits.split_at(digits.len() - decimals as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// A product, in the config tree's form (`payments.products.<id>`): the catalogue's, or an
/// inline product turned into that form. Read through its accessors, which apply Stack's
/// defaults to whatever the tree holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Product(pub Value);

/// One of a product's items: how many, and when again.
pub struct IncludedItem {
    pub item_id: String,
    pub quantity: i64,
    pub repeat: Option<Interval>,
    /// `never`, `when-purchase-expires`, `when-repeated`.
    pub expires: String,
}

impl Product {
    pub fn display_name(&self) -> &str {
        self.0["displayName"].as_str().unwrap_or("Product")
    }

    pub fn customer_type(&self) -> Option<&str> {
        self.0["customerType"].as_str()
    }

    pub fn product_line_id(&self) -> Option<&str> {
        self.0["productLineId"].as_str()
    }

    pub fn server_only(&self) -> bool {
        self.0["serverOnly"] == json!(true)
    }

    pub fn stackable(&self) -> bool {
        self.0["stackable"] == json!(true)
    }

    /// The products this one is an add-on to.
    pub fn add_on_to(&self) -> Vec<&str> {
        self.0["isAddOnTo"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| **v == json!(true))
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Its prices in the tree's order; none for an `include-by-default` product.
    pub fn prices(&self) -> Vec<(&str, &Value)> {
        self.0["prices"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, p)| p.is_object())
                    .map(|(k, p)| (k.as_str(), p))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_include_by_default(&self) -> bool {
        self.0["prices"] == json!("include-by-default")
    }

    /// Whether it has a price that repeats (a subscription).
    pub fn is_subscribable(&self) -> bool {
        self.prices()
            .iter()
            .any(|(_, p)| price_interval(p).is_some())
    }

    pub fn included_items(&self) -> Vec<IncludedItem> {
        self.0["includedItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, item)| IncludedItem {
                item_id: id.clone(),
                quantity: item["quantity"].as_i64().unwrap_or(0),
                repeat: Interval::parse(&item["repeat"]),
                expires: item["expires"].as_str().unwrap_or("never").to_string(),
            })
            .collect()
    }

    /// Stack's inline form of the product, as reads show it (`productToInlineProduct`).
    pub fn inline_view(&self) -> Value {
        self.inline_view_with(|_| true)
    }

    fn inline_view_with(&self, keep: impl Fn(&Value) -> bool) -> Value {
        let prices: Map<String, Value> = self
            .prices()
            .into_iter()
            .filter(|(_, p)| keep(p))
            .map(|(id, p)| {
                let mut view = Map::new();
                for (code, _) in CURRENCIES {
                    if let Some(a) = p.get(code).filter(|a| a.is_string()) {
                        view.insert(code.into(), a.clone());
                    }
                }
                if !p["interval"].is_null() {
                    view.insert("interval".into(), p["interval"].clone());
                }
                if !p["freeTrial"].is_null() {
                    view.insert("free_trial".into(), p["freeTrial"].clone());
                }
                (id.to_string(), Value::Object(view))
            })
            .collect();
        json!({
            "display_name": self.display_name(),
            "customer_type": self.customer_type(),
            "stackable": self.stackable(),
            "server_only": self.server_only(),
            "included_items": self.0.get("includedItems").cloned().unwrap_or(json!({})),
            "client_metadata": self.0.get("clientMetadata").cloned().unwrap_or(Value::Null),
            "client_read_only_metadata": self.0.get("clientReadOnlyMetadata").cloned().unwrap_or(Value::Null),
            "server_metadata": self.0.get("serverMetadata").cloned().unwrap_or(Value::Null),
            "prices": prices,
        })
    }

    /// An inline product (`product_inline`, already checked by [`inline_product`]) in the
    /// tree's form, as Stack turns one: no product line, not stackable, its prices server-only.
    pub fn from_inline(v: &Value) -> Product {
        let prices: Map<String, Value> = v["prices"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, p)| {
                let mut price = Map::new();
                for (code, _) in CURRENCIES {
                    if let Some(a) = p.get(code).filter(|a| a.is_string()) {
                        price.insert(code.into(), a.clone());
                    }
                }
                for (from, to) in [("interval", "interval"), ("free_trial", "freeTrial")] {
                    if !p[from].is_null() {
                        price.insert(to.into(), p[from].clone());
                    }
                }
                price.insert("serverOnly".into(), json!(true));
                (id.clone(), Value::Object(price))
            })
            .collect();
        let items: Map<String, Value> = v["included_items"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, i)| {
                (
                    id.clone(),
                    json!({
                        "quantity": i["quantity"].as_i64().unwrap_or(0),
                        "repeat": if i["repeat"].is_null() { json!("never") } else { i["repeat"].clone() },
                        "expires": i["expires"].as_str().unwrap_or("never"),
                    }),
                )
            })
            .collect();
        let mut product = json!({
            "displayName": v["display_name"],
            "customerType": v["customer_type"],
            "serverOnly": v["server_only"].as_bool().unwrap_or(true),
            "stackable": false,
            "isAddOnTo": false,
            "prices": prices,
            "includedItems": items,
        });
        for (from, to) in [
            ("free_trial", "freeTrial"),
            ("client_metadata", "clientMetadata"),
            ("client_read_only_metadata", "clientReadOnlyMetadata"),
            ("server_metadata", "serverMetadata"),
        ] {
            if !v[from].is_null() {
                product[to] = v[from].clone();
            }
        }
        Product(product)
    }

    /// The price a purchase pays: `price_id`'s, or the first; none for a product without prices.
    pub fn select_price(&self, price_id: Option<&str>) -> Result<Option<(String, Value)>> {
        let prices = self.prices();
        match price_id {
            Some(id) => prices
                .into_iter()
                .find(|(p, _)| *p == id)
                .map(|(p, v)| Some((p.to_string(), v.clone())))
                .ok_or_else(|| {
                    Error::Status(
                        400,
                        "Price not found on product associated with this purchase code".into(),
                    )
                }),
            None => Ok(prices
                .into_iter()
                .next()
                .map(|(p, v)| (p.to_string(), v.clone()))),
        }
    }
}

pub fn price_interval(price: &Value) -> Option<Interval> {
    Interval::parse(&price["interval"])
}

/// What a price charges for `quantity`, per currency, in Stack's text form (`{"USD": "19.98"}`).
pub fn charged_amount(price: Option<&Value>, quantity: i64) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(price) = price else { return out };
    for (code, decimals) in CURRENCIES {
        let Some(units) = price[code].as_str().and_then(|a| minor_units(a, decimals)) else {
            continue;
        };
        let total = units.saturating_mul(quantity as i128);
        if total != 0 {
            out.insert(code.into(), json!(money_text(total, decimals)));
        }
    }
    out
}

/// A price as people read it: "$9.99 / month", "€5", "Free".
pub fn describe_price(price: &Value, quantity: i64) -> String {
    let amounts = charged_amount(Some(price), quantity);
    let amount = match amounts.iter().next() {
        Some((code, v)) => {
            let text = v.as_str().unwrap_or_default();
            match code.as_str() {
                "USD" => format!("${text}"),
                "EUR" => format!("€{text}"),
                "GBP" => format!("£{text}"),
                other => format!("{text} {other}"),
            }
        }
        None => "Free".into(),
    };
    match price_interval(price) {
        Some(i) => format!("{amount} / {}", i.describe()),
        None => amount,
    }
}

/// Stack's checks of a `product_inline` (`inlineProductSchema`), as one issue.
pub fn inline_product(at: &str, v: &Value) -> Option<String> {
    let Some(o) = v.as_object() else {
        return Some(format!("{at} must be an object"));
    };
    let known = [
        "display_name",
        "customer_type",
        "free_trial",
        "server_only",
        "stackable",
        "prices",
        "included_items",
        "client_metadata",
        "client_read_only_metadata",
        "server_metadata",
    ];
    let unknown: Vec<&str> = o
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Some(format!(
            "{at} contains unknown properties: {}",
            unknown.join(", ")
        ));
    }
    if !v["display_name"].is_string() {
        return Some(format!("{at}.display_name must be defined"));
    }
    if !matches!(
        v["customer_type"].as_str(),
        Some("user" | "team" | "custom")
    ) {
        return Some(format!(
            "{at}.customer_type must be one of the following values: user, team, custom"
        ));
    }
    for flag in ["server_only", "stackable"] {
        if !v[flag].is_null() && !v[flag].is_boolean() {
            return Some(format!("{at}.{flag} must be a `boolean` type"));
        }
    }
    if !v["free_trial"].is_null() && Interval::parse(&v["free_trial"]).is_none() {
        return Some(format!(
            "{at}.free_trial must be a day interval, such as [7, \"day\"]"
        ));
    }
    let Some(prices) = v["prices"].as_object() else {
        return Some(format!("{at}.prices must be defined"));
    };
    for (id, p) in prices {
        let here = format!("{at}.prices.{id}");
        if !is_user_id(id) {
            return Some(format!("{here}: a price id may contain letters, numbers, underscores and dashes, and must not start with a dash"));
        }
        let Some(fields) = p.as_object() else {
            return Some(format!("{here} must be an object"));
        };
        let mut currencies = 0;
        for (k, a) in fields {
            if let Some((_, decimals)) = CURRENCIES.iter().find(|(c, _)| c == k) {
                let Some(text) = a.as_str() else {
                    return Some(format!("{here}.{k} must be a `string` type"));
                };
                if minor_units(text, *decimals).is_none() {
                    return Some(format!(
                        "{here}.{k}: money amounts are written as <number> or <number>.<number>, with at most {decimals} decimals for {k} and no leading zeros"
                    ));
                }
                currencies += 1;
            } else if k == "interval" || k == "free_trial" {
                if !a.is_null() && Interval::parse(a).is_none() {
                    return Some(format!(
                        "{here}.{k} must be a day interval, such as [1, \"month\"]"
                    ));
                }
            } else {
                return Some(format!("{here} contains unknown properties: {k}"));
            }
        }
        if currencies == 0 {
            return Some(format!("{here}: At least one currency is required"));
        }
    }
    let Some(items) = v["included_items"].as_object() else {
        return Some(format!("{at}.included_items must be defined"));
    };
    for (id, i) in items {
        let here = format!("{at}.included_items.{id}");
        if !is_user_id(id) {
            return Some(format!("{here}: an item id may contain letters, numbers, underscores and dashes, and must not start with a dash"));
        }
        let Some(fields) = i.as_object() else {
            return Some(format!("{here} must be an object"));
        };
        if let Some(k) = fields
            .keys()
            .find(|k| !["quantity", "repeat", "expires"].contains(&k.as_str()))
        {
            return Some(format!("{here} contains unknown properties: {k}"));
        }
        if !i["quantity"].is_null() && !i["quantity"].is_i64() {
            return Some(format!("{here}.quantity must be an integer"));
        }
        if !i["repeat"].is_null()
            && i["repeat"] != json!("never")
            && Interval::parse(&i["repeat"]).is_none()
        {
            return Some(format!(
                "{here}.repeat must be \"never\" or a day interval, such as [1, \"month\"]"
            ));
        }
        if !i["expires"].is_null()
            && !matches!(
                i["expires"].as_str(),
                Some("never" | "when-purchase-expires" | "when-repeated")
            )
        {
            return Some(format!(
                "{here}.expires must be one of the following values: never, when-purchase-expires, when-repeated"
            ));
        }
    }
    None
}

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

fn status(text: &str) -> Error {
    Error::Status(400, text.into())
}

/// The project's catalogue product `id`.
pub fn catalogue_product(project: &Project, id: &str) -> Option<Product> {
    project
        .config
        .tree
        .pointer("/payments/products")
        .and_then(|p| p.get(id))
        .filter(|p| p.is_object())
        .map(|p| Product(p.clone()))
}

/// The project's catalogue, in the tree's order.
pub fn catalogue(project: &Project) -> Vec<(String, Product)> {
    project
        .config
        .tree
        .pointer("/payments/products")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, p)| p.is_object())
        .map(|(id, p)| (id.clone(), Product(p.clone())))
        .collect()
}

pub fn new_purchases_blocked(project: &Project) -> bool {
    project.config.tree.pointer("/payments/blockNewPurchases") == Some(&json!(true))
}

pub fn test_mode(project: &Project) -> bool {
    project.config.tree.pointer("/payments/testMode") != Some(&json!(false))
}

/// Stack's `ensureProductIdOrInlineProduct`: the product a request names, by id or inline
/// (inline only from a server), and never a server-only product for a client.
pub fn resolve_product(
    project: &Project,
    client: bool,
    product_id: Option<&str>,
    inline: Option<&Value>,
) -> Result<Product> {
    match (product_id, inline) {
        (Some(_), Some(_)) => Err(status("Cannot specify both product_id and product_inline!")),
        (_, Some(_)) if client => Err(status("Cannot specify product_inline when calling from client! Please call with a server API key, or use the product_id parameter.")),
        (None, None) => Err(status("Must specify either product_id or product_inline!")),
        (None, Some(inline)) => Ok(Product::from_inline(inline)),
        (Some(id), None) => {
            let product = catalogue_product(project, id).ok_or_else(|| {
                let item = super::items::catalogue(project).iter().any(|i| i.id == id);
                Error::ProductDoesNotExist {
                    product_id: id.into(),
                    context: item.then_some("item_exists"),
                }
            })?;
            if client && product.server_only() {
                return Err(Error::ProductDoesNotExist {
                    product_id: id.into(),
                    context: Some("server_only"),
                });
            }
            Ok(product)
        }
    }
}

/// `PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH` unless `product` is for `customer`'s type.
pub fn require_customer_type(
    product: &Product,
    product_id: Option<&str>,
    customer: &Customer,
) -> Result<()> {
    if product.customer_type() == Some(customer.kind.as_str()) {
        return Ok(());
    }
    Err(Error::ProductCustomerTypeDoesNotMatch {
        product_id: product_id.map(str::to_string),
        customer_id: customer.id.clone(),
        product_customer_type: product.customer_type().map(str::to_string),
        actual_customer_type: customer.kind.as_str().into(),
    })
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
    Ok(sqlx::query_as(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM purchases WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
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
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let purchase = purchase_by_id(&mut *tx, &project.id, &req.id)
            .await?
            .filter(|p| (p.kind == Kind::Subscription) == subscription)
            .ok_or_else(missing)?;
        if purchase.refunded_at.is_some() {
            return Err(match subscription {
                true => Error::SubscriptionAlreadyRefunded(req.id.clone()),
                false => Error::OneTimePurchaseAlreadyRefunded(req.id.clone()),
            });
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
        // A renewal: only of a subscription still running into this period's end.
        if !purchase.is_active_subscription()
            || purchase.current_period_end != Some(at)
            || purchase.refunded_at.is_some()
        {
            return tx.rollback().await;
        }
        let Some(interval) = purchase.price().as_ref().and_then(price_interval) else {
            return tx.rollback().await;
        };
        let end = interval.after(at);
        sqlx::query(
            "UPDATE purchases SET status = 'active', current_period_start = $1, current_period_end = $2 \
             WHERE project_id = $3 AND id = $4",
        )
        .bind(at)
        .bind(end)
        .bind(&project.id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let renewal = new_id();
        sqlx::query(
            "INSERT INTO purchase_renewals (id, project_id, purchase_id, period_start, period_end, test_mode, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&renewal)
        .bind(&project.id)
        .bind(id)
        .bind(at)
        .bind(end)
        .bind(purchase.test_mode as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            &project.id,
            &Who::System,
            Change::new(
                "subscription.renewed",
                &renewal,
                json!({ "purchase_id": id, "period_start_millis": at, "period_end_millis": end }),
            ),
        )
        .await?;
        schedule(&mut tx, &project, id, end, None).await?;
        tx.commit().await
    }
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
async fn end_purchase(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_calendar() {
        // 2025-01-31T00:00:00Z plus a month is the end of February.
        let jan31 = 1_738_281_600_000;
        let feb28 = 1_740_700_800_000;
        let m = Interval {
            count: 1,
            unit: Unit::Month,
        };
        assert_eq!(m.after(jan31), feb28);
        let y = Interval {
            count: 1,
            unit: Unit::Year,
        };
        assert_eq!(y.after(jan31), 1_769_817_600_000);
        let w = Interval {
            count: 2,
            unit: Unit::Week,
        };
        assert_eq!(w.after(0), 14 * 86_400_000);
    }

    #[test]
    fn money_is_read_and_written_as_stack_writes_it() {
        assert_eq!(minor_units("9.99", 2), Some(999));
        assert_eq!(minor_units("10", 2), Some(1000));
        assert_eq!(minor_units("9.999", 2), None);
        assert_eq!(minor_units("9.", 2), None);
        assert_eq!(minor_units("-1", 2), None);
        assert_eq!(money_text(1998, 2), "19.98");
        assert_eq!(money_text(2000, 2), "20");
        assert_eq!(money_text(5, 2), "0.05");
        assert_eq!(money_text(500, 0), "500");
        let price = json!({ "USD": "9.99", "interval": [1, "month"] });
        assert_eq!(describe_price(&price, 2), "$19.98 / month");
    }

    #[test]
    fn an_inline_product_is_checked_and_turned_into_the_config_form() {
        let inline = json!({
            "display_name": "Credits",
            "customer_type": "user",
            "prices": { "once": { "USD": "5" } },
            "included_items": { "credits": { "quantity": 100 } },
        });
        assert_eq!(inline_product("body.product_inline", &inline), None);
        let p = Product::from_inline(&inline);
        assert_eq!(p.display_name(), "Credits");
        assert!(p.server_only());
        assert_eq!(p.included_items()[0].quantity, 100);
        assert_eq!(p.inline_view()["prices"], json!({ "once": { "USD": "5" } }));
        let bad = json!({ "display_name": "X", "customer_type": "user", "prices": { "p": { "USD": "1.999" } }, "included_items": {} });
        assert!(inline_product("body.product_inline", &bad)
            .unwrap()
            .contains("at most 2 decimals"));
        let none = json!({ "display_name": "X", "customer_type": "user", "prices": { "p": {} }, "included_items": {} });
        assert!(inline_product("b", &none)
            .unwrap()
            .contains("At least one currency"));
    }
}
