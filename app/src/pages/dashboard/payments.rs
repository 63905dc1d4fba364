use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, Field, FormError, FIELD, PANEL, SMALL_BUTTON, TABLE};
use crate::server::{load_payments, AdjustItem, RemoveItem, SaveItem};

const BUTTON: &str = "primary self-start whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent";
const FORM: &str = "flex max-w-xl flex-col gap-3 [&_select]:rounded-lg [&_select]:border [&_select]:border-line [&_select]:bg-page [&_select]:px-3 [&_select]:py-2.5";

fn customer_types(selected: &str) -> impl IntoView {
    [
        ("user", "A user"),
        ("team", "A team"),
        ("custom", "The app's own id (custom)"),
    ]
    .into_iter()
    .map(|(value, label)| {
        let on = value == selected;
        view! { <option value=value selected=on>{label}</option> }
    })
    .collect_view()
}

/// A project's payments: the items of its catalogue, and a customer's balance of one, granted
/// or used by hand.
#[component]
pub fn PaymentsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveItem>::new();
    let remove = ServerAction::<RemoveItem>::new();
    let adjust = ServerAction::<AdjustItem>::new();
    let room = Resource::new(
        move || {
            let q = query.read();
            (
                project_id.get(),
                q.get("customer_type"),
                q.get("customer_id"),
                q.get("item_id"),
                save.version().get() + remove.version().get() + adjust.version().get(),
            )
        },
        |(id, kind, customer, item, _)| load_payments(id, kind, customer, item),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let r = match room.await {
                    Ok(r) => r,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let id = project_id.get_untracked();
                let rows = r.items.clone().into_iter().map(|item| {
                    let id = id.clone();
                    view! {
                        <tr>
                            <td><code>{item.id.clone()}</code></td>
                            <td>{item.display_name.clone()}</td>
                            <td>{item.customer_type.clone()}</td>
                            <td>
                                <ActionForm action=remove>
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="item_id" value=item.id/>
                                    <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view();
                let balance = r.balance.clone();
                let (picked_type, picked_id, picked_item) = balance
                    .as_ref()
                    .map(|b| (b.customer_type.clone(), b.customer_id.clone(), b.item_id.clone()))
                    .unwrap_or_else(|| ("user".into(), String::new(), String::new()));
                let item_options = r.items.iter().map(|i| {
                    let on = i.id == picked_item;
                    view! { <option value=i.id.clone() selected=on>{format!("{} ({})", i.display_name, i.id)}</option> }
                }).collect_view();
                let id_adjust = id.clone();
                let found = balance.map(move |b| {
                    let heading = format!("{} of {} {}", b.display_name, b.customer_type, b.customer_id);
                    match b.quantity {
                        Err(why) => view! {
                            <p class="balance-error form-error mt-4 text-sm text-danger" role="alert">{why}</p>
                        }.into_any(),
                        Ok(quantity) => view! {
                            <div class="balance mt-5 flex flex-col gap-3 border-t border-line pt-4">
                                <p class="m-0">{heading}": "<strong class="quantity text-2xl">{quantity}</strong></p>
                                <ActionForm action=adjust attr:class=FORM>
                                    <input type="hidden" name="project_id" value=id_adjust/>
                                    <input type="hidden" name="customer_type" value=b.customer_type.clone()/>
                                    <input type="hidden" name="customer_id" value=b.customer_id.clone()/>
                                    <input type="hidden" name="item_id" value=b.item_id.clone()/>
                                    <Field label="Change (negative to use some)" name="delta" kind="number"/>
                                    <Field label="Why (kept in the ledger)" name="description" required=false/>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="allow_negative"/>"May go below zero"</label>
                                    <FormError message=action_error(adjust)/>
                                    <button type="submit" class=BUTTON>"Apply"</button>
                                </ActionForm>
                            </div>
                        }.into_any(),
                    }
                });
                let test_mode = r.test_mode.then(|| view! {
                    <p class="test-mode m-0 rounded-lg border border-line bg-page px-3 py-2 text-sm">
                        "Test mode (payments.testMode): nothing is charged. Products, checkout and Stripe are still to come; items work now."
                    </p>
                });
                view! {
                    <ProjectShell project_id=id.clone() project_name=r.project_name.clone() active="payments">
                        <section class=PANEL aria-labelledby="payments-heading">
                            <h1 id="payments-heading">"Payments"</h1>
                            {test_mode}
                        </section>
                        <section class=PANEL aria-labelledby="items-heading">
                            <h2 id="items-heading">"Items"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"What a customer holds a quantity of: credits, seats, quotas. The app reads and changes them with the SDK (getItem, increaseQuantity, tryDecreaseQuantity)."</p>
                            <table class=TABLE>
                                <thead><tr><th>"ID"</th><th>"Name"</th><th>"Customers"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <FormError message=action_error(remove)/>
                            <ActionForm action=save attr:class=format!("{FORM} mt-4")>
                                <input type="hidden" name="project_id" value=id.clone()/>
                                <Field label="ID (letters, digits, _ and -)" name="item_id"/>
                                <Field label="Name" name="display_name" required=false/>
                                <label class=FIELD for="field-item-customer-type">
                                    <span>"Held by"</span>
                                    <select id="field-item-customer-type" name="customer_type">{customer_types("user")}</select>
                                </label>
                                <FormError message=action_error(save)/>
                                <button type="submit" class=BUTTON>"Add item"</button>
                            </ActionForm>
                        </section>
                        <section class=PANEL aria-labelledby="balance-heading">
                            <h2 id="balance-heading">"A customer's balance"</h2>
                            <form method="get" class=FORM>
                                <label class=FIELD for="field-balance-type">
                                    <span>"Customer"</span>
                                    <select id="field-balance-type" name="customer_type">{customer_types(&picked_type)}</select>
                                </label>
                                <Field label="Customer ID (a user's or team's id, or the app's own)" name="customer_id" value=picked_id/>
                                <label class=FIELD for="field-balance-item">
                                    <span>"Item"</span>
                                    <select id="field-balance-item" name="item_id">{item_options}</select>
                                </label>
                                <button type="submit" class=format!("{SMALL_BUTTON} self-start px-3 py-1 text-sm")>"Look up"</button>
                            </form>
                            {found}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
