use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, Field, FormError, FIELD, PANEL, SMALL_BUTTON, TABLE};
use crate::server::{
    load_payments, AdjustItem, CancelCustomerProduct, CheckStripe, GrantCustomerProduct,
    RefundTransaction, RemoveFromCatalogue, RemoveStripe, SaveIncludedItem, SaveItem, SavePrice,
    SaveProduct, SaveProductLine, SaveStripe, StripePanel,
};

const BUTTON: &str = "primary self-start whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent";
const FORM: &str = "flex max-w-xl flex-col gap-3 [&_select]:rounded-lg [&_select]:border [&_select]:border-line [&_select]:bg-page [&_select]:px-3 [&_select]:py-2.5";

fn options(choices: &[(&'static str, &'static str)], selected: &str) -> impl IntoView {
    choices
        .iter()
        .map(|(value, label)| {
            let on = *value == selected;
            view! { <option value=*value selected=on>{*label}</option> }
        })
        .collect_view()
}

const INTERVALS: [(&str, &str); 5] = [
    ("", "Once"),
    ("month", "Every month"),
    ("year", "Every year"),
    ("week", "Every week"),
    ("day", "Every day"),
];

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

/// A project's payments: its catalogue (product lines, products with their prices and items,
/// items), a customer's products and balances (granted, canceled, adjusted by hand), and the
/// transactions.
#[component]
pub fn PaymentsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveItem>::new();
    let remove = ServerAction::<RemoveFromCatalogue>::new();
    let adjust = ServerAction::<AdjustItem>::new();
    let save_line = ServerAction::<SaveProductLine>::new();
    let save_product = ServerAction::<SaveProduct>::new();
    let save_price = ServerAction::<SavePrice>::new();
    let save_included = ServerAction::<SaveIncludedItem>::new();
    let grant = ServerAction::<GrantCustomerProduct>::new();
    let cancel = ServerAction::<CancelCustomerProduct>::new();
    let refund = ServerAction::<RefundTransaction>::new();
    let save_stripe = ServerAction::<SaveStripe>::new();
    let remove_stripe = ServerAction::<RemoveStripe>::new();
    let check_stripe = ServerAction::<CheckStripe>::new();
    let changes = move || {
        save.version().get()
            + remove.version().get()
            + adjust.version().get()
            + save_line.version().get()
            + save_product.version().get()
            + save_price.version().get()
            + save_included.version().get()
            + grant.version().get()
            + cancel.version().get()
            + refund.version().get()
            + save_stripe.version().get()
            + remove_stripe.version().get()
    };
    let room = Resource::new(
        move || {
            let q = query.read();
            (
                project_id.get(),
                q.get("customer_type"),
                q.get("customer_id"),
                q.get("item_id"),
                q.get("type"),
                changes(),
            )
        },
        |(id, kind, customer, item, t, _)| load_payments(id, kind, customer, item, t),
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
                                    <input type="hidden" name="key" value=format!("items.{}", item.id)/>
                                    <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view();
                let balance = r.balance.clone();
                let (picked_type, picked_id, picked_item) = {
                    let q = query.read_untracked();
                    (
                        q.get("customer_type").unwrap_or_else(|| "user".into()),
                        q.get("customer_id").unwrap_or_default().trim().to_string(),
                        q.get("item_id").unwrap_or_default(),
                    )
                };
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
                        "Test mode (payments.testMode): nothing is charged. The hosted checkout completes purchases with a \"Pay (test)\" button."
                    </p>
                });
                let line_rows = r.lines.clone().into_iter().map(|l| {
                    let id = id.clone();
                    let line_id = l.id.clone();
                    view! {
                        <tr>
                            <td><code>{l.id}</code></td>
                            <td>{l.display_name}</td>
                            <td>{l.customer_type}</td>
                            <td>
                                <ActionForm action=remove>
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="key" value=format!("productLines.{line_id}")/>
                                    <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view();
                let product_rows = r.products.clone().into_iter().map(|p| {
                    let id = id.clone();
                    let pid = p.id.clone();
                    let prices = p.prices.clone().into_iter().map(|(price_id, label)| {
                        let (id, pid) = (id.clone(), pid.clone());
                        let aria = format!("Remove the price {price_id}");
                        view! {
                            <li class="flex items-center gap-2">
                                <span><code>{price_id.clone()}</code>" "{label}</span>
                                <ActionForm action=remove>
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="key" value=format!("products.{pid}.prices.{price_id}")/>
                                    <button type="submit" class="text-xs text-danger" aria-label=aria>"×"</button>
                                </ActionForm>
                            </li>
                        }.into_any()
                    }).collect_view();
                    let items = p.items.clone().into_iter().map(|(item_id, label)| {
                        let (id, pid) = (id.clone(), pid.clone());
                        let aria = format!("Remove the item {item_id}");
                        view! {
                            <li class="flex items-center gap-2">
                                <span><code>{item_id.clone()}</code>" "{label}</span>
                                <ActionForm action=remove>
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="key" value=format!("products.{pid}.includedItems.{item_id}")/>
                                    <button type="submit" class="text-xs text-danger" aria-label=aria>"×"</button>
                                </ActionForm>
                            </li>
                        }.into_any()
                    }).collect_view();
                    let mut flags = vec![p.customer_type.clone()];
                    if let Some(l) = &p.product_line_id { flags.push(format!("line {l}")); }
                    if p.stackable { flags.push("stackable".into()); }
                    if p.server_only { flags.push("server-only".into()); }
                    view! {
                        <tr class="product-row">
                            <td><code>{p.id.clone()}</code><br/>{p.display_name.clone()}<br/><small class="text-muted">{flags.join(" · ")}</small></td>
                            <td><ul class="m-0 list-none p-0 text-sm">{prices}</ul></td>
                            <td><ul class="m-0 list-none p-0 text-sm">{items}</ul></td>
                            <td>
                                <ActionForm action=remove>
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="key" value=format!("products.{pid}")/>
                                    <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }.into_any()
                }).collect_view();
                let product_choices = r.products.iter().map(|p| view! {
                    <option value=p.id.clone()>{format!("{} ({})", p.display_name, p.id)}</option>
                }).collect_view();
                let product_choices_2 = r.products.iter().map(|p| view! {
                    <option value=p.id.clone()>{format!("{} ({})", p.display_name, p.id)}</option>
                }).collect_view();
                let grant_choices = r.products.iter().map(|p| view! {
                    <option value=p.id.clone()>{format!("{} ({})", p.display_name, p.id)}</option>
                }).collect_view();
                let item_choices = r.items.iter().map(|i| view! {
                    <option value=i.id.clone()>{format!("{} ({})", i.display_name, i.id)}</option>
                }).collect_view();
                let line_choices = r.lines.iter().map(|l| view! {
                    <option value=l.id.clone()>{l.display_name.clone()}</option>
                }).collect_view();
                let currency_choices = gatehouse_currencies();
                let id_customer = id.clone();
                let (owned_type, owned_id) = (picked_type.clone(), picked_id.clone());
                let customer_products = r.owned.clone().map(move |owned| match owned {
                    Err(why) => view! { <p class="form-error mt-4 text-sm text-danger" role="alert">{why}</p> }.into_any(),
                    Ok(list) => {
                        let empty = list.is_empty();
                        let rows = list.into_iter().map(|o| {
                            let id = id_customer.clone();
                            let (owned_type, owned_id) = (owned_type.clone(), owned_id.clone());
                            let cancel_form = match (o.cancelable, o.product_id.clone()) {
                                (true, Some(pid)) => view! {
                                    <ActionForm action=cancel>
                                        <input type="hidden" name="project_id" value=id/>
                                        <input type="hidden" name="customer_type" value=owned_type/>
                                        <input type="hidden" name="customer_id" value=owned_id/>
                                        <input type="hidden" name="product_id" value=pid/>
                                        <button type="submit" class=SMALL_BUTTON>"Cancel"</button>
                                    </ActionForm>
                                }.into_any(),
                                _ => ().into_any(),
                            };
                            view! {
                                <tr class="owned-product">
                                    <td>{o.display_name.clone()}<br/><small class="text-muted">{o.product_id.clone().unwrap_or_else(|| "inline".into())}</small></td>
                                    <td>{o.quantity}</td>
                                    <td>{o.state.clone()}</td>
                                    <td>{cancel_form}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <div class="customer-products mt-5 border-t border-line pt-4">
                                <h3 class="m-0 mb-2 text-base font-semibold">"Products"</h3>
                                {empty.then(|| view! { <p class="m-0 text-sm text-muted">"None yet."</p> })}
                                <table class=TABLE>
                                    <thead><tr><th>"Product"</th><th>"Quantity"</th><th>"State"</th><th></th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <FormError message=action_error(cancel)/>
                            </div>
                        }.into_any()
                    }
                });
                let (grant_id, grant_type, grant_customer) = (id.clone(), picked_type.clone(), picked_id.clone());
                let grant_form = r.owned.is_some().then(move || view! {
                    <ActionForm action=grant attr:class=format!("{FORM} mt-4")>
                        <input type="hidden" name="project_id" value=grant_id/>
                        <input type="hidden" name="customer_type" value=grant_type/>
                        <input type="hidden" name="customer_id" value=grant_customer/>
                        <label class=FIELD for="field-grant-product">
                            <span>"Grant a product (free, as the app's server would)"</span>
                            <select id="field-grant-product" name="product_id">{grant_choices}</select>
                        </label>
                        <FormError message=action_error(grant)/>
                        <button type="submit" class=BUTTON>"Grant"</button>
                    </ActionForm>
                });
                let type_filter = r.transaction_type.clone().unwrap_or_default();
                let (id_line, id_product, id_price, id_included, id_item) = (id.clone(), id.clone(), id.clone(), id.clone(), id.clone());
                let transaction_rows = r.transactions.clone().into_iter().map(|t| {
                    let (pid, tid) = (id.clone(), t.id.clone());
                    let refund_form = t.refundable.then(move || view! {
                        <ActionForm action=refund>
                            <input type="hidden" name="project_id" value=pid/>
                            <input type="hidden" name="transaction_id" value=tid/>
                            <button type="submit" class=SMALL_BUTTON>"Refund"</button>
                        </ActionForm>
                    });
                    view! {
                        <tr class="transaction">
                            <td>{crate::components::format_utc(t.at)}</td>
                            <td>{t.kind.clone()}{t.test_mode.then(|| view! { <small class="text-muted">" (test)"</small> })}</td>
                            <td><code>{t.customer.clone()}</code></td>
                            <td>{t.what.clone()}</td>
                            <td>{t.amount.clone()}</td>
                            <td>{refund_form}</td>
                        </tr>
                    }.into_any()
                }).collect_view();
                let no_transactions = r.transactions.is_empty().then(|| view! {
                    <p class="m-0 text-sm text-muted">"No transactions yet. Purchases, renewals and changes made by hand appear here."</p>
                });
                let header = view! {
                        <section class=PANEL aria-labelledby="payments-heading">
                            <h1 id="payments-heading">"Payments"</h1>
                            {test_mode}
                        </section>
                }.into_any();
                let lines_panel = view! {
                        <section class=PANEL aria-labelledby="lines-heading">
                            <h2 id="lines-heading">"Product lines"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"Groups of products a customer holds one of at a time, such as plans: buying another plan of the line replaces the current one."</p>
                            <table class=TABLE>
                                <thead><tr><th>"ID"</th><th>"Name"</th><th>"Customers"</th><th></th></tr></thead>
                                <tbody>{line_rows}</tbody>
                            </table>
                            <ActionForm action=save_line attr:class=format!("{FORM} mt-4")>
                                <input type="hidden" name="project_id" value=id_line/>
                                <label class=FIELD for="field-line-id"><span>"ID"</span><input id="field-line-id" name="line_id" required/></label>
                                <label class=FIELD for="field-line-name"><span>"Name"</span><input id="field-line-name" name="display_name"/></label>
                                <label class=FIELD for="field-line-customer-type">
                                    <span>"Held by"</span>
                                    <select id="field-line-customer-type" name="customer_type">{customer_types("user")}</select>
                                </label>
                                <FormError message=action_error(save_line)/>
                                <button type="submit" class=BUTTON>"Add product line"</button>
                            </ActionForm>
                        </section>
                }.into_any();
                let save_product_form = view! {
                                <ActionForm action=save_product attr:class=FORM>
                                    <h3 class="m-0 text-base font-semibold">"Add or change a product"</h3>
                                    <input type="hidden" name="project_id" value=id_product/>
                                    <label class=FIELD for="field-new-product-id"><span>"ID"</span><input id="field-new-product-id" name="product_id" required/></label>
                                    <label class=FIELD for="field-new-product-name"><span>"Name"</span><input id="field-new-product-name" name="display_name"/></label>
                                    <label class=FIELD for="field-product-customer-type">
                                        <span>"Bought by"</span>
                                        <select id="field-product-customer-type" name="customer_type">{customer_types("user")}</select>
                                    </label>
                                    <label class=FIELD for="field-product-line">
                                        <span>"Product line"</span>
                                        <select id="field-product-line" name="product_line_id"><option value="">"None"</option>{line_choices}</select>
                                    </label>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="stackable"/>"Can be bought more than once (stackable)"</label>
                                    <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="server_only"/>"Only the app's server may sell or grant it"</label>
                                    <FormError message=action_error(save_product)/>
                                    <button type="submit" class=BUTTON>"Save product"</button>
                                </ActionForm>
                }.into_any();
                let save_price_form = view! {
                                <ActionForm action=save_price attr:class=FORM>
                                    <h3 class="m-0 text-base font-semibold">"Add a price"</h3>
                                    <input type="hidden" name="project_id" value=id_price/>
                                    <label class=FIELD for="field-price-product"><span>"Product"</span><select id="field-price-product" name="product_id">{product_choices}</select></label>
                                    <label class=FIELD for="field-price-id"><span>"Price ID (such as monthly)"</span><input id="field-price-id" name="price_id" required/></label>
                                    <label class=FIELD for="field-price-currency"><span>"Currency"</span><select id="field-price-currency" name="currency">{currency_choices}</select></label>
                                    <label class=FIELD for="field-price-amount"><span>"Amount"</span><input id="field-price-amount" name="amount" inputmode="decimal" required placeholder="9.99"/></label>
                                    <label class=FIELD for="field-price-interval"><span>"Paid"</span><select id="field-price-interval" name="interval">{options(&INTERVALS, "")}</select></label>
                                    <FormError message=action_error(save_price)/>
                                    <button type="submit" class=BUTTON>"Add price"</button>
                                </ActionForm>
                }.into_any();
                let save_included_form = view! {
                                <ActionForm action=save_included attr:class=FORM>
                                    <h3 class="m-0 text-base font-semibold">"Include an item"</h3>
                                    <input type="hidden" name="project_id" value=id_included/>
                                    <label class=FIELD for="field-included-product"><span>"Product"</span><select id="field-included-product" name="product_id">{product_choices_2}</select></label>
                                    <label class=FIELD for="field-included-item"><span>"Item"</span><select id="field-included-item" name="item_id">{item_choices}</select></label>
                                    <label class=FIELD for="field-included-quantity"><span>"Quantity"</span><input id="field-included-quantity" name="quantity" type="number" min="1" required/></label>
                                    <label class=FIELD for="field-included-repeat"><span>"Granted again"</span><select id="field-included-repeat" name="repeat">{options(&[("never", "Never"), ("month", "Every month"), ("year", "Every year"), ("week", "Every week"), ("day", "Every day")], "never")}</select></label>
                                    <label class=FIELD for="field-included-expires"><span>"Expires"</span><select id="field-included-expires" name="expires">{options(&[("when-purchase-expires", "When the purchase ends"), ("when-repeated", "When granted again"), ("never", "Never")], "when-purchase-expires")}</select></label>
                                    <FormError message=action_error(save_included)/>
                                    <button type="submit" class=BUTTON>"Include item"</button>
                                </ActionForm>
                }.into_any();
                let products_panel = view! {
                        <section class=PANEL aria-labelledby="products-heading">
                            <h2 id="products-heading">"Products"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"What customers buy: each with its prices (once, or every month or year) and the items it includes. The app sells one with a checkout URL (createCheckoutUrl) and lists a customer's with listProducts."</p>
                            <table class=TABLE>
                                <thead><tr><th>"Product"</th><th>"Prices"</th><th>"Includes"</th><th></th></tr></thead>
                                <tbody>{product_rows}</tbody>
                            </table>
                            <FormError message=action_error(remove)/>
                            <div class="mt-4 grid gap-6 lg:grid-cols-3">
                                {save_product_form}{save_price_form}{save_included_form}
                            </div>
                        </section>
                }.into_any();
                let items_panel = view! {
                        <section class=PANEL aria-labelledby="items-heading">
                            <h2 id="items-heading">"Items"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"What a customer holds a quantity of: credits, seats, quotas. The app reads and changes them with the SDK (getItem, increaseQuantity, tryDecreaseQuantity)."</p>
                            <table class=TABLE>
                                <thead><tr><th>"ID"</th><th>"Name"</th><th>"Customers"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            <FormError message=action_error(remove)/>
                            <ActionForm action=save attr:class=format!("{FORM} mt-4")>
                                <input type="hidden" name="project_id" value=id_item/>
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
                }.into_any();
                let customer_panel = view! {
                        <section class=PANEL aria-labelledby="balance-heading">
                            <h2 id="balance-heading">"A customer"</h2>
                            <p class="mb-4 max-w-xl text-sm text-muted">"Look a customer up to see their products (grant one, cancel a subscription) and, with an item, their balance of it."</p>
                            <form method="get" class=FORM>
                                <label class=FIELD for="field-balance-type">
                                    <span>"Customer"</span>
                                    <select id="field-balance-type" name="customer_type">{customer_types(&picked_type)}</select>
                                </label>
                                <Field label="Customer ID (a user's or team's id, or the app's own)" name="customer_id" value=picked_id/>
                                <label class=FIELD for="field-balance-item">
                                    <span>"Item"</span>
                                    <select id="field-balance-item" name="item_id"><option value="">"No item"</option>{item_options}</select>
                                </label>
                                <button type="submit" class=format!("{SMALL_BUTTON} self-start px-3 py-1 text-sm")>"Look up"</button>
                            </form>
                            {customer_products}
                            {grant_form}
                            {found}
                        </section>
                }.into_any();
                let transactions_panel = view! {
                        <section class=PANEL aria-labelledby="transactions-heading">
                            <h2 id="transactions-heading">"Transactions"</h2>
                            <form method="get" class="mb-4 flex items-end gap-3 [&_select]:rounded-lg [&_select]:border [&_select]:border-line [&_select]:bg-page [&_select]:px-3 [&_select]:py-2">
                                <label class=FIELD for="field-transaction-type">
                                    <span>"Type"</span>
                                    <select id="field-transaction-type" name="type">{options(&[("", "All"), ("purchase", "Purchases"), ("subscription-renewal", "Renewals"), ("manual-item-quantity-change", "Changes by hand"), ("refund", "Refunds")], &type_filter)}</select>
                                </label>
                                <button type="submit" class=format!("{SMALL_BUTTON} px-3 py-1 text-sm")>"Show"</button>
                            </form>
                            {no_transactions}
                            <FormError message=action_error(refund)/>
                            <table class=TABLE>
                                <thead><tr><th>"When"</th><th>"Type"</th><th>"Customer"</th><th>"What"</th><th>"Charged"</th><th></th></tr></thead>
                                <tbody>{transaction_rows}</tbody>
                            </table>
                        </section>
                }.into_any();
                let stripe_panel = stripe_panel(&id, &r.stripe, r.test_mode, save_stripe, remove_stripe, check_stripe);
                view! {
                    <ProjectShell project_id=id.clone() project_name=r.project_name.clone() active="payments">
                        {header}{stripe_panel}{lines_panel}{products_panel}{items_panel}{customer_panel}{transactions_panel}
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

/// Stripe: the connection (its keys, a check, the webhook endpoint to add in Stripe).
fn stripe_panel(
    id: &str,
    stripe: &StripePanel,
    test_mode: bool,
    save: ServerAction<SaveStripe>,
    remove: ServerAction<RemoveStripe>,
    check: ServerAction<CheckStripe>,
) -> AnyView {
    let id = id.to_string();
    let (id_check, id_remove) = (id.clone(), id.clone());
    let state = match &stripe.connected {
        Some((pk, last4)) => view! {
            <p class="stripe-connected m-0 text-sm" role="status">
                "Connected: publishable key "<code>{pk.clone()}</code>", secret key ending "<code>{last4.clone()}</code>"."
            </p>
            <div class="flex flex-wrap items-center gap-3">
                <ActionForm action=check>
                    <input type="hidden" name="project_id" value=id_check/>
                    <button type="submit" class=SMALL_BUTTON>"Check the connection"</button>
                </ActionForm>
                <ActionForm action=remove>
                    <input type="hidden" name="project_id" value=id_remove/>
                    <button type="submit" class=SMALL_BUTTON>"Disconnect"</button>
                </ActionForm>
            </div>
            <p class="stripe-check m-0 text-sm" role="status">
                {move || check.value().get().map(|r| match r {
                    Ok(message) => message,
                    Err(e) => crate::server::error_message(&e),
                })}
            </p>
        }.into_any(),
        None => view! {
            <p class="m-0 text-sm text-muted">"Not connected. With Stripe connected and test mode off, the hosted checkout takes cards through Stripe."</p>
        }.into_any(),
    };
    let mode = (test_mode && stripe.connected.is_some()).then(|| view! {
        <p class="m-0 text-sm text-muted">"Test mode is on, so the checkout does not use Stripe yet: turn payments.testMode off to take real payments."</p>
    });
    view! {
        <section class=PANEL aria-labelledby="stripe-heading">
            <h2 id="stripe-heading">"Stripe"</h2>
            <div class="flex flex-col gap-3">
                {state}
                {mode}
                <p class="m-0 max-w-xl text-sm text-muted">
                    "In Stripe, add a webhook endpoint at "<code class="webhook-url break-all">{stripe.webhook_url.clone()}</code>
                    " for the events payment_intent.succeeded, payment_intent.payment_failed, invoice.paid, invoice.payment_failed and customer.subscription.deleted; then paste its signing secret below."
                </p>
                <ActionForm action=save attr:class=FORM>
                    <input type="hidden" name="project_id" value=id/>
                    <Field label="Secret key (sk_…)" name="secret_key" kind="password"/>
                    <Field label="Publishable key (pk_…)" name="publishable_key"/>
                    <Field label="Webhook signing secret (whsec_…)" name="webhook_secret" kind="password"/>
                    <FormError message=action_error(save)/>
                    <button type="submit" class=BUTTON>"Save the Stripe keys"</button>
                </ActionForm>
            </div>
        </section>
    }.into_any()
}

fn gatehouse_currencies() -> impl IntoView {
    ["USD", "EUR", "GBP", "JPY", "INR", "AUD", "CAD"]
        .into_iter()
        .map(|c| view! { <option value=c>{c}</option> })
        .collect_view()
}
