//! The hosted checkout's server functions: what a purchase code offers, and the test-mode
//! payment.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// One price the checkout offers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PriceChoice {
    pub id: String,
    /// "$9.99 / month".
    pub label: String,
    /// "7 days free, then …", when it starts with a free trial.
    pub trial: Option<String>,
}

/// What the checkout page shows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckoutSummary {
    pub project_name: String,
    pub product_name: String,
    /// Who buys: "your account", "the team Acme", "customer c-42".
    pub customer_label: String,
    pub prices: Vec<PriceChoice>,
    pub stackable: bool,
    pub test_mode: bool,
    /// The purchase this code made, done (the page thanks the buyer).
    pub paid: bool,
    pub already_owned: bool,
    /// The plans of the product line this purchase replaces.
    pub replaces: Vec<String>,
    pub blocked: bool,
}

#[server(prefix = "/_sfn")]
pub async fn checkout_info(full_code: String) -> Result<CheckoutSummary, ServerFnError> {
    use gatehouse_core::payments::products::{
        describe_price, new_purchases_blocked, test_mode, Interval,
    };
    use gatehouse_core::payments::CustomerType;
    let core = ssr::core();
    let c = core.checkout(&full_code).await.map_err(ssr::shown)?;
    let owned = core
        .owned_products(&c.project, &c.customer, false)
        .await
        .map_err(ssr::shown)?;
    let customer_label = match c.customer.kind {
        CustomerType::User => "your account".to_string(),
        CustomerType::Team => match core
            .team(&c.project.id, &c.customer.id)
            .await
            .map_err(ssr::shown)?
        {
            Some(t) => format!("the team {}", t.display_name),
            None => "a team that no longer exists".into(),
        },
        CustomerType::Custom => format!("customer {}", c.customer.id),
    };
    let trial_of = |p: &serde_json::Value| {
        Interval::parse(&p["freeTrial"])
            .or_else(|| Interval::parse(&c.product.0["freeTrial"]))
            .map(|t| format!("{} free, then", t.describe()))
    };
    let prices = c
        .product
        .prices()
        .into_iter()
        .map(|(id, p)| PriceChoice {
            id: id.to_string(),
            label: describe_price(p, 1),
            trial: trial_of(p),
        })
        .collect();
    let line = c.product.product_line_id();
    Ok(CheckoutSummary {
        project_name: c.project.display_name.clone(),
        product_name: c.product.display_name().to_string(),
        customer_label,
        prices,
        stackable: c.product.stackable(),
        test_mode: test_mode(&c.project),
        paid: c.code.used_at.is_some(),
        already_owned: c.product_id.as_deref().is_some_and(|id| {
            !c.product.stackable() && owned.iter().any(|o| o.product_id.as_deref() == Some(id))
        }),
        replaces: owned
            .iter()
            .filter(|o| line.is_some() && o.product.product_line_id() == line)
            .map(|o| o.product.display_name().to_string())
            .collect(),
        blocked: new_purchases_blocked(&c.project),
    })
}

/// "Pay (test)": completes the purchase in test mode, then back to the app (the return URL, when
/// the project trusts it) or to the page's thanks.
#[server(prefix = "/_sfn")]
pub async fn pay_test(
    project_id: String,
    full_code: String,
    price_id: String,
    quantity: Option<String>,
    return_url: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::checkout::PurchaseChoice;
    let quantity = match quantity.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => None,
        Some(q) => Some(q.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ServerFnError::new("The quantity must be a whole number, 1 or more.")
        })?),
    };
    let choice = PurchaseChoice {
        full_code: full_code.clone(),
        price_id,
        quantity,
    };
    let (c, _) = ssr::core()
        .test_mode_purchase(&choice)
        .await
        .map_err(ssr::shown)?;
    match return_url.filter(|u| !u.is_empty() && c.project.is_trusted_redirect(u)) {
        Some(url) => leptos_axum::redirect(&url),
        None => leptos_axum::redirect(&format!("/handler/{project_id}/purchase/{full_code}")),
    }
    Ok(())
}
