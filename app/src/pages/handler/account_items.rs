//! Account settings: the items the user holds (credits, quotas…), as the app's catalogue names
//! them. Read-only: the app grants and uses them.

use leptos::prelude::*;

use crate::server::{my_items, MyItem};

/// The section's data; made at the top of the account page, outside its `Suspense`.
pub fn items_resource(project_id: Memo<String>) -> Resource<Result<Vec<MyItem>, ServerFnError>> {
    Resource::new(move || project_id.get(), my_items)
}

#[component]
pub fn AccountItems(items: Resource<Result<Vec<MyItem>, ServerFnError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let mine = items.await.unwrap_or_default();
                if mine.is_empty() {
                    return ().into_any();
                }
                let rows = mine.into_iter().map(|i| view! {
                    <li class="my-item flex items-center justify-between gap-2 text-sm" data-item=i.id>
                        <span>{i.display_name}</span>
                        <strong class="quantity">{i.quantity}</strong>
                    </li>
                }).collect_view();
                view! {
                    <section id="items" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="items-heading">
                        <h2 id="items-heading">"Your balance"</h2>
                        <ul class="flex flex-col gap-2">{rows}</ul>
                    </section>
                }.into_any()
            })}
        </Suspense>
    }
}
