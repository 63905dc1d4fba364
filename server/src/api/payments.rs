//! `/payments/…`: a customer's items (credits, seats, quotas): their quantity, and changes to it.

use axum::extract::{Path, State};
use axum::Json;
use gatehouse_core::payments::items::QuantityChange;
use gatehouse_core::payments::Customer;
use gatehouse_core::validation::{string, Input, Shape};
use gatehouse_core::Core;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Authed, Body, QueryParams};
use super::ApiResult;

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
