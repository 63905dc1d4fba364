//! The hosted pages' server functions for payments: what the signed-in user holds.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MyItem {
    pub id: String,
    pub display_name: String,
    pub quantity: i64,
}

/// The signed-in user's items (every item of the catalogue a user may hold), or none when no
/// one is signed in.
#[server(prefix = "/_sfn")]
pub async fn my_items(project_id: String) -> Result<Vec<MyItem>, ServerFnError> {
    use gatehouse_core::payments::{Customer, CustomerType};
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(vec![]);
    };
    let project = ssr::project(&project_id).await?;
    let customer = Customer {
        kind: CustomerType::User,
        id: user.id.clone(),
    };
    Ok(ssr::core()
        .items_of(&project, &customer)
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|i| MyItem {
            id: i.id,
            display_name: i.display_name,
            quantity: i.quantity,
        })
        .collect())
}
