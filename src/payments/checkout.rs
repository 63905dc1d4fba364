//! Buying: a purchase URL leads a customer to Gatehouse's hosted checkout. The URL carries a
//! one-time code (24 hours) that names the customer and the product as it was when the URL was
//! made; the checkout page reads it (`validate-code`), and the purchase spends it. In test mode
//! the page's "pay (test)" completes the purchase with no payment processor: the product is
//! granted, the purchase recorded as a test-mode transaction, and a receipt mailed.

use serde::Deserialize;
use serde_json::{json, Value};

use super::product::{
    inline_product, new_purchases_blocked, require_customer_type, resolve_product, test_mode,
    Product,
};
use super::products::{
    already_owned, grant_in, queue_payment_email, NewPurchase, Purchase, Source,
};
use super::{Customer, CustomerType};
use crate::codes::{consume_code, issue_code, Code, CodeKind, NewCode};
use crate::emails::templates::PAYMENT_RECEIPT;
use crate::error::{Error, Result};
use crate::events::Who;
use crate::projects::Project;
use crate::users::User;
use crate::validation::{integer, object, string, Input, Shape};
use crate::Core;

const LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// `POST /payments/purchases/create-purchase-url`'s body.
#[derive(Deserialize)]
pub struct PurchaseUrlRequest {
    pub customer_type: String,
    pub customer_id: String,
    pub product_id: Option<String>,
    pub product_inline: Option<Value>,
    pub return_url: Option<String>,
}

impl Input for PurchaseUrlRequest {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field(
                "customer_type",
                string()
                    .one_of(&[json!("user"), json!("team"), json!("custom")])
                    .defined(),
            )
            .field("customer_id", string().defined())
            .field("product_id", string())
            .field("product_inline", object().custom(inline_product))
            .field("return_url", string().url())
    }
}

/// The checkout's choice: which price, how many (`purchase-session`, the test-mode purchase).
#[derive(Deserialize)]
pub struct PurchaseChoice {
    pub full_code: String,
    pub price_id: String,
    pub quantity: Option<i64>,
}

impl Input for PurchaseChoice {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("full_code", string().defined())
            .field("price_id", string().defined())
            .field(
                "quantity",
                integer().min(1.0).max(super::items::MAX_DELTA as f64),
            )
    }
}

/// `validate-code`'s body.
#[derive(Deserialize)]
pub struct CodeCheck {
    pub full_code: String,
    pub return_url: Option<String>,
}

impl Input for CodeCheck {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("full_code", string().defined())
            .field("return_url", string().url())
    }
}

/// A purchase code's checkout, as the hosted page and `validate-code` read it.
pub struct Checkout {
    pub project: Project,
    pub code: Code,
    pub customer: Customer,
    pub product_id: Option<String>,
    pub product: Product,
    /// Who made the URL, when a signed-in user did (their receipt).
    pub purchaser: Option<String>,
}

impl Checkout {
    pub(crate) fn new_purchase<'a>(
        &'a self,
        price_id: &'a str,
        quantity: i64,
        source: Source,
    ) -> NewPurchase<'a> {
        NewPurchase {
            customer: &self.customer,
            product_id: self.product_id.as_deref(),
            product: &self.product,
            price_id: Some(price_id),
            quantity,
            source,
        }
    }
}

/// `<project id>_<code>`, Stack's full code.
fn split_full_code(full: &str) -> Result<(&str, &str)> {
    full.split_once('_')
        .filter(|(p, c)| !p.is_empty() && !c.is_empty())
        .ok_or(Error::VerificationCodeNotFound)
}

impl Core {
    /// A purchase URL for `req`'s customer and product (clients: for themselves, or a team they
    /// administer), leading to the hosted checkout.
    pub async fn create_purchase_url(
        &self,
        project: &Project,
        user: Option<&User>,
        client: bool,
        req: PurchaseUrlRequest,
    ) -> Result<String> {
        if new_purchases_blocked(project) {
            return Err(Error::NewPurchasesBlocked);
        }
        let customer = Customer::parse(&req.customer_type, req.customer_id)?;
        if client {
            self.require_client_customer_access(
                project,
                user,
                &customer,
                "Clients can only create purchase URLs for their own user or teams they have admin access to.",
            )
            .await?;
        }
        let product = resolve_product(
            project,
            client,
            req.product_id.as_deref(),
            req.product_inline.as_ref(),
        )?;
        require_customer_type(&product, req.product_id.as_deref(), &customer)?;
        if let Some(id) = req.product_id.as_deref().filter(|_| !product.stackable()) {
            let owned = self.owned_products(project, &customer, false).await?;
            if already_owned(&owned, Some(id), &product) {
                return Err(Error::ProductAlreadyGranted {
                    product_id: id.into(),
                    customer_id: customer.id.clone(),
                });
            }
        }
        if let Some(url) = &req.return_url {
            project.check_callback_url(url)?;
        }
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::PurchaseUrl,
                user_id: user.map(|u| u.id.clone()),
                method: json!({}),
                data: json!({
                    "customer_type": customer.kind.as_str(),
                    "customer_id": customer.id,
                    "product_id": req.product_id,
                    "product": product.0,
                }),
                redirect_url: None,
                lifetime_ms: Some(LIFETIME_MS),
            },
        )
        .await?;
        tx.commit().await?;
        let mut url = format!(
            "{}/handler/{}/purchase/{}_{}",
            self.public_url, project.id, project.id, issued.code
        );
        if let Some(back) = &req.return_url {
            url.push_str("?return_url=");
            url.extend(url::form_urlencoded::byte_serialize(back.as_bytes()));
        }
        Ok(url)
    }

    /// The checkout a full code opens (`VERIFICATION_CODE_*` when it does not). Reading it counts
    /// no attempt (its 45 characters are not guessed, and the page is read more than once); a
    /// used code is reported as used, for the page that thanks the buyer.
    pub async fn checkout(&self, full_code: &str) -> Result<Checkout> {
        let project = self.purchase_code_project(full_code).await?;
        let (_, text) = split_full_code(full_code)?;
        let code = self
            .code_by_text(CodeKind::PurchaseUrl, text)
            .await?
            .filter(|c| c.project_id == project.id)
            .ok_or(Error::VerificationCodeNotFound)?;
        if code.expires_at < crate::now_ms() {
            return Err(Error::VerificationCodeExpired);
        }
        let data = &code.data;
        let customer = Customer {
            kind: data["customer_type"]
                .as_str()
                .and_then(CustomerType::parse)
                .ok_or(Error::VerificationCodeNotFound)?,
            id: data["customer_id"].as_str().unwrap_or_default().to_string(),
        };
        Ok(Checkout {
            product_id: data["product_id"].as_str().map(str::to_string),
            product: Product(data["product"].clone()),
            purchaser: code.user_id.clone(),
            customer,
            project,
            code,
        })
    }

    /// The checkout of a code not used yet (`VERIFICATION_CODE_ALREADY_USED`).
    pub(crate) async fn open_checkout(&self, full_code: &str) -> Result<Checkout> {
        let c = self.checkout(full_code).await?;
        if c.code.used_at.is_some() {
            return Err(Error::VerificationCodeAlreadyUsed);
        }
        Ok(c)
    }

    /// `POST /payments/purchases/validate-code`: what the checkout shows.
    pub async fn validate_purchase_code(&self, check: &CodeCheck) -> Result<Value> {
        let c = self.open_checkout(&check.full_code).await?;
        if let Some(url) = &check.return_url {
            c.project.check_callback_url(url)?;
        }
        let owned = self.owned_products(&c.project, &c.customer, false).await?;
        let already = already_owned(&owned, c.product_id.as_deref(), &c.product);
        let bases = c.product.add_on_to();
        let conflicting: Vec<Value> = match c.product.product_line_id() {
            Some(line) if c.product.is_subscribable() => owned
                .iter()
                .filter(|o| o.product.product_line_id() == Some(line))
                .filter_map(|o| o.product_id.as_deref().map(|id| (id, o)))
                .filter(|(id, _)| !bases.contains(id))
                .map(
                    |(id, o)| json!({ "product_id": id, "display_name": o.product.display_name() }),
                )
                .collect(),
            _ => vec![],
        };
        Ok(json!({
            "product": c.product.inline_view(),
            "stripe_account_id": "",
            "project_id": c.project.id,
            "project_logo_url": Value::Null,
            "already_bought_non_stackable": already,
            "conflicting_products": conflicting,
            "test_mode": test_mode(&c.project),
            "charges_enabled": false,
        }))
    }

    /// The project a full code names (`GET validate-code`: Stack answers `valid` for any code
    /// of a project that exists).
    pub async fn purchase_code_project(&self, full_code: &str) -> Result<Project> {
        let (project_id, _) = split_full_code(full_code)?;
        self.project(project_id)
            .await?
            .ok_or(Error::VerificationCodeNotFound)
    }

    /// The checkout's "pay (test)": in test mode, completes the purchase with no payment — the
    /// product granted, the code spent and a receipt queued, in one transaction.
    pub async fn test_mode_purchase(
        &self,
        choice: &PurchaseChoice,
    ) -> Result<(Checkout, Purchase)> {
        let c = self.open_checkout(&choice.full_code).await?;
        if new_purchases_blocked(&c.project) {
            return Err(Error::NewPurchasesBlocked);
        }
        if !test_mode(&c.project) {
            return Err(Error::Status(
                403,
                "Test mode is not enabled for this project".into(),
            ));
        }
        self.require_customer(&c.project, &c.customer).await?;
        let who = c.purchaser.clone().map(Who::User).unwrap_or(Who::Client);
        let new = c.new_purchase(
            &choice.price_id,
            choice.quantity.unwrap_or(1),
            Source::TestMode,
        );
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &c.code).await?;
        let purchase = grant_in(&mut tx, &c.project, &new, &who).await?;
        let variables = json!({
            "productName": purchase.product.display_name(),
            "amount": format!("{} (test mode, nothing was charged)", purchase.describe_price()),
            "quantity": purchase.quantity,
        });
        queue_payment_email(
            &mut tx,
            &self.public_url,
            &c.project,
            (c.purchaser.as_deref(), &c.customer),
            PAYMENT_RECEIPT,
            variables,
        )
        .await?;
        tx.commit().await?;
        Ok((c, purchase))
    }
}
