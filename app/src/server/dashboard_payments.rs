//! The dashboard's server functions for payments: the items of the catalogue (add, rename,
//! remove; they live in the config tree), and a customer's balance of one (look up, grant, use).
//! Each is a few lines over the core calls the REST API makes.

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
pub struct PaymentsView {
    pub project_name: String,
    pub test_mode: bool,
    pub items: Vec<ItemRow>,
    pub balance: Option<Balance>,
}

/// The payments room, with the balance the page's query asks for (`customer_type`,
/// `customer_id`, `item_id`).
#[server(prefix = "/_sfn")]
pub async fn load_payments(
    project_id: String,
    customer_type: Option<String>,
    customer_id: Option<String>,
    item_id: Option<String>,
) -> Result<PaymentsView, ServerFnError> {
    use gatehouse_core::payments::{items::catalogue, Customer};
    let project = ssr::administered_project(&project_id).await?;
    let items: Vec<ItemRow> = catalogue(&project)
        .into_iter()
        .map(|i| ItemRow {
            id: i.id,
            display_name: i.display_name,
            customer_type: i.customer_type.unwrap_or_default(),
        })
        .collect();
    let balance = match (customer_type, customer_id, item_id) {
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
        test_mode: project
            .config
            .tree
            .pointer("/payments/testMode")
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        items,
        balance,
    })
}

/// Adds an item to the catalogue, or renames one (the config checks the id).
#[server(prefix = "/_sfn")]
pub async fn save_item(
    project_id: String,
    item_id: String,
    display_name: String,
    customer_type: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let item_id = item_id.trim();
    if item_id.is_empty() {
        return Err(ssr::shown(gatehouse_core::Error::Status(
            400,
            "An item needs an id.".into(),
        )));
    }
    let mut item = serde_json::json!({ "customerType": customer_type });
    if !display_name.trim().is_empty() {
        item["displayName"] = display_name.trim().into();
    }
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.items.{item_id}"): item }),
    )
    .await
}

/// Removes an item from the catalogue (balances stay in the ledger, and count again if an item
/// of that id comes back).
#[server(prefix = "/_sfn")]
pub async fn remove_item(project_id: String, item_id: String) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::configure(
        &project,
        serde_json::json!({ format!("payments.items.{item_id}"): null }),
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
