//! A product as the catalogue describes it (`payments.products.<id>` in the config tree, or an
//! inline product a server grants): its prices (per interval, or once), free trial, flags and
//! included items, read with Stack's defaults; the money in prices; and the checks a request's
//! `product_inline` goes through. What customers own of products is [`super::products`].

use serde_json::{json, Map, Value};

use super::Customer;
use crate::config::schema::is_user_id;
use crate::error::{Error, Result};
use crate::projects::Project;

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

    /// The inline form with only the prices `keep` keeps (a plan's switch options show its
    /// repeating prices).
    pub(super) fn inline_view_with(&self, keep: impl Fn(&Value) -> bool) -> Value {
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

/// A refusal in Stack's words (a plain 400).
pub(super) fn status(text: &str) -> Error {
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
