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
    /// Not in test mode, with Stripe connected: the card form's publishable key and Stripe.js.
    pub stripe: Option<StripeForm>,
}

/// What the checkout's card form needs (see `public/hosted.js`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StripeForm {
    pub publishable_key: String,
    pub js_url: String,
}

#[server(prefix = "/_sfn")]
pub async fn checkout_info(full_code: String) -> Result<CheckoutSummary, ServerFnError> {
    use gatehouse_core::payments::product::{
        describe_price, new_purchases_blocked, test_mode, Interval,
    };
    use gatehouse_core::payments::products::already_owned;
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
        already_owned: already_owned(&owned, c.product_id.as_deref(), &c.product),
        replaces: owned
            .iter()
            .filter(|o| line.is_some() && o.product.product_line_id() == line)
            .map(|o| o.product.display_name().to_string())
            .collect(),
        blocked: new_purchases_blocked(&c.project),
        stripe: match test_mode(&c.project) {
            true => None,
            false => core
                .stripe_keys(&c.project.id)
                .await
                .map_err(ssr::shown)?
                .map(|k| StripeForm {
                    publishable_key: k.publishable_key,
                    js_url: core.stripe.js.clone(),
                }),
        },
    })
}

/// The checkout's card form, first step: a Stripe SetupIntent for the buyer's card (the client
/// secret Stripe.js confirms with the card typed in).
#[server(prefix = "/_sfn", endpoint = "checkout-card")]
pub async fn checkout_card(full_code: String) -> Result<String, ServerFnError> {
    let core = ssr::core();
    let c = core.checkout(&full_code).await.map_err(ssr::shown)?;
    core.stripe_setup_intent(&c.project, &c.customer)
        .await
        .map_err(ssr::shown)
}

/// What the card form's second step did: Stripe took the payment (`succeeded`), or the bank
/// asks the buyer to confirm it (Stripe.js, with `client_secret`); then on to `next`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Charged {
    pub client_secret: String,
    pub succeeded: bool,
    pub next: String,
}

/// The card form's second step: the saved card becomes the customer's default and pays.
#[server(prefix = "/_sfn", endpoint = "checkout-charge")]
pub async fn checkout_charge(
    full_code: String,
    setup_intent_id: String,
    price_id: String,
    quantity: Option<String>,
    return_url: Option<String>,
) -> Result<Charged, ServerFnError> {
    use gatehouse_core::payments::checkout::PurchaseChoice;
    let core = ssr::core();
    let c = core.checkout(&full_code).await.map_err(ssr::shown)?;
    core.stripe_set_default(&c.project, &c.customer, &setup_intent_id)
        .await
        .map_err(ssr::shown)?;
    let choice = PurchaseChoice {
        full_code: full_code.clone(),
        price_id,
        quantity: parse_quantity(quantity)?,
    };
    let session = core
        .stripe_purchase_session(&choice)
        .await
        .map_err(ssr::shown)?;
    let next = match return_url.filter(|u| !u.is_empty() && c.project.is_trusted_redirect(u)) {
        Some(url) => url,
        None => format!("/handler/{}/purchase/{full_code}", c.project.id),
    };
    Ok(Charged {
        client_secret: session.client_secret,
        succeeded: session.succeeded,
        next,
    })
}

/// The checkout's quantity field: empty is one.
#[cfg(feature = "ssr")]
fn parse_quantity(quantity: Option<String>) -> Result<Option<i64>, ServerFnError> {
    match quantity.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => Ok(None),
        Some(q) => Ok(Some(q.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(
            || ServerFnError::new("The quantity must be a whole number, 1 or more."),
        )?)),
    }
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
    let quantity = parse_quantity(quantity)?;
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

/// A product a customer owns, as the account page and the dashboard show it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OwnedRow {
    pub product_id: Option<String>,
    pub display_name: String,
    pub quantity: i64,
    /// "Subscription, renews 2027-01-07", "Canceled, ends …", "One-time purchase".
    pub state: String,
    pub cancelable: bool,
}

#[cfg(feature = "ssr")]
pub(crate) fn owned_row(o: &gatehouse_core::payments::products::Owned) -> OwnedRow {
    let day = |ms: Option<i64>| {
        ms.map(gatehouse_core::iso_time)
            .and_then(|t| t.get(..10).map(str::to_string))
            .unwrap_or_default()
    };
    let (state, cancelable) = match &o.subscription {
        Some(s) if s.is_active_subscription() => (
            format!("Subscription, renews {}", day(s.current_period_end)),
            true,
        ),
        Some(s) => (format!("Canceled, ends {}", day(s.ended_at)), false),
        None => ("One-time purchase".to_string(), false),
    };
    OwnedRow {
        product_id: o.product_id.clone(),
        display_name: o.product.display_name().to_string(),
        quantity: o.quantity,
        state,
        cancelable: cancelable && o.product_id.is_some(),
    }
}

/// One of the customers a signed-in user buys for (themselves, or a team they administer), with
/// what they hold.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MyCustomer {
    /// "You", "Acme".
    pub label: String,
    pub customer_type: String,
    pub customer_id: String,
    pub products: Vec<OwnedRow>,
    /// (item name, quantity).
    pub items: Vec<(String, i64)>,
    /// The card Stripe keeps for this customer: "visa ending 4242, expires 12/2030".
    pub card: Option<String>,
    /// Stripe's invoices of their subscriptions: (day, amount, status), newest first.
    pub invoices: Vec<(String, String, String)>,
}

/// The signed-in user's plans and items, and their teams' where they are `team_admin`; nothing
/// when the project sells nothing.
#[server(prefix = "/_sfn")]
pub async fn my_purchases(project_id: String) -> Result<Vec<MyCustomer>, ServerFnError> {
    use gatehouse_core::payments::{items, product, Customer, CustomerType};
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let project = ssr::project(&project_id).await?;
    let catalogue_items = items::catalogue(&project);
    if product::catalogue(&project).is_empty() && catalogue_items.is_empty() {
        return Ok(vec![]);
    }
    let core = ssr::core();
    let mut customers = vec![(
        "You".to_string(),
        Customer {
            kind: CustomerType::User,
            id: user.id.clone(),
        },
    )];
    for team in core.teams_of_user(&user.id).await.map_err(ssr::shown)? {
        let admin = core
            .require_team_permission(&project, &team.id, &user.id, "team_admin")
            .await
            .is_ok();
        if admin {
            customers.push((
                team.display_name.clone(),
                Customer {
                    kind: CustomerType::Team,
                    id: team.id.clone(),
                },
            ));
        }
    }
    let mut out = Vec::new();
    for (label, customer) in customers {
        let owned = core
            .owned_products(&project, &customer, true)
            .await
            .map_err(ssr::shown)?;
        let mut held = Vec::new();
        for item in catalogue_items
            .iter()
            .filter(|i| i.customer_type.as_deref() == Some(customer.kind.as_str()))
        {
            let i = core
                .item(&project, &customer, &item.id)
                .await
                .map_err(ssr::shown)?;
            held.push((i.display_name, i.quantity));
        }
        if customer.kind == CustomerType::Team
            && owned.is_empty()
            && held.iter().all(|(_, q)| *q == 0)
        {
            continue;
        }
        let (card, invoices) = billing(&core, &project, &customer).await?;
        out.push(MyCustomer {
            label,
            customer_type: customer.kind.as_str().to_string(),
            customer_id: customer.id,
            products: owned.iter().map(owned_row).collect(),
            items: held,
            card,
            invoices,
        });
    }
    Ok(out)
}

/// What Stripe keeps for a customer: their saved card and their invoices (none for a project
/// without Stripe, or a customer who never paid through it).
#[cfg(feature = "ssr")]
#[allow(clippy::type_complexity)]
async fn billing(
    core: &gatehouse_core::Core,
    project: &gatehouse_core::projects::Project,
    customer: &gatehouse_core::payments::Customer,
) -> Result<(Option<String>, Vec<(String, String, String)>), ServerFnError> {
    // Stripe out of reach: the page still shows the rest.
    let saved = core
        .stripe_billing(project, customer)
        .await
        .unwrap_or_default();
    let pm = &saved["default_payment_method"];
    let card = pm["last4"].as_str().map(|last4| {
        format!(
            "{} ending {last4}, expires {}/{}",
            pm["brand"].as_str().unwrap_or("card"),
            pm["exp_month"],
            pm["exp_year"]
        )
    });
    let listed = core
        .stripe_invoices(project, customer, None, 10)
        .await
        .map_err(ssr::shown)?;
    let invoices = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let day = i["created_at_millis"]
                .as_i64()
                .map(gatehouse_core::iso_time)
                .and_then(|t| t.get(..10).map(str::to_string))
                .unwrap_or_default();
            let cents = i["amount_total"].as_i64().unwrap_or(0);
            (
                day,
                gatehouse_core::payments::product::money_text(cents as i128, 2),
                i["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Ok((card, invoices))
}

/// Cancels one of the signed-in user's subscriptions (or a team's they administer): it runs to
/// the end of its period.
#[server(prefix = "/_sfn")]
pub async fn cancel_my_product(
    project_id: String,
    customer_type: String,
    customer_id: String,
    product_id: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::payments::Customer;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let project = ssr::project(&project_id).await?;
    let core = ssr::core();
    let customer = Customer::parse(&customer_type, customer_id).map_err(ssr::shown)?;
    core.require_client_customer_access(
        &project,
        Some(&user),
        &customer,
        "You can cancel only your own plans and those of teams you administer.",
    )
    .await
    .map_err(ssr::shown)?;
    core.cancel_product(
        &project,
        &customer,
        &product_id,
        None,
        true,
        &gatehouse_core::events::Who::User(user.id.clone()),
    )
    .await
    .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=canceled#payments"
    ));
    Ok(())
}
