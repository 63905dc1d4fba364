//! Stripe, for a project that sells for real: the project connects its own Stripe account (its
//! secret key and webhook signing secret stored sealed; no platform account in between). The
//! hosted checkout saves the buyer's card with a SetupIntent (Stack's `setup-intent` and
//! `set-default`), then `purchase-session` charges it — a PaymentIntent for a one-time price, a
//! Subscription for a recurring one — and answers the client secret Stripe.js confirms when the
//! bank asks for more. What it buys waits in `stripe_checkouts` until Stripe says it is paid: the
//! answer itself when the charge succeeds at once, else Stripe's signed webhook
//! (`POST /integrations/stripe/webhooks?project_id=…`, handled once per event id), which also
//! renews subscriptions (`invoice.paid`), tells the customer when a payment fails, and ends a
//! subscription Stripe deleted. Refunds and cancellations go to Stripe before they are recorded.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use super::checkout::PurchaseChoice;
use super::product::{new_purchases_blocked, price_interval, test_mode, Product, Unit, CURRENCIES};
use super::products::{
    end_purchase, grant_in, purchase_by_stripe_ref, queue_payment_email, renew, Kind, NewPurchase,
    Purchase, Source,
};
use super::{Customer, CustomerType};
use crate::codes::consume_code;
use crate::emails::templates::{PAYMENT_FAILED, PAYMENT_RECEIPT};
use crate::error::{Error, Result};
use crate::events::{lock_project, record, Change, Tx, Who};
use crate::projects::Project;
use crate::validation::{string, Input, Shape};
use crate::{now_ms, Core};

/// The job that ends at Stripe a subscription Gatehouse ended (a plan replaced by another):
/// `{"purchase_id"}`.
pub const STRIPE_END_JOB: &str = "payments.stripe_end";

/// Where Stripe is: its API (`GATEHOUSE_STRIPE_API_URL`, default `https://api.stripe.com`) and
/// Stripe.js (`GATEHOUSE_STRIPE_JS_URL`, default `https://js.stripe.com/v3/`). Tests point both
/// at a fake Stripe server.
#[derive(Clone, Debug)]
pub struct StripeUrls {
    pub api: String,
    pub js: String,
}

impl Default for StripeUrls {
    fn default() -> StripeUrls {
        StripeUrls::new(None, None)
    }
}

impl StripeUrls {
    pub fn new(api: Option<String>, js: Option<String>) -> StripeUrls {
        StripeUrls {
            api: api
                .unwrap_or_else(|| "https://api.stripe.com".into())
                .trim_end_matches('/')
                .into(),
            js: js.unwrap_or_else(|| "https://js.stripe.com/v3/".into()),
        }
    }
}

/// A project's Stripe keys, as the dashboard saves them.
#[derive(Clone, Deserialize)]
pub struct StripeKeys {
    pub secret_key: String,
    pub publishable_key: String,
    pub webhook_secret: String,
}

impl Input for StripeKeys {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("secret_key", string().defined().non_empty())
            .field("publishable_key", string().defined().non_empty())
            .field("webhook_secret", string().defined().non_empty())
    }
}

/// What admins see of a project's Stripe connection: never a secret.
#[derive(Clone, Debug)]
pub struct StripeConnection {
    pub publishable_key: String,
    /// The secret key's last four characters.
    pub secret_key_hint: String,
}

/// A card as Stack's billing routes show it.
fn card_summary(pm: &Value) -> Value {
    let card = &pm["card"];
    json!({
        "id": pm["id"],
        "brand": card["brand"].as_str(),
        "last4": card["last4"].as_str(),
        "exp_month": card["exp_month"].as_i64(),
        "exp_year": card["exp_year"].as_i64(),
    })
}

/// What `purchase-session` started: the client secret Stripe.js confirms, and whether Stripe
/// took the payment already (`succeeded`: the product is granted).
pub struct Session {
    pub client_secret: String,
    pub succeeded: bool,
}

fn not_set_up() -> Error {
    Error::Status(
        400,
        "Payments are not set up in this project: it has no Stripe account connected.".into(),
    )
}

/// Stripe's form encoding of nested parameters, built as pairs (`items[0][plan]`).
type Form = Vec<(String, String)>;

fn pair(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

struct Api<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    key: &'a str,
}

impl Api<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, form: &Form) -> Result<Value> {
        let url = format!("{}/v1/{path}", self.base);
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.key)
            .timeout(Duration::from_secs(20));
        if method == reqwest::Method::GET {
            req = req.query(form);
        } else {
            req = req.form(form);
        }
        let res = req.send().await.map_err(|e| {
            tracing::warn!("Stripe: {path}: {e}");
            Error::Status(503, "Stripe could not be reached; please try again.".into())
        })?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or("no reason given")
            .to_string();
        tracing::info!("Stripe: {path}: {status}: {message}");
        Err(match status.as_u16() {
            401 | 403 => Error::Status(
                400,
                format!("Stripe refused the project's secret key: {message}"),
            ),
            402 => Error::Status(402, format!("The payment was declined: {message}")),
            _ => Error::Status(400, format!("Stripe refused the request: {message}")),
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::GET, path, &Vec::new()).await
    }

    async fn post(&self, path: &str, form: Form) -> Result<Value> {
        self.call(reqwest::Method::POST, path, &form).await
    }

    async fn delete(&self, path: &str) -> Result<Value> {
        self.call(reqwest::Method::DELETE, path, &Vec::new()).await
    }
}

/// The currency a price is charged in through Stripe (the first the price names) and its
/// amount for `quantity`, in minor units.
fn stripe_amount(price: &Value, quantity: i64) -> Option<(&'static str, i128)> {
    CURRENCIES.iter().find_map(|(code, decimals)| {
        let units = super::product::minor_units(price[code].as_str()?, *decimals)?;
        Some((*code, units.checked_mul(quantity as i128)?))
    })
}

/// Stripe's `t=…,v1=…` signature over `t.payload`, HMAC-SHA256 with the endpoint's secret,
/// within five minutes of its time.
fn verify_signature(secret: &str, header: &str, payload: &[u8], now_s: i64) -> bool {
    use hmac::Mac;
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_ascii_lowercase()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now_s - t).abs() > 300 {
        return false;
    }
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let expected = crate::crypto::hex(&mac.finalize().into_bytes());
    sigs.iter()
        .any(|sig| crate::crypto::constant_time_eq(sig.as_bytes(), expected.as_bytes()))
}

impl Core {
    fn stripe_api<'a>(&'a self, keys: &'a StripeKeys) -> Api<'a> {
        Api {
            http: self.http(),
            base: &self.stripe.api,
            key: &keys.secret_key,
        }
    }

    /// The project's Stripe keys, opened; `None` when it has none.
    pub async fn stripe_keys(&self, project_id: &str) -> Result<Option<StripeKeys>> {
        let row = sqlx::query(
            "SELECT secret_key, publishable_key, webhook_secret FROM stripe_accounts WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(&self.db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let open = |col: &str| -> Result<String> {
            let sealed: String = row.try_get(col)?;
            self.sealing.open(&sealed).ok_or_else(|| {
                Error::Internal(format!(
                    "the project's Stripe {col} cannot be opened with this server secret"
                ))
            })
        };
        Ok(Some(StripeKeys {
            secret_key: open("secret_key")?,
            publishable_key: row.try_get("publishable_key")?,
            webhook_secret: open("webhook_secret")?,
        }))
    }

    /// What the dashboard shows of the project's Stripe connection.
    pub async fn stripe_connection(&self, project: &Project) -> Result<Option<StripeConnection>> {
        Ok(self.stripe_keys(&project.id).await?.map(|keys| {
            let n = keys.secret_key.chars().count();
            StripeConnection {
                secret_key_hint: keys.secret_key.chars().skip(n.saturating_sub(4)).collect(),
                publishable_key: keys.publishable_key,
            }
        }))
    }

    /// The webhook endpoint to add in the project's Stripe account.
    pub fn stripe_webhook_url(&self, project: &Project) -> String {
        format!(
            "{}/api/v1/integrations/stripe/webhooks?project_id={}",
            self.public_url, project.id
        )
    }

    /// Connects (or, with `None`, disconnects) the project's Stripe account. The keys are
    /// checked for their kind here; [`Core::check_stripe`] asks Stripe.
    pub async fn save_stripe_keys(
        &self,
        project: &Project,
        keys: Option<&StripeKeys>,
        who: &Who,
    ) -> Result<()> {
        if let Some(k) = keys {
            let key = |v: &str, prefixes: &[&str], what: &str| match prefixes
                .iter()
                .any(|p| v.trim().starts_with(p))
            {
                true => Ok(()),
                false => Err(crate::validation::invalid(what)),
            };
            key(
                &k.secret_key,
                &["sk_", "rk_"],
                "The secret key is Stripe's secret (sk_…) or restricted (rk_…) key",
            )?;
            key(
                &k.publishable_key,
                &["pk_"],
                "The publishable key is Stripe's pk_… key",
            )?;
            key(
                &k.webhook_secret,
                &["whsec_"],
                "The webhook signing secret is the endpoint's whsec_… secret",
            )?;
        }
        let mut tx = self.begin().await?;
        let change = match keys {
            Some(k) => {
                let publishable = k.publishable_key.trim();
                sqlx::query(
                    "INSERT INTO stripe_accounts (project_id, secret_key, publishable_key, webhook_secret, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE SET \
                     secret_key = excluded.secret_key, publishable_key = excluded.publishable_key, \
                     webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at",
                )
                .bind(&project.id)
                .bind(self.sealing.seal(k.secret_key.trim()))
                .bind(publishable)
                .bind(self.sealing.seal(k.webhook_secret.trim()))
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
                Change::new(
                    "payments.stripe_connected",
                    &project.id,
                    json!({ "publishable_key": publishable }),
                )
            }
            None => {
                sqlx::query("DELETE FROM stripe_accounts WHERE project_id = $1")
                    .bind(&project.id)
                    .execute(&mut *tx)
                    .await?;
                Change::new("payments.stripe_disconnected", &project.id, json!({}))
            }
        };
        record(&mut tx, &project.id, who, change).await?;
        tx.commit().await
    }

    /// Asks Stripe whether it takes the project's secret key: a sentence for the admin.
    pub async fn check_stripe(&self, project: &Project) -> Result<String> {
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        let balance = self.stripe_api(&keys).get("balance").await?;
        Ok(match balance["livemode"].as_bool() {
            Some(true) => "Connected: Stripe accepted the secret key (live mode).".into(),
            _ => "Connected: Stripe accepted the secret key (test mode).".into(),
        })
    }

    /// The Stripe customer of `customer`, made on first use.
    async fn stripe_customer(
        &self,
        project: &Project,
        keys: &StripeKeys,
        customer: &Customer,
        create: bool,
    ) -> Result<Option<String>> {
        let find = || async {
            let row: Option<(String,)> = sqlx::query_as(
                "SELECT stripe_customer_id FROM stripe_customers \
                 WHERE project_id = $1 AND customer_type = $2 AND customer_id = $3",
            )
            .bind(&project.id)
            .bind(customer.kind.as_str())
            .bind(&customer.id)
            .fetch_optional(&self.db.pool)
            .await?;
            Ok::<_, Error>(row.map(|(id,)| id))
        };
        if let Some(id) = find().await? {
            return Ok(Some(id));
        }
        if !create {
            return Ok(None);
        }
        let mut form = vec![
            pair("metadata[project_id]", &project.id),
            pair("metadata[customer_type]", customer.kind.as_str()),
            pair("metadata[customer_id]", &customer.id),
        ];
        if customer.kind == CustomerType::User {
            if let Some(email) = self
                .user(&project.id, &customer.id)
                .await?
                .and_then(|u| u.primary_email)
            {
                form.push(pair("email", email));
            }
        }
        let made = self.stripe_api(keys).post("customers", form).await?;
        let id = made["id"].as_str().unwrap_or_default().to_string();
        sqlx::query(
            "INSERT INTO stripe_customers (project_id, customer_type, customer_id, stripe_customer_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&project.id)
        .bind(customer.kind.as_str())
        .bind(&customer.id)
        .bind(&id)
        .execute(&self.db.pool)
        .await?;
        // Two first uses at once: the one stored wins.
        find().await
    }

    /// `POST /payments/payment-method/{type}/{id}/setup-intent`: a SetupIntent for saving the
    /// customer's card, its client secret.
    pub async fn stripe_setup_intent(
        &self,
        project: &Project,
        customer: &Customer,
    ) -> Result<String> {
        self.require_customer(project, customer).await?;
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        let cus = self
            .stripe_customer(project, &keys, customer, true)
            .await?
            .unwrap_or_default();
        let seti = self
            .stripe_api(&keys)
            .post(
                "setup_intents",
                vec![
                    pair("customer", cus),
                    pair("usage", "off_session"),
                    pair("payment_method_types[0]", "card"),
                ],
            )
            .await?;
        Ok(seti["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// `POST …/set-default`: the card a succeeded SetupIntent saved becomes the customer's
    /// default; its summary.
    pub async fn stripe_set_default(
        &self,
        project: &Project,
        customer: &Customer,
        setup_intent_id: &str,
    ) -> Result<Value> {
        let well_formed = setup_intent_id.starts_with("seti_")
            && setup_intent_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !well_formed {
            return Err(crate::validation::invalid(
                "body.setup_intent_id must be a SetupIntent id (seti_…)",
            ));
        }
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        let api = self.stripe_api(&keys);
        let cus = self
            .stripe_customer(project, &keys, customer, true)
            .await?
            .unwrap_or_default();
        let seti = api.get(&format!("setup_intents/{setup_intent_id}")).await?;
        if seti["customer"].as_str().is_some_and(|c| c != cus) {
            return Err(Error::Status(
                403,
                "Setup intent does not belong to this customer.".into(),
            ));
        }
        if seti["status"] != "succeeded" {
            return Err(Error::Status(400, "Setup intent has not succeeded.".into()));
        }
        let pm = seti["payment_method"]
            .as_str()
            .ok_or_else(|| Error::Status(400, "Setup intent has no payment method.".into()))?;
        api.post(
            &format!("customers/{cus}"),
            vec![pair("invoice_settings[default_payment_method]", pm)],
        )
        .await?;
        Ok(card_summary(
            &api.get(&format!("payment_methods/{pm}")).await?,
        ))
    }

    /// `GET /payments/billing/{type}/{id}`: whether the customer is known to Stripe, and their
    /// default card.
    pub async fn stripe_billing(&self, project: &Project, customer: &Customer) -> Result<Value> {
        let none = json!({ "has_customer": false, "default_payment_method": null });
        let Some(keys) = self.stripe_keys(&project.id).await? else {
            return Ok(none);
        };
        let Some(cus) = self
            .stripe_customer(project, &keys, customer, false)
            .await?
        else {
            return Ok(none);
        };
        let api = self.stripe_api(&keys);
        let found = api.get(&format!("customers/{cus}")).await?;
        let card = match found["invoice_settings"]["default_payment_method"].as_str() {
            Some(pm) => card_summary(&api.get(&format!("payment_methods/{pm}")).await?),
            None => Value::Null,
        };
        Ok(json!({ "has_customer": true, "default_payment_method": card }))
    }

    /// `GET /payments/invoices/{type}/{id}`: the customer's subscription invoices, newest first,
    /// in cursor pages (the cursor is the last invoice's id).
    pub async fn stripe_invoices(
        &self,
        project: &Project,
        customer: &Customer,
        cursor: Option<&str>,
        limit: i64,
    ) -> Result<Value> {
        let pivot: Option<i64> = match cursor {
            None => None,
            Some(c) => Some(
                sqlx::query_as::<_, (i64,)>(
                    "SELECT created_at FROM stripe_invoices WHERE project_id = $1 AND id = $2",
                )
                .bind(&project.id)
                .bind(c)
                .fetch_optional(&self.db.pool)
                .await?
                .ok_or_else(|| Error::Status(400, "Invalid cursor".into()))?
                .0,
            ),
        };
        let rows = sqlx::query(
            "SELECT id, status, amount_total, hosted_invoice_url, created_at FROM stripe_invoices \
             WHERE project_id = $1 AND customer_type = $2 AND customer_id = $3 \
             AND ($4 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $5)) \
             ORDER BY created_at DESC, id DESC LIMIT $6",
        )
        .bind(&project.id)
        .bind(customer.kind.as_str())
        .bind(&customer.id)
        .bind(pivot)
        .bind(cursor.unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        let mut items = Vec::new();
        let mut last = None;
        for r in &rows {
            let id: String = r.try_get("id")?;
            items.push(json!({
                "created_at_millis": r.try_get::<i64, _>("created_at")?,
                "status": r.try_get::<String, _>("status")?,
                "amount_total": r.try_get::<i64, _>("amount_total")?,
                "hosted_invoice_url": r.try_get::<Option<String>, _>("hosted_invoice_url")?,
            }));
            last = Some(id);
        }
        let next = if rows.len() as i64 == limit {
            last
        } else {
            None
        };
        Ok(json!({ "items": items, "is_paginated": true, "pagination": { "next_cursor": next } }))
    }

    /// `POST /payments/purchases/purchase-session`: charges the customer's saved card for the
    /// code's product at the chosen price (a PaymentIntent, or a Subscription for a recurring
    /// price), spends the code, and grants the product when Stripe took the payment at once.
    pub async fn stripe_purchase_session(&self, choice: &PurchaseChoice) -> Result<Session> {
        let c = self.open_checkout(&choice.full_code).await?;
        let project = &c.project;
        if new_purchases_blocked(project) {
            return Err(Error::NewPurchasesBlocked);
        }
        if test_mode(project) {
            return Err(Error::Status(
                400,
                "This project is in test mode: its checkout completes purchases without Stripe."
                    .into(),
            ));
        }
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        self.require_customer(project, &c.customer).await?;
        let quantity = choice.quantity.unwrap_or(1);
        let new = c.new_purchase(&choice.price_id, quantity, Source::Stripe);
        self.check_new_purchase(project, &new).await?;
        let price = c
            .product
            .select_price(Some(&choice.price_id))?
            .map(|(_, p)| p)
            .unwrap_or_default();
        let (currency, amount) = stripe_amount(&price, quantity)
            .filter(|(_, a)| *a > 0)
            .ok_or_else(|| {
                Error::Status(
                    400,
                    "This price is free: a free product is granted, not bought through Stripe."
                        .into(),
                )
            })?;
        let api = self.stripe_api(&keys);
        let cus = self
            .stripe_customer(project, &keys, &c.customer, true)
            .await?
            .unwrap_or_default();
        let default_pm = api.get(&format!("customers/{cus}")).await?["invoice_settings"]
            ["default_payment_method"]
            .as_str()
            .map(str::to_string);
        let metadata = |form: &mut Form| {
            form.push(pair("metadata[project_id]", &project.id));
            form.push(pair("metadata[customer_type]", c.customer.kind.as_str()));
            form.push(pair("metadata[customer_id]", &c.customer.id));
            form.push(pair("metadata[price_id]", &choice.price_id));
            form.push(pair("metadata[product]", c.product.display_name()));
            if let Some(id) = &c.product_id {
                form.push(pair("metadata[product_id]", id));
            }
        };
        let currency = currency.to_ascii_lowercase();
        // What the payment buys is kept before Stripe is asked to charge, so that Stripe's
        // webhook finds it whenever it comes (a failed payment's notice too).
        let described = super::product::describe_price(&price, quantity);
        let keep = |stripe_ref: String| {
            let (c, described) = (&c, &described);
            async move {
                sqlx::query(
                    "INSERT INTO stripe_checkouts (project_id, stripe_ref, customer_type, customer_id, product_id, \
                     price_id, product, quantity, purchaser, amount, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&c.project.id)
                .bind(&stripe_ref)
                .bind(c.customer.kind.as_str())
                .bind(&c.customer.id)
                .bind(&c.product_id)
                .bind(&choice.price_id)
                .bind(c.product.0.to_string())
                .bind(quantity)
                .bind(&c.purchaser)
                .bind(described)
                .bind(now_ms())
                .execute(&self.db.pool)
                .await?;
                Ok::<_, Error>(stripe_ref)
            }
        };
        let mut period = None;
        let (stripe_ref, client_secret, succeeded) = match price_interval(&price) {
            None => {
                let mut form = vec![
                    pair("amount", amount),
                    pair("currency", &currency),
                    pair("customer", &cus),
                ];
                if let Some(pm) = &default_pm {
                    form.push(pair("payment_method", pm));
                }
                metadata(&mut form);
                let mut pi = api.post("payment_intents", form).await?;
                let id = keep(pi["id"].as_str().unwrap_or_default().to_string()).await?;
                if default_pm.is_some() {
                    pi = api
                        .post(&format!("payment_intents/{id}/confirm"), Vec::new())
                        .await?;
                }
                (
                    id,
                    pi["client_secret"].as_str().unwrap_or_default().to_string(),
                    pi["status"] == "succeeded",
                )
            }
            Some(interval) => {
                let product = api
                    .post("products", vec![pair("name", c.product.display_name())])
                    .await?;
                let unit = match interval.unit {
                    Unit::Day => "day",
                    Unit::Week => "week",
                    Unit::Month => "month",
                    Unit::Year => "year",
                };
                let plan = api
                    .post(
                        "plans",
                        vec![
                            pair("amount", amount / quantity as i128),
                            pair("currency", &currency),
                            pair("interval", unit),
                            pair("interval_count", interval.count),
                            pair("product", product["id"].as_str().unwrap_or_default()),
                        ],
                    )
                    .await?;
                let mut form = vec![
                    pair("customer", &cus),
                    pair("items[0][plan]", plan["id"].as_str().unwrap_or_default()),
                    pair("items[0][quantity]", quantity),
                    pair("payment_behavior", "allow_incomplete"),
                    pair("expand[0]", "latest_invoice.payment_intent"),
                ];
                metadata(&mut form);
                let sub = api.post("subscriptions", form).await?;
                let id = keep(sub["id"].as_str().unwrap_or_default().to_string()).await?;
                period = sub["current_period_start"]
                    .as_i64()
                    .zip(sub["current_period_end"].as_i64())
                    .map(|(start, end)| (start * 1000, end * 1000));
                let secret = sub["latest_invoice"]["payment_intent"]["client_secret"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                (id, secret, sub["status"] == "active")
            }
        };
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &c.code).await?;
        if succeeded {
            settle(&mut tx, &self.public_url, project, &stripe_ref, period).await?;
        }
        tx.commit().await?;
        Ok(Session {
            client_secret,
            succeeded,
        })
    }

    /// `POST /integrations/stripe/webhooks?project_id=…`: one of Stripe's events for the
    /// project, signed with its endpoint secret; each event id is handled once.
    pub async fn stripe_webhook(
        &self,
        project_id: &str,
        payload: &[u8],
        signature: &str,
    ) -> Result<()> {
        let project = self.project(project_id).await?.ok_or_else(|| {
            Error::Status(
                400,
                "The webhook URL names no project of this server (?project_id=…).".into(),
            )
        })?;
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        if !verify_signature(&keys.webhook_secret, signature, payload, now_ms() / 1000) {
            return Err(Error::Status(400, "The Stripe-Signature header does not match the payload and the endpoint's signing secret.".into()));
        }
        let event: Value = serde_json::from_slice(payload)
            .map_err(|_| Error::Status(400, "The webhook's body is not JSON.".into()))?;
        let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
            return Err(Error::Status(
                400,
                "The webhook's body is not a Stripe event.".into(),
            ));
        };
        let object = &event["data"]["object"];
        let mut tx = self.begin().await?;
        lock_project(&mut tx, &project.id).await?;
        let fresh = sqlx::query(
            "INSERT INTO stripe_events (project_id, event_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&project.id)
        .bind(id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if fresh == 0 {
            return tx.rollback().await;
        }
        let str_of = |v: &Value| v.as_str().map(str::to_string);
        match kind {
            "payment_intent.succeeded" if object["invoice"].is_null() => {
                if let Some(pi) = str_of(&object["id"]) {
                    settle(&mut tx, &self.public_url, &project, &pi, None).await?;
                }
            }
            "payment_intent.payment_failed" if object["invoice"].is_null() => {
                if let Some(pi) = str_of(&object["id"]) {
                    let reason = str_of(&object["last_payment_error"]["message"]);
                    payment_failed(&mut tx, &self.public_url, &project, &pi, reason, None).await?;
                }
            }
            "invoice.paid" | "invoice.payment_succeeded" | "invoice.payment_failed" => {
                let sub = str_of(&object["subscription"])
                    .or_else(|| str_of(&object["parent"]["subscription_details"]["subscription"]));
                if let Some(sub) = sub {
                    self.on_invoice(
                        &mut tx,
                        &project,
                        &sub,
                        object,
                        kind == "invoice.payment_failed",
                    )
                    .await?;
                }
            }
            "customer.subscription.deleted" => {
                if let Some(sub) = str_of(&object["id"]) {
                    if let Some(p) = purchase_by_stripe_ref(&mut *tx, &project.id, &sub).await? {
                        if p.ended_at.is_none() || p.ended_at > Some(now_ms()) {
                            end_purchase(&mut tx, &project, &p, now_ms(), false, &Who::System)
                                .await?;
                        }
                    }
                }
            }
            _ => {}
        }
        tx.commit().await
    }

    async fn on_invoice(
        &self,
        tx: &mut Tx,
        project: &Project,
        sub: &str,
        invoice: &Value,
        failed: bool,
    ) -> Result<()> {
        let Some(customer) = pending(tx, &project.id, sub).await?.map(|p| p.customer) else {
            return Ok(());
        };
        let invoice_id = invoice["id"].as_str().unwrap_or_default();
        let status = invoice["status"]
            .as_str()
            .unwrap_or(if failed { "open" } else { "paid" });
        sqlx::query(
            "INSERT INTO stripe_invoices (project_id, id, customer_type, customer_id, subscription, payment_intent, \
             status, amount_total, hosted_invoice_url, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (project_id, id) DO UPDATE SET status = excluded.status, payment_intent = excluded.payment_intent",
        )
        .bind(&project.id)
        .bind(invoice_id)
        .bind(customer.kind.as_str())
        .bind(&customer.id)
        .bind(sub)
        .bind(invoice["payment_intent"].as_str().or_else(|| invoice["payment_intent"]["id"].as_str()))
        .bind(status)
        .bind(invoice["total"].as_i64().or_else(|| invoice["amount_due"].as_i64()).unwrap_or(0))
        .bind(invoice["hosted_invoice_url"].as_str())
        .bind(invoice["created"].as_i64().map(|s| s * 1000).unwrap_or_else(now_ms))
        .execute(&mut **tx)
        .await?;
        if failed {
            let reason = invoice["last_finalization_error"]["message"]
                .as_str()
                .map(str::to_string);
            let url = invoice["hosted_invoice_url"].as_str().map(str::to_string);
            return payment_failed(tx, &self.public_url, project, sub, reason, url).await;
        }
        let period = &invoice["lines"]["data"][0]["period"];
        let period = period["start"]
            .as_i64()
            .zip(period["end"].as_i64())
            .map(|(s, e)| (s * 1000, e * 1000));
        match purchase_by_stripe_ref(&mut **tx, &project.id, sub).await? {
            None => settle(tx, &self.public_url, project, sub, period).await,
            Some(p) => match period {
                Some((start, end)) if p.current_period_start.is_some_and(|s| start > s) => {
                    renew(tx, project, &p, start, end, now_ms()).await
                }
                _ => Ok(()),
            },
        }
    }

    /// The [`STRIPE_END_JOB`]: Stripe stops billing the purchase's subscription now. Done when
    /// Stripe no longer has it running; tried again while Stripe cannot be reached.
    pub async fn run_stripe_end_job(&self, project_id: &str, payload: &Value) -> Result<()> {
        let Some(id) = payload["purchase_id"].as_str() else {
            return Ok(());
        };
        let (Some(stripe_ref), Some(keys)) = (
            stripe_ref_of(self, project_id, id).await?,
            self.stripe_keys(project_id).await?,
        ) else {
            return Ok(());
        };
        match self
            .stripe_api(&keys)
            .delete(&format!("subscriptions/{stripe_ref}"))
            .await
        {
            Err(Error::Status(503, m)) => Err(Error::Status(503, m)),
            // Already ended at Stripe, or gone: nothing more to do.
            _ => Ok(()),
        }
    }

    /// Before a refund or a cancellation is recorded, Stripe makes it so: a refund of the
    /// purchase's payment (of a subscription: its last paid invoice, and the subscription
    /// ends now), or a subscription set to end with its period.
    pub(crate) async fn stripe_undo(
        &self,
        project: &Project,
        purchase: &Purchase,
        refund: bool,
    ) -> Result<()> {
        let Some(stripe_ref) = stripe_ref_of(self, &project.id, &purchase.id).await? else {
            return Ok(());
        };
        let keys = self
            .stripe_keys(&project.id)
            .await?
            .ok_or_else(not_set_up)?;
        let api = self.stripe_api(&keys);
        match (purchase.kind, refund) {
            (Kind::OneTime, true) => {
                api.post("refunds", vec![pair("payment_intent", &stripe_ref)])
                    .await?;
            }
            (Kind::Subscription, true) => {
                let paid: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT payment_intent FROM stripe_invoices WHERE project_id = $1 AND subscription = $2 \
                     AND status = 'paid' ORDER BY created_at DESC, id DESC LIMIT 1",
                )
                .bind(&project.id)
                .bind(&stripe_ref)
                .fetch_optional(&self.db.pool)
                .await?;
                if let Some(pi) = paid.and_then(|(p,)| p) {
                    api.post("refunds", vec![pair("payment_intent", pi)])
                        .await?;
                }
                api.delete(&format!("subscriptions/{stripe_ref}")).await?;
            }
            (Kind::Subscription, false) => {
                api.post(
                    &format!("subscriptions/{stripe_ref}"),
                    vec![pair("cancel_at_period_end", "true")],
                )
                .await?;
            }
            (Kind::OneTime, false) => {}
        }
        Ok(())
    }
}

/// A purchase started through Stripe (`stripe_checkouts`): what its PaymentIntent or
/// Subscription buys, for whom, and who bought it.
struct Pending {
    customer: Customer,
    product_id: Option<String>,
    price_id: String,
    product: Product,
    quantity: i64,
    purchaser: Option<String>,
    /// The price as the buyer read it ("$9.99 / month").
    amount: String,
}

async fn pending(tx: &mut Tx, project_id: &str, stripe_ref: &str) -> Result<Option<Pending>> {
    let row = sqlx::query(
        "SELECT customer_type, customer_id, product_id, price_id, product, quantity, purchaser, amount \
         FROM stripe_checkouts WHERE project_id = $1 AND stripe_ref = $2",
    )
    .bind(project_id)
    .bind(stripe_ref)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Pending {
        customer: Customer {
            kind: CustomerType::parse(&row.try_get::<String, _>("customer_type")?)
                .unwrap_or(CustomerType::Custom),
            id: row.try_get("customer_id")?,
        },
        product_id: row.try_get("product_id")?,
        price_id: row.try_get("price_id")?,
        product: Product(crate::db::json_column(&row, "product")?),
        quantity: row.try_get("quantity")?,
        purchaser: row.try_get("purchaser")?,
        amount: row.try_get("amount")?,
    }))
}

/// The purchase's Stripe reference (its PaymentIntent or Subscription id), when it was bought
/// through Stripe.
async fn stripe_ref_of(core: &Core, project_id: &str, purchase_id: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT stripe_ref FROM purchases WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(purchase_id)
            .fetch_optional(&core.db.pool)
            .await?;
    Ok(row.and_then(|(r,)| r))
}

/// Grants what a paid Stripe purchase bought (once: a purchase with its reference is already
/// granted), with the period Stripe bills when it says, and mails the receipt.
async fn settle(
    tx: &mut Tx,
    public_url: &str,
    project: &Project,
    stripe_ref: &str,
    period: Option<(i64, i64)>,
) -> Result<()> {
    if purchase_by_stripe_ref(&mut **tx, &project.id, stripe_ref)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let Some(p) = pending(tx, &project.id, stripe_ref).await? else {
        return Ok(());
    };
    let new = NewPurchase {
        customer: &p.customer,
        product_id: p.product_id.as_deref(),
        product: &p.product,
        price_id: Some(&p.price_id),
        quantity: p.quantity,
        source: Source::Stripe,
    };
    let who = p.purchaser.clone().map(Who::User).unwrap_or(Who::System);
    let purchase = grant_in(tx, project, &new, &who).await?;
    // Stripe's reference, and the period Stripe bills (when it said).
    let period = period.filter(|_| purchase.kind == Kind::Subscription);
    sqlx::query(
        "UPDATE purchases SET stripe_ref = $1, current_period_start = COALESCE($2, current_period_start), \
         current_period_end = COALESCE($3, current_period_end) WHERE project_id = $4 AND id = $5",
    )
    .bind(stripe_ref)
    .bind(period.map(|(start, _)| start))
    .bind(period.map(|(_, end)| end))
    .bind(&project.id)
    .bind(&purchase.id)
    .execute(&mut **tx)
    .await?;
    let variables = json!({
        "productName": purchase.product.display_name(),
        "amount": p.amount,
        "quantity": purchase.quantity,
    });
    let to = (p.purchaser.as_deref(), &p.customer);
    queue_payment_email(tx, public_url, project, to, PAYMENT_RECEIPT, variables).await
}

/// Tells the buyer a payment of a Stripe purchase failed.
async fn payment_failed(
    tx: &mut Tx,
    public_url: &str,
    project: &Project,
    stripe_ref: &str,
    reason: Option<String>,
    invoice_url: Option<String>,
) -> Result<()> {
    let Some(p) = pending(tx, &project.id, stripe_ref).await? else {
        return Ok(());
    };
    let variables = json!({
        "productName": p.product.display_name(),
        "amount": p.amount,
        "failureReason": reason,
        "invoiceUrl": invoice_url,
    });
    let to = (p.purchaser.as_deref(), &p.customer);
    queue_payment_email(tx, public_url, project, to, PAYMENT_FAILED, variables).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(payload);
        format!(
            "t={t},v1={}",
            crate::crypto::hex(&mac.finalize().into_bytes())
        )
    }

    #[test]
    fn signatures() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("whsec_a", 1_000, body);
        assert!(verify_signature("whsec_a", &header, body, 1_100));
        assert!(
            !verify_signature("whsec_b", &header, body, 1_100),
            "another secret"
        );
        assert!(
            !verify_signature("whsec_a", &header, b"{}", 1_100),
            "another body"
        );
        assert!(
            !verify_signature("whsec_a", &header, body, 1_400),
            "too old"
        );
        assert!(
            !verify_signature("whsec_a", "v1=00", body, 1_000),
            "no time"
        );
        let two = format!("{},v1=deadbeef", header);
        assert!(
            verify_signature("whsec_a", &two, body, 1_000),
            "any v1 may match"
        );
    }

    #[test]
    fn amounts() {
        assert_eq!(
            stripe_amount(&json!({"USD": "9.99"}), 2),
            Some(("USD", 1998))
        );
        assert_eq!(stripe_amount(&json!({"EUR": "5"}), 1), Some(("EUR", 500)));
        assert_eq!(stripe_amount(&json!({}), 1), None);
    }
}
