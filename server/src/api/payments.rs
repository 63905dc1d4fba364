//! `/payments/…`: a customer's items (credits, seats, quotas) and products (plans, packs), the
//! purchase URLs that lead to the hosted checkout, the admin's list of transactions, and Stripe:
//! a customer's saved card and invoices, the purchase session, Stripe's webhooks and the
//! project's Stripe keys.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::auth::Auth;
use gatehouse_core::error::Error;
use gatehouse_core::payments::checkout::{CodeCheck, PurchaseChoice, PurchaseUrlRequest};
use gatehouse_core::payments::items::QuantityChange;
use gatehouse_core::payments::product::{new_purchases_blocked, resolve_product};
use gatehouse_core::payments::products::{GrantRequest, Kind, NewPurchase, Source, SwitchRequest};
use gatehouse_core::payments::stripe::StripeKeys;
use gatehouse_core::payments::transactions::{page_limit, RefundRequest, TransactionQuery};
use gatehouse_core::payments::{Customer, CustomerType};
use gatehouse_core::validation::{read, string, Input, Shape};
use gatehouse_core::Core;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::{success, ApiResult};

/// `GET /payments/items/{customer_type}/{customer_id}/{item_id}`: the customer's quantity now
/// (clients: their own user's, or a team's where they are `team_admin`).
pub async fn read_item(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id, item_id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let customer = Customer::parse(&customer_type, customer_id)?;
    if !auth.is_server() {
        core.require_client_customer_access(
            &auth.project,
            auth.user.as_ref(),
            &customer,
            "Clients can only access their own user or team items.",
        )
        .await?;
    }
    Ok(Json(
        core.item(&auth.project, &customer, &item_id).await?.view(),
    ))
}

/// `update-quantity`'s query: whether the quantity may go below zero.
#[derive(Deserialize)]
pub struct AllowNegative {
    allow_negative: String,
}

impl Input for AllowNegative {
    fn shape(_: bool) -> Shape {
        Shape::new().field(
            "allow_negative",
            string().one_of(&[json!("true"), json!("false")]).defined(),
        )
    }
}

/// `POST /payments/items/{customer_type}/{customer_id}/{item_id}/update-quantity` (server).
pub async fn update_quantity(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id, item_id)): Path<(String, String, String)>,
    q: QueryParams,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let customer = Customer::parse(&customer_type, customer_id)?;
    let query: AllowNegative = q.read(&auth)?;
    let change: QuantityChange = body.read(&auth)?;
    core.change_item_quantity(
        &auth.project,
        &customer,
        &item_id,
        change,
        query.allow_negative == "true",
        &auth.who(),
    )
    .await?;
    Ok(Json(json!({})))
}

/// The products list's query.
#[derive(Deserialize)]
pub struct PageQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

impl Input for PageQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("cursor", string())
            .field("limit", string())
    }
}

/// The client's reading of a customer, in Stack's words for each route.
async fn client_access(
    core: &Core,
    auth: &Auth,
    customer: &Customer,
    forbidden: &str,
) -> ApiResult<()> {
    if !auth.is_server() {
        core.require_client_customer_access(&auth.project, auth.user.as_ref(), customer, forbidden)
            .await?;
    }
    Ok(())
}

/// `GET /payments/products/{customer_type}/{customer_id}`: the products the customer owns, with
/// the plans of each one's product line they may switch to; cursor pages by product id.
pub async fn list_products(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let customer = Customer::parse(&customer_type, customer_id)?;
    let query: PageQuery = q.read(&auth)?;
    let client = !auth.is_server();
    client_access(
        &core,
        &auth,
        &customer,
        "Clients can only access their own user or team products.",
    )
    .await?;
    let limit = page_limit(query.limit.as_deref())?;
    let owned = core
        .owned_products(&auth.project, &customer, client)
        .await?;
    let entries: Vec<(String, Value)> = owned
        .iter()
        .map(|o| {
            let sub = o.subscription.as_ref();
            let mut item = json!({
                "id": o.product_id,
                "quantity": o.quantity,
                "product": o.product.inline_view(),
                "type": if sub.is_some() { "subscription" } else { "one_time" },
                "subscription": sub.map(|s| json!({
                    "subscription_id": s.id,
                    "current_period_end": s.current_period_end.map(gatehouse_core::iso_time),
                    "cancel_at_period_end": s.cancel_at_period_end,
                    "is_cancelable": s.is_active_subscription(),
                })),
            });
            if let Some(line) = o.product.product_line_id() {
                let options: Vec<Value> = core
                    .switch_options(&auth.project, &customer, line, client)
                    .into_iter()
                    .filter(|(id, _)| Some(id) != o.product_id.as_ref())
                    .map(|(id, product)| json!({ "product_id": id, "product": product }))
                    .collect();
                item["switch_options"] = json!(options);
            }
            (
                o.product_id.clone().unwrap_or_else(|| "__null__".into()),
                item,
            )
        })
        .collect();
    let start = match &query.cursor {
        None => 0,
        Some(c) => entries
            .iter()
            .position(|(id, _)| id == c)
            .ok_or_else(|| Error::Status(400, "Invalid cursor".into()))?,
    };
    let page: Vec<Value> = entries
        .iter()
        .skip(start)
        .take(limit)
        .map(|(_, v)| v.clone())
        .collect();
    let next = entries.get(start + limit).map(|(id, _)| id.clone());
    Ok(Json(json!({
        "items": page,
        "is_paginated": true,
        "pagination": { "next_cursor": next },
    })))
}

/// `POST /payments/products/{customer_type}/{customer_id}` (server): grant a product, by id or
/// inline.
pub async fn grant_product(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_server()?;
    let customer = Customer::parse(&customer_type, customer_id)?;
    let req: GrantRequest = body.read(&auth)?;
    core.require_customer(&auth.project, &customer).await?;
    let product = resolve_product(
        &auth.project,
        false,
        req.product_id.as_deref(),
        req.product_inline.as_ref(),
    )?;
    let purchase = core
        .grant_product(
            &auth.project,
            NewPurchase {
                customer: &customer,
                product_id: req.product_id.as_deref(),
                product: &product,
                price_id: None,
                quantity: req.quantity.unwrap_or(1),
                source: Source::ApiGrant,
            },
            &auth.who(),
        )
        .await?;
    let mut answer = json!({ "success": true });
    if purchase.kind == Kind::Subscription {
        answer["subscription_id"] = json!(purchase.id);
    }
    Ok(Json(answer))
}

/// `DELETE …/{product_id}`'s query.
#[derive(Deserialize)]
pub struct CancelQuery {
    subscription_id: Option<String>,
}

impl Input for CancelQuery {
    fn shape(_: bool) -> Shape {
        Shape::new().field("subscription_id", string())
    }
}

/// `DELETE /payments/products/{customer_type}/{customer_id}/{product_id}`: cancel a
/// subscription (it runs to the end of its period).
pub async fn cancel_product(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id, product_id)): Path<(String, String, String)>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let customer = Customer::parse(&customer_type, customer_id)?;
    let query: CancelQuery = q.read(&auth)?;
    let forbidden = match customer.kind {
        CustomerType::User => "Clients can only cancel their own subscriptions.",
        _ => "Clients can only cancel user or team subscriptions they control.",
    };
    client_access(&core, &auth, &customer, forbidden).await?;
    core.cancel_product(
        &auth.project,
        &customer,
        &product_id,
        query.subscription_id.as_deref(),
        !auth.is_server(),
        &auth.who(),
    )
    .await?;
    Ok(Json(json!({ "success": true })))
}

/// `POST /payments/products/{customer_type}/{customer_id}/switch`: move a subscription to
/// another plan of its product line.
pub async fn switch_product(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    if customer_type == "custom" {
        return Err(gatehouse_core::validation::invalid(
            "params.customer_type must be one of the following values: user, team",
        )
        .into());
    }
    let customer = Customer::parse(&customer_type, customer_id)?;
    let req: SwitchRequest = body.read(&auth)?;
    if new_purchases_blocked(&auth.project) {
        return Err(Error::NewPurchasesBlocked.into());
    }
    client_access(
        &core,
        &auth,
        &customer,
        "Clients can only manage their own subscriptions.",
    )
    .await?;
    core.switch_product(
        &auth.project,
        &customer,
        &req,
        !auth.is_server(),
        &auth.who(),
    )
    .await?;
    Ok(Json(json!({ "success": true })))
}

/// `POST /payments/purchases/create-purchase-url`: a link to the hosted checkout.
pub async fn create_purchase_url(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    let req: PurchaseUrlRequest = body.read(&auth)?;
    let url = core
        .create_purchase_url(&auth.project, auth.user.as_ref(), !auth.is_server(), req)
        .await?;
    Ok(Json(json!({ "url": url })))
}

/// `POST /payments/purchases/validate-code`: what the checkout shows for a purchase code.
pub async fn validate_code(State(core): State<Core>, body: Body) -> ApiResult<Json<Value>> {
    let check: CodeCheck = read("body", body.0, &CodeCheck::shape(true))?;
    Ok(Json(core.validate_purchase_code(&check).await?))
}

/// `GET /payments/purchases/validate-code`'s query.
#[derive(Deserialize)]
pub struct CodeQuery {
    full_code: String,
    return_url: Option<String>,
}

impl Input for CodeQuery {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("full_code", string().defined())
            .field("return_url", string().url())
    }
}

/// `GET /payments/purchases/validate-code`: whether the code's project exists (and trusts the
/// return URL), as Stack answers it.
pub async fn code_project_exists(
    State(core): State<Core>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: CodeQuery = read(
        "query",
        gatehouse_core::validation::query_value(&q.0),
        &CodeQuery::shape(true),
    )?;
    let project = core.purchase_code_project(&query.full_code).await?;
    if let Some(url) = &query.return_url {
        project.check_callback_url(url)?;
    }
    Ok(Json(json!({ "valid": true })))
}

/// `POST /internal/payments/test-mode-purchase-session`: complete a purchase in test mode.
pub async fn test_mode_purchase(State(core): State<Core>, body: Body) -> ApiResult<Json<Value>> {
    let choice: PurchaseChoice = read("body", body.0, &PurchaseChoice::shape(true))?;
    core.test_mode_purchase(&choice).await?;
    Ok(success())
}

/// `GET /internal/payments/transactions` (admin): purchases, renewals and changes by hand,
/// newest first.
pub async fn transactions(
    State(core): State<Core>,
    Authed(auth): Authed,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let query: TransactionQuery = q.read(&auth)?;
    let (list, next) = core.transactions(&auth.project, &query).await?;
    Ok(Json(json!({ "transactions": list, "next_cursor": next })))
}

/// `POST /internal/payments/transactions/refund` (admin): refund a whole purchase.
pub async fn refund(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let req: RefundRequest = body.read(&auth)?;
    core.refund_purchase(&auth.project, &req, &auth.who())
        .await?;
    Ok(Json(json!({ "success": true })))
}

/// `POST /payments/purchases/purchase-session`: charge the customer's saved card for a purchase
/// code's product (Stripe), answering the client secret Stripe.js confirms.
pub async fn purchase_session(State(core): State<Core>, body: Body) -> ApiResult<Json<Value>> {
    let choice: PurchaseChoice = read("body", body.0, &PurchaseChoice::shape(true))?;
    let session = core.stripe_purchase_session(&choice).await?;
    Ok(Json(json!({ "client_secret": session.client_secret })))
}

/// The customer of a billing route: a user or a team, read as Stack's billing routes allow.
async fn billing_customer(
    core: &Core,
    auth: &Auth,
    customer_type: &str,
    customer_id: String,
    forbidden: &str,
) -> ApiResult<Customer> {
    if customer_type == "custom" {
        return Err(gatehouse_core::validation::invalid(
            "params.customer_type must be one of the following values: user, team",
        )
        .into());
    }
    let customer = Customer::parse(customer_type, customer_id)?;
    client_access(core, auth, &customer, forbidden).await?;
    Ok(customer)
}

/// `POST /payments/payment-method/{customer_type}/{customer_id}/setup-intent`: a SetupIntent for
/// saving the customer's card.
pub async fn setup_intent(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let customer = billing_customer(
        &core,
        &auth,
        &customer_type,
        customer_id,
        "Clients can only manage their own payment method.",
    )
    .await?;
    let secret = core.stripe_setup_intent(&auth.project, &customer).await?;
    // The project's own Stripe account: there is no connected account to name.
    Ok(Json(
        json!({ "client_secret": secret, "stripe_account_id": "" }),
    ))
}

/// `set-default`'s body.
#[derive(Deserialize)]
pub struct SetDefault {
    setup_intent_id: String,
}

impl Input for SetDefault {
    fn shape(_: bool) -> Shape {
        Shape::new().field("setup_intent_id", string().defined())
    }
}

/// `POST /payments/payment-method/{customer_type}/{customer_id}/set-default`: the card a
/// SetupIntent saved becomes the customer's default.
pub async fn set_default_payment_method(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
    body: Body,
) -> ApiResult<Json<Value>> {
    let req: SetDefault = body.read(&auth)?;
    let customer = billing_customer(
        &core,
        &auth,
        &customer_type,
        customer_id,
        "Clients can only manage their own payment method.",
    )
    .await?;
    let card = core
        .stripe_set_default(&auth.project, &customer, &req.setup_intent_id)
        .await?;
    Ok(Json(
        json!({ "success": true, "default_payment_method": card }),
    ))
}

/// `GET /payments/billing/{customer_type}/{customer_id}`: the customer's default card.
pub async fn billing(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let customer = billing_customer(
        &core,
        &auth,
        &customer_type,
        customer_id,
        "Clients can only manage their own billing.",
    )
    .await?;
    Ok(Json(core.stripe_billing(&auth.project, &customer).await?))
}

/// `GET /payments/invoices/{customer_type}/{customer_id}`: the customer's subscription invoices.
pub async fn invoices(
    State(core): State<Core>,
    Authed(auth): Authed,
    Path((customer_type, customer_id)): Path<(String, String)>,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    let query: PageQuery = q.read(&auth)?;
    let customer = billing_customer(
        &core,
        &auth,
        &customer_type,
        customer_id,
        "Clients can only manage their own billing.",
    )
    .await?;
    let limit = page_limit(query.limit.as_deref())? as i64;
    Ok(Json(
        core.stripe_invoices(&auth.project, &customer, query.cursor.as_deref(), limit)
            .await?,
    ))
}

/// `POST /integrations/stripe/webhooks?project_id=…`: Stripe's signed events.
pub async fn stripe_webhook(
    State(core): State<Core>,
    QueryParams(query): QueryParams,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let project_id = query
        .iter()
        .find(|(k, _)| k == "project_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    core.stripe_webhook(project_id, &body, signature).await?;
    Ok(Json(json!({ "received": true })))
}

/// `GET /internal/payments/stripe` (admin; Gatehouse's own): the project's Stripe connection,
/// without its secrets.
pub async fn stripe_settings(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let conn = core.stripe_connection(&auth.project).await?;
    Ok(Json(json!({
        "connected": conn.is_some(),
        "publishable_key": conn.as_ref().map(|c| c.publishable_key.clone()),
        "secret_key_last4": conn.as_ref().map(|c| c.secret_key_hint.clone()),
        "webhook_url": core.stripe_webhook_url(&auth.project),
    })))
}

/// `PUT /internal/payments/stripe` (admin): connect the project's Stripe account.
pub async fn save_stripe_settings(
    State(core): State<Core>,
    Authed(auth): Authed,
    body: Body,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let keys: StripeKeys = body.read(&auth)?;
    core.save_stripe_keys(&auth.project, Some(&keys), &auth.who())
        .await?;
    Ok(success())
}

/// `DELETE /internal/payments/stripe` (admin): disconnect it.
pub async fn remove_stripe_settings(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    core.save_stripe_keys(&auth.project, None, &auth.who())
        .await?;
    Ok(success())
}

/// `POST /internal/payments/stripe/check` (admin): whether Stripe takes the secret key.
pub async fn check_stripe(
    State(core): State<Core>,
    Authed(auth): Authed,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let message = core.check_stripe(&auth.project).await?;
    Ok(Json(json!({ "ok": true, "message": message })))
}
