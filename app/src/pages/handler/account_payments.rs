//! The account page's plans and purchases: what the signed-in user (and each team they
//! administer) owns and holds, with a cancel button for a subscription. Shown only when the
//! project sells something.

use leptos::prelude::*;

use crate::components::{action_error, FormError};
use crate::server::{my_purchases, CancelMyProduct, MyCustomer};

/// The section's action and what it reads; made at the top of the account page, outside its
/// `Suspense`.
#[derive(Clone, Copy)]
pub struct AccountPaymentsState {
    cancel: ServerAction<CancelMyProduct>,
    customers: Resource<Result<Vec<MyCustomer>, ServerFnError>>,
}

impl AccountPaymentsState {
    pub fn new(project_id: Memo<String>) -> AccountPaymentsState {
        let cancel = ServerAction::<CancelMyProduct>::new();
        let customers = Resource::new(
            move || (project_id.get(), cancel.version().get()),
            |(id, _)| my_purchases(id),
        );
        AccountPaymentsState { cancel, customers }
    }
}

const SMALL_BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-2 py-0.5 text-xs font-semibold text-ink";

#[component]
pub fn AccountPayments(
    #[prop(into)] project_id: String,
    done: Memo<Option<String>>,
    state: AccountPaymentsState,
) -> impl IntoView {
    let AccountPaymentsState { cancel, customers } = state;
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let project_id = project_id.clone();
                Suspend::new(async move {
                    let list = customers.await.unwrap_or_default();
                    if list.is_empty() {
                        return ().into_any();
                    }
                    let blocks = list.into_iter().map(|c| {
                        let empty = c.products.is_empty() && c.items.is_empty();
                        let (kind, customer_id) = (c.customer_type.clone(), c.customer_id.clone());
                        let products = c.products.into_iter().map(|p| {
                            let (pid, kind, customer_id) = (project_id.clone(), kind.clone(), customer_id.clone());
                            let cancel_form = match (p.cancelable, p.product_id.clone()) {
                                (true, Some(product_id)) => view! {
                                    <ActionForm action=cancel attr:class="inline">
                                        <input type="hidden" name="project_id" value=pid/>
                                        <input type="hidden" name="customer_type" value=kind/>
                                        <input type="hidden" name="customer_id" value=customer_id/>
                                        <input type="hidden" name="product_id" value=product_id/>
                                        <button type="submit" class=SMALL_BUTTON>"Cancel"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => ().into_any(),
                            };
                            let quantity = (p.quantity > 1).then(|| format!(" × {}", p.quantity));
                            view! {
                                <li class="owned-product flex items-center justify-between gap-2 text-sm">
                                    <span><strong>{p.display_name}</strong>{quantity}<br/><small class="text-muted">{p.state}</small></span>
                                    {cancel_form}
                                </li>
                            }.into_any()
                        }).collect_view();
                        let items = c.items.into_iter().map(|(name, quantity)| view! {
                            <li class="held-item flex justify-between gap-2 text-sm"><span>{name}</span><strong class="quantity">{quantity}</strong></li>
                        }).collect_view();
                        let card = c.card.map(|card| view! {
                            <p class="saved-card m-0 mt-2 text-sm text-muted">"Paying with "{card}</p>
                        });
                        let invoices = (!c.invoices.is_empty()).then(|| {
                            let rows = c.invoices.into_iter().map(|(day, amount, status)| view! {
                                <li class="invoice flex justify-between gap-2 text-sm"><span>{day}</span><span>{amount}" · "{status}</span></li>
                            }).collect_view();
                            view! {
                                <h4 class="m-0 mt-2 text-xs font-semibold text-muted">"Invoices"</h4>
                                <ul class="m-0 flex list-none flex-col gap-1 p-0">{rows}</ul>
                            }
                        });
                        view! {
                            <div class="customer mb-3" data-customer=c.customer_type.clone()>
                                <h3 class="m-0 mb-1 text-sm font-semibold text-muted">{c.label}</h3>
                                {empty.then(|| view! { <p class="m-0 text-sm text-muted">"Nothing yet."</p> })}
                                <ul class="m-0 flex list-none flex-col gap-2 p-0">{products}{items}</ul>
                                {card}
                                {invoices}
                            </div>
                        }.into_any()
                    }).collect_view();
                    view! {
                        <section id="payments" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="payments-heading">
                            <h2 id="payments-heading">"Plans and purchases"</h2>
                            {move || (done.get().as_deref() == Some("canceled")).then(|| view! {
                                <p class="m-0 mb-3 text-sm" role="status">"Canceled. The plan runs until the end of the period you paid for."</p>
                            })}
                            {blocks}
                            <FormError message=action_error(cancel)/>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
