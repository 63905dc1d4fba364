//! The hosted checkout, where a purchase URL leads (`/handler/{project}/purchase/{code}`): the
//! product, its prices to choose from, and — in test mode — "Pay (test)", which completes the
//! purchase with no payment. Plain forms: it works with JavaScript off, except Stripe's card
//! fields (a live project's), which are Stripe.js's.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{project_id, query, BUTTON};
use crate::components::{action_error, AuthCard, FormError, FIELD};
use crate::server::{checkout_info, error_message, PayTest};

const TITLE: &str = "Checkout";

#[component]
pub fn PurchasePage() -> impl IntoView {
    let project_id = project_id();
    let params = use_params_map();
    let code = Memo::new(move |_| params.read().get("code").unwrap_or_default());
    let return_url = query("return_url");
    let pay = ServerAction::<PayTest>::new();
    let error = action_error(pay);
    let info = Resource::new(
        move || (code.get(), pay.version().get()),
        |(c, _)| checkout_info(c),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let c = match info.await {
                    Ok(c) => c,
                    Err(e) => return view! { <AuthCard title=TITLE project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                        <p class="mt-5 text-sm text-muted">"This purchase link does not work any more. Go back to the app and start the purchase again."</p>
                    </AuthCard> }.into_any(),
                };
                if c.paid {
                    return view! { <AuthCard title="Thank you" project=c.project_name.clone()>
                        <p class="purchase-done m-0" role="status">{format!("{} is now yours.", c.product_name)}</p>
                        <p class="mt-3 text-sm text-muted">"A receipt is on its way to your inbox. You can close this page."</p>
                    </AuthCard> }.into_any();
                }
                let first = c.prices.first().map(|p| p.id.clone()).unwrap_or_default();
                let choices = c.prices.iter().map(|p| {
                    let checked = p.id == first;
                    let label = match &p.trial {
                        Some(t) => format!("{t} {}", p.label),
                        None => p.label.clone(),
                    };
                    view! {
                        <label class="price-choice flex items-center gap-3 rounded-lg border border-line px-3 py-2.5 text-sm">
                            <input type="radio" name="price_id" value=p.id.clone() checked=checked required/>
                            <span class="font-semibold">{label}</span>
                        </label>
                    }
                }).collect_view();
                let quantity = c.stackable.then(|| view! {
                    <label class=FIELD>
                        <span>"Quantity"</span>
                        <input id="field-quantity" name="quantity" type="number" min="1" step="1" value="1" inputmode="numeric"/>
                    </label>
                });
                let replaces = (!c.replaces.is_empty()).then(|| view! {
                    <p class="m-0 text-sm text-muted">{format!("This replaces your current plan: {}.", c.replaces.join(", "))}</p>
                });
                let action_part = if c.blocked {
                    view! { <p class="m-0 text-sm" role="alert">"New purchases are paused for now. Please try again later."</p> }.into_any()
                } else if c.already_owned {
                    view! { <p class="m-0 text-sm" role="status">{format!("You already have {}.", c.product_name)}</p> }.into_any()
                } else if c.prices.is_empty() {
                    view! { <p class="m-0 text-sm" role="alert">"This product has no price to pay yet."</p> }.into_any()
                } else if c.test_mode {
                    view! {
                        <p class="test-mode-banner m-0 rounded-lg border border-line bg-surface px-3 py-2 text-sm">
                            <strong>"Test mode. "</strong>"Nothing is charged: paying completes the purchase as if it were paid."
                        </p>
                        <FormError message=error/>
                        <button type="submit" class=BUTTON disabled=move || pay.pending().get()>
                            {move || if pay.pending().get() { "Paying…" } else { "Pay (test)" }}
                        </button>
                    }.into_any()
                } else if let Some(s) = &c.stripe {
                    // Stripe's card fields are Stripe.js's: this part needs JavaScript
                    // (public/hosted.js mounts them and pays).
                    view! {
                        <div class="stripe-checkout flex flex-col gap-3" data-stripe-checkout=""
                            data-publishable-key=s.publishable_key.clone() data-stripe-js=s.js_url.clone()
                            data-code=code.get_untracked() data-return-url=return_url.get_untracked()>
                            <span class="text-sm font-semibold">"Card"</span>
                            <div class="stripe-card rounded-lg border border-line px-3 py-3" data-card=""></div>
                            <p class="m-0 text-sm text-muted" data-needs-js="">"Paying by card needs JavaScript: the card fields are Stripe's, and run in your browser. Turn JavaScript on to pay."</p>
                            <p class="form-error m-0 text-sm text-danger" role="alert" data-stripe-error="" hidden></p>
                            <button type="button" class=BUTTON hidden>"Pay"</button>
                            <p class="m-0 text-xs text-muted">"Payments are processed by Stripe."</p>
                        </div>
                    }.into_any()
                } else {
                    view! { <p class="m-0 text-sm" role="alert">"This project cannot take payments yet: it has no payment processor connected."</p> }.into_any()
                };
                let can_pay = !c.blocked && !c.already_owned && !c.prices.is_empty() && (c.test_mode || c.stripe.is_some());
                view! {
                    <AuthCard title=TITLE project=c.project_name.clone()>
                        <h2 class="product-name m-0 mb-1 text-lg font-semibold">{c.product_name.clone()}</h2>
                        <p class="mb-4 mt-0 text-sm text-muted">{format!("For {}", c.customer_label)}</p>
                        <ActionForm action=pay attr:class="flex flex-col gap-4">
                            <input type="hidden" name="project_id" value=project_id.get_untracked()/>
                            <input type="hidden" name="full_code" value=code.get_untracked()/>
                            <input type="hidden" name="return_url" value=return_url.get_untracked()/>
                            <fieldset class="flex flex-col gap-2" disabled=!can_pay>
                                <legend class="mb-2 text-sm font-semibold">"Price"</legend>
                                {choices}
                            </fieldset>
                            {quantity}
                            {replaces}
                            {action_part}
                        </ActionForm>
                    </AuthCard>
                }.into_any()
            })}
        </Suspense>
    }
}
