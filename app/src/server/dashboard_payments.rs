//! The dashboard's server functions for payments: the catalogue (product lines, products with
//! their prices and included items, items; all in the config tree), a customer's products and
//! balances (grant, cancel, adjust), and the transactions. Each is a few lines over the core
//! calls the REST API makes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ItemRow {
    pub id: String,
    pub display_name: String,
    pub customer_type: String,
}

/// A customer's quantity of an item, or why it could not be read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Balance {
    pub customer_type: String,
    pub customer_id: String,
    pub item_id: String,
    pub display_name: String,
    pub quantity: Result<i64, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LineRow {
    pub id: String,
    pub display_name: String,
    pub customer_type: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProductRow {
    pub id: String,
    pub display_name: String,
    pub customer_type: String,
    pub product_line_id: Option<String>,
    /// (price id, "$9.99 / month").
    pub prices: Vec<(String, String)>,
    /// (item id, "100 every month, until the purchase ends").
    pub items: Vec<(String, String)>,
    pub stackable: bool,
    pub server_only: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TransactionRow {
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub customer: String,
    pub what: String,
    pub amount: String,
    pub test_mode: bool,
    /// A purchase not refunded yet.
    pub refundable: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PaymentsView {
    pub project_name: String,
    pub test_mode: bool,
    pub lines: Vec<LineRow>,
    pub products: Vec<ProductRow>,
    pub items: Vec<ItemRow>,
    pub balance: Option<Balance>,
    /// The looked-up customer's products, or why they could not be read.
    pub owned: Option<Result<Vec<super::OwnedRow>, String>>,
    pub transactions: Vec<TransactionRow>,
    /// The transactions' type filter (`?type=`).
    pub transaction_type: Option<String>,
    pub stripe: StripePanel,
}

/// The project's Stripe connection, as the room shows it (never a secret).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StripePanel {
    /// (publishable key, the secret key's last four characters), when connected.
    pub connected: Option<(String, String)>,
    /// The webhook endpoint to add in Stripe.
    pub webhook_url: String,
}

/// "100 every month, until the purchase ends".
#[cfg(feature = "ssr")]
fn describe_included(item: &gatehouse_core::payments::product::IncludedItem) -> String {
    let repeat = match item.repeat {
        Some(r) => format!(" every {}", r.describe()),
        None => String::new(),
    };
    let expires = match item.expires.as_str() {
        "when-purchase-expires" => ", until the purchase ends",
        "when-repeated" => ", each lasting until the next",
        _ => ", kept for good",
    };
    format!("{}{repeat}{expires}", item.quantity)
}

#[cfg(feature = "ssr")]
fn transaction_row(t: &serde_json::Value) -> TransactionRow {
    let entries = t["entries"].as_array().cloned().unwrap_or_default();
    let customer = format!(
        "{} {}",
        t["customer_type"].as_str().unwrap_or(""),
        t["customer_id"].as_str().unwrap_or("")
    );
    let what = entries
        .iter()
        .filter_map(|e| match e["type"].as_str() {
            Some("product_grant") => Some(format!(
                "{} × {}",
                e["product"]["display_name"].as_str().unwrap_or("Product"),
                e["quantity"]
            )),
            Some("product_revocation") => Some(format!("Taken back × {}", e["quantity"])),
            Some("item_quantity_change") => Some(format!(
                "{} {:+}",
                e["item_id"].as_str().unwrap_or(""),
                e["quantity"].as_i64().unwrap_or(0)
            )),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(", ");
    let amount = entries
        .iter()
        .find(|e| e["type"] == "money_transfer")
        .and_then(|e| e["charged_amount"].as_object())
        .map(|a| {
            a.iter()
                .map(|(c, v)| format!("{} {c}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "—".into());
    TransactionRow {
        id: t["id"].as_str().unwrap_or_default().to_string(),
        at: t["created_at_millis"].as_i64().unwrap_or(0),
        kind: t["type"].as_str().unwrap_or_default().to_string(),
        customer,
        what,
        amount,
        test_mode: t["test_mode"] == true,
        refundable: t["type"] == "purchase" && t["adjusted_by"] == serde_json::json!([]),
    }
}

/// The payments room, with the customer the page's query asks for (`customer_type`,
/// `customer_id`: their products; with `item_id`, their balance of it) and the transactions
/// (`type`).
#[server(prefix = "/_sfn")]
pub async fn load_payments(
    project_id: String,
    customer_type: Option<String>,
    customer_id: Option<String>,
    item_id: Option<String>,
    transaction_type: Option<String>,
) -> Result<PaymentsView, ServerFnError> {
    use gatehouse_core::payments::product::{self, describe_price};
    use gatehouse_core::payments::transactions::TransactionQuery;
    use gatehouse_core::payments::{items::catalogue, Customer};
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let tree = &project.config.tree;
    let lines = tree
        .pointer("/payments/productLines")
        .and_then(|l| l.as_object())
        .into_iter()
        .flatten()
        .map(|(id, l)| LineRow {
            id: id.clone(),
            display_name: l["displayName"].as_str().unwrap_or(id).to_string(),
            customer_type: l["customerType"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let products: Vec<ProductRow> = product::catalogue(&project)
        .into_iter()
        .map(|(id, p)| ProductRow {
            display_name: p.display_name().to_string(),
            customer_type: p.customer_type().unwrap_or_default().to_string(),
            product_line_id: p.product_line_id().map(str::to_string),
            prices: p
                .prices()
                .into_iter()
                .map(|(pid, price)| (pid.to_string(), describe_price(price, 1)))
                .collect(),
            items: p
                .included_items()
                .iter()
                .map(|i| (i.item_id.clone(), describe_included(i)))
                .collect(),
            stackable: p.stackable(),
            server_only: p.server_only(),
            id,
        })
        .collect();
    let owned = match (&customer_type, &customer_id) {
        (Some(kind), Some(id)) if !id.trim().is_empty() => Some(
            async {
                let customer = Customer::parse(kind, id.trim())?;
                let owned = core.owned_products(&project, &customer, false).await?;
                Ok(owned.iter().map(super::owned_row).collect())
            }
            .await
            .map_err(|e: gatehouse_core::Error| e.message()),
        ),
        _ => None,
    };
    let query = TransactionQuery {
        limit: Some("50".into()),
        kind: transaction_type.clone().filter(|t| !t.is_empty()),
        ..Default::default()
    };
    let transactions = core
        .transactions(&project, &query)
        .await
        .map_err(ssr::shown)?
        .0
        .iter()
        .map(transaction_row)
        .collect();
    let items: Vec<ItemRow> = catalogue(&project)
        .into_iter()
        .map(|i| ItemRow {
            id: i.id,
            display_name: i.display_name,
            customer_type: i.customer_type.unwrap_or_default(),
        })
        .collect();
    let balance = match (
        customer_type,
        customer_id,
        item_id.filter(|i| !i.is_empty()),
    ) {
        (Some(kind), Some(id), Some(item_id)) if !id.trim().is_empty() => {
            let id = id.trim().to_string();
            let quantity = match Customer::parse(&kind, id.clone()) {
                Err(e) => Err(e),
                Ok(customer) => ssr::core()
                    .item(&project, &customer, &item_id)
                    .await
                    .map(|i| i.quantity),
            }
            .map_err(|e| e.message());
            Some(Balance {
                display_name: items
                    .iter()
                    .find(|i| i.id == item_id)
                    .map(|i| i.display_name.clone())
                    .unwrap_or_else(|| item_id.clone()),
                customer_type: kind,
                customer_id: id,
                item_id,
                quantity,
            })
        }
        _ => None,
    };
    Ok(PaymentsView {
        project_name: project.display_name.clone(),
        test_mode: product::test_mode(&project),
        lines,
        products,
        items,
        balance,
        owned,
        transactions,
        transaction_type: query.kind,
        stripe: StripePanel {
            connected: core
                .stripe_connection(&project)
                .await
                .map_err(ssr::shown)?
                .map(|c| (c.publishable_key, c.secret_key_hint)),
            webhook_url: core.stripe_webhook_url(&project),
        },
    })
}

/// Connects the project's Stripe account (its keys, checked for their kind; secrets sealed).
#[server(prefix = "/_sfn")]
pub async fn save_stripe(
    project_id: String,
    secret_key: String,
    publishable_key: String,
    webhook_secret: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::stripe::StripeKeys;
    let project = ssr::administered_project(&project_id).await?;
    let keys = StripeKeys {
        secret_key,
        publishable_key,
        webhook_secret,
    };
    ssr::core()
        .save_stripe_keys(&project, Some(&keys), &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// Disconnects it.
#[server(prefix = "/_sfn")]
pub async fn remove_stripe(project_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .save_stripe_keys(&project, None, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// Asks Stripe whether it takes the secret key: the answer, in a sentence.
#[server(prefix = "/_sfn")]
pub async fn check_stripe(project_id: String) -> Result<String, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core().check_stripe(&project).await.map_err(ssr::shown)
}

/// Adds an item to the catalogue, or renames one (the config checks the id).
#[server(prefix = "/_sfn")]
pub async fn save_item(
    project_id: String,
    item_id: String,
    display_name: String,
    customer_type: String,
) -> Result<(), ServerFnError> {
    save_held_entry(
        &project_id,
        "items",
        &item_id,
        &display_name,
        customer_type,
        "An item needs an id.",
    )
    .await
}

/// Writes `payments.<kind>.<id>` as `{displayName, customerType}` (an item, a product line):
/// added, or renamed.
#[cfg(feature = "ssr")]
async fn save_held_entry(
    project_id: &str,
    kind: &str,
    id: &str,
    display_name: &str,
    customer_type: String,
    missing_id: &str,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(project_id).await?;
    let id = id.trim();
    if id.is_empty() {
        return Err(refused(missing_id));
    }
    let mut entry = serde_json::json!({ "customerType": customer_type });
    if !display_name.trim().is_empty() {
        entry["displayName"] = display_name.trim().into();
    }
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.{kind}.{id}"): entry }),
    )
    .await
}

/// Grants (a positive change) or uses (a negative one) some of a customer's item.
#[server(prefix = "/_sfn")]
pub async fn adjust_item(
    project_id: String,
    customer_type: String,
    customer_id: String,
    item_id: String,
    delta: String,
    description: String,
    allow_negative: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::items::QuantityChange;
    use gatehouse_core::payments::Customer;
    let project = ssr::administered_project(&project_id).await?;
    let delta = delta
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| *d != 0 && d.abs() <= gatehouse_core::payments::items::MAX_DELTA)
        .ok_or_else(|| {
            ssr::shown(gatehouse_core::Error::Status(
                400,
                "The change must be a whole number other than zero (negative to use some).".into(),
            ))
        })?;
    let customer = Customer::parse(&customer_type, customer_id.trim()).map_err(ssr::shown)?;
    let description = Some(description.trim().to_string()).filter(|d| !d.is_empty());
    ssr::core()
        .change_item_quantity(
            &project,
            &customer,
            &item_id,
            QuantityChange {
                delta,
                expires_at: None,
                description,
            },
            allow_negative.is_some(),
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)
}

#[cfg(feature = "ssr")]
fn refused(text: &str) -> ServerFnError {
    ssr::shown(gatehouse_core::Error::Status(400, text.into()))
}

/// Adds a product line, or renames one.
#[server(prefix = "/_sfn")]
pub async fn save_product_line(
    project_id: String,
    line_id: String,
    display_name: String,
    customer_type: String,
) -> Result<(), ServerFnError> {
    save_held_entry(
        &project_id,
        "productLines",
        &line_id,
        &display_name,
        customer_type,
        "A product line needs an id.",
    )
    .await
}

/// Adds a product, or changes its name, customers, line and flags (its prices and items stay).
#[server(prefix = "/_sfn")]
pub async fn save_product(
    project_id: String,
    product_id: String,
    display_name: String,
    customer_type: String,
    product_line_id: String,
    stackable: Option<String>,
    server_only: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let id = product_id.trim();
    if id.is_empty() {
        return Err(refused("A product needs an id."));
    }
    let fields = serde_json::json!({
        "customerType": customer_type,
        "stackable": stackable.is_some(),
        "serverOnly": server_only.is_some(),
        "productLineId": Some(product_line_id.trim()).filter(|l| !l.is_empty()),
        "displayName": Some(display_name.trim()).filter(|n| !n.is_empty()),
    });
    // A new product is written whole (the tree takes a dotted key only under an object that
    // exists); an existing one field by field, so its prices and items stay.
    let patch = if gatehouse_core::payments::product::catalogue_product(&project, id).is_some() {
        let fields = fields.as_object().cloned().unwrap_or_default();
        serde_json::Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (format!("payments.products.{id}.{k}"), v))
                .collect(),
        )
    } else {
        let mut product = fields;
        if let Some(o) = product.as_object_mut() {
            o.retain(|_, v| !v.is_null());
        }
        product["prices"] = serde_json::json!({});
        product["includedItems"] = serde_json::json!({});
        serde_json::json!({ format!("payments.products.{id}"): product })
    };
    ssr::configure(&project, patch).await
}

/// Adds a price to a product, or changes one: an amount in one currency, once or every interval.
#[server(prefix = "/_sfn")]
pub async fn save_price(
    project_id: String,
    product_id: String,
    price_id: String,
    currency: String,
    amount: String,
    interval: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::product::{minor_units, CURRENCIES};
    let project = ssr::administered_project(&project_id).await?;
    let price_id = price_id.trim();
    if price_id.is_empty() {
        return Err(refused("A price needs an id (such as monthly)."));
    }
    let (code, decimals) = CURRENCIES
        .iter()
        .find(|(c, _)| *c == currency)
        .ok_or_else(|| refused("Choose one of the currencies offered."))?;
    let amount = amount.trim();
    if minor_units(amount, *decimals).is_none() {
        return Err(refused(&format!(
            "Write the amount as 9 or 9.99, with at most {decimals} decimals for {code}."
        )));
    }
    let mut price = serde_json::json!({ *code: amount });
    match interval.as_str() {
        "" => {}
        unit @ ("day" | "week" | "month" | "year") => {
            price["interval"] = serde_json::json!([1, unit])
        }
        _ => return Err(refused("Choose how often the price is paid.")),
    }
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.products.{}.prices.{price_id}", product_id.trim()): price }),
    )
    .await
}

/// Adds an included item to a product, or changes it.
#[server(prefix = "/_sfn")]
pub async fn save_included_item(
    project_id: String,
    product_id: String,
    item_id: String,
    quantity: String,
    repeat: String,
    expires: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let quantity = quantity
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|q| *q > 0)
        .ok_or_else(|| refused("The quantity must be a whole number above zero."))?;
    let repeat = match repeat.as_str() {
        "" | "never" => serde_json::json!("never"),
        unit @ ("day" | "week" | "month" | "year") => serde_json::json!([1, unit]),
        _ => return Err(refused("Choose how often the item is granted again.")),
    };
    if !["never", "when-purchase-expires", "when-repeated"].contains(&expires.as_str()) {
        return Err(refused("Choose when the granted quantity expires."));
    }
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.products.{}.includedItems.{}", product_id.trim(), item_id.trim()): {
            "quantity": quantity, "repeat": repeat, "expires": expires,
        } }),
    )
    .await
}

/// Grants a product to the customer the room shows, as the app's server would.
#[server(prefix = "/_sfn")]
pub async fn grant_customer_product(
    project_id: String,
    customer_type: String,
    customer_id: String,
    product_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::product::resolve_product;
    use gatehouse_core::payments::products::{NewPurchase, Source};
    use gatehouse_core::payments::Customer;
    let project = ssr::administered_project(&project_id).await?;
    let customer = Customer::parse(&customer_type, customer_id.trim()).map_err(ssr::shown)?;
    let product = resolve_product(&project, false, Some(&product_id), None).map_err(ssr::shown)?;
    ssr::core()
        .grant_product(
            &project,
            NewPurchase {
                customer: &customer,
                product_id: Some(&product_id),
                product: &product,
                price_id: None,
                quantity: 1,
                source: Source::ApiGrant,
            },
            &ssr::acting_admin().await?,
        )
        .await
        .map(|_| ())
        .map_err(ssr::shown)
}

/// Cancels the customer's subscription to a product (it runs to the end of its period).
#[server(prefix = "/_sfn")]
pub async fn cancel_customer_product(
    project_id: String,
    customer_type: String,
    customer_id: String,
    product_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::Customer;
    let project = ssr::administered_project(&project_id).await?;
    let customer = Customer::parse(&customer_type, customer_id.trim()).map_err(ssr::shown)?;
    ssr::core()
        .cancel_product(
            &project,
            &customer,
            &product_id,
            None,
            false,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)
}

/// Refunds a whole purchase, as `POST /internal/payments/transactions/refund` does.
#[server(prefix = "/_sfn")]
pub async fn refund_transaction(
    project_id: String,
    transaction_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::products::Kind;
    use gatehouse_core::payments::transactions::{RefundEntry, RefundRequest};
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let purchase = core
        .purchase(&project, &transaction_id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| {
            ssr::shown(gatehouse_core::Error::OneTimePurchaseNotFound(
                transaction_id.clone(),
            ))
        })?;
    let amount = purchase
        .charged_amount()
        .get("USD")
        .and_then(|a| a.as_str().map(str::to_string))
        .unwrap_or_else(|| "0".into());
    let req = RefundRequest {
        kind: if purchase.kind == Kind::Subscription {
            "subscription"
        } else {
            "one-time-purchase"
        }
        .into(),
        id: purchase.id.clone(),
        refund_entries: vec![RefundEntry {
            entry_index: 0,
            quantity: purchase.quantity,
            amount_usd: amount,
        }],
    };
    core.refund_purchase(&project, &req, &ssr::acting_admin().await?)
        .await
        .map_err(ssr::shown)
}

/// Removes an entry of the catalogue: `key` below `payments.` (`items.credits`,
/// `productLines.plans`, `products.pro`, `products.pro.prices.monthly`,
/// `products.pro.includedItems.credits`). Balances and purchases stay: an item or product of the
/// same id that comes back counts them again.
#[server(prefix = "/_sfn")]
pub async fn remove_from_catalogue(project_id: String, key: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let parts: Vec<&str> = key.split('.').collect();
    let known = match parts.as_slice() {
        ["items" | "productLines" | "products", _] => true,
        ["products", _, "prices" | "includedItems", _] => true,
        _ => false,
    };
    if !known || !parts.iter().all(|p| !p.is_empty()) {
        return Err(refused("That is not an entry of the catalogue."));
    }
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.{key}"): null }),
    )
    .await
}
