//! Account settings: the user's email addresses, and which emails they take.

use leptos::prelude::*;

use crate::components::{action_error, Field, FormError, SMALL_BUTTON};
use crate::server::{
    my_emails, my_notifications, AddEmail, EmailAction, EmailAddressRow, NotificationRow,
    SaveNotifications,
};

/// What the two sections read and do. Made at the top of the account page, outside its
/// `Suspense` (a resource first made while a page streams can keep it from finishing).
#[derive(Clone, Copy)]
pub struct AccountEmailState {
    pub add: ServerAction<AddEmail>,
    pub act: ServerAction<EmailAction>,
    pub save: ServerAction<SaveNotifications>,
    pub emails: Resource<Result<Vec<EmailAddressRow>, ServerFnError>>,
    pub notifications: Resource<Result<Vec<NotificationRow>, ServerFnError>>,
}

impl AccountEmailState {
    pub fn new(project_id: Memo<String>) -> AccountEmailState {
        let add = ServerAction::<AddEmail>::new();
        let act = ServerAction::<EmailAction>::new();
        let save = ServerAction::<SaveNotifications>::new();
        let emails = Resource::new(
            move || (project_id.get(), add.version().get(), act.version().get()),
            |(id, _, _)| my_emails(id),
        );
        let notifications = Resource::new(
            move || (project_id.get(), save.version().get()),
            |(id, _)| my_notifications(id),
        );
        AccountEmailState {
            add,
            act,
            save,
            emails,
            notifications,
        }
    }
}

const SECTION: &str =
    "mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold";

/// The addresses: which is primary, which are verified, which sign in; add, verify, make
/// primary, use for sign-in, remove. Every button is a form post.
#[component]
pub fn AccountEmails(
    #[prop(into)] project_id: String,
    done: Memo<Option<String>>,
    state: AccountEmailState,
) -> impl IntoView {
    let AccountEmailState {
        add, act, emails, ..
    } = state;
    let sent = move || done.get().as_deref() == Some("email-sent");
    let pid = project_id.clone();
    view! {
        <section class=SECTION aria-labelledby="emails-heading">
            <h2 id="emails-heading">"Email addresses"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let pid = pid.clone();
                    Suspend::new(async move {
                        let rows = emails.await.unwrap_or_default().into_iter().map(|e| {
                            let button = |action: &'static str, label: &'static str| {
                                let (pid, cid) = (pid.clone(), e.id.clone());
                                view! {
                                    <ActionForm action=act attr:class="inline">
                                        <input type="hidden" name="project_id" value=pid/>
                                        <input type="hidden" name="channel_id" value=cid/>
                                        <input type="hidden" name="action" value=action/>
                                        <button type="submit" class=SMALL_BUTTON>{label}</button>
                                    </ActionForm>
                                }
                            };
                            let badges = [
                                (e.is_primary, "Primary"),
                                (e.is_verified, "Verified"),
                                (!e.is_verified, "Not verified"),
                                (e.used_for_auth, "Signs in"),
                            ]
                            .into_iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, label)| view! { <span class="rounded-full border border-line px-2 py-0.5 text-xs">{label}</span> })
                            .collect_view();
                            view! {
                                <li class="email-address flex flex-col gap-1 text-sm" data-email=e.value.clone()>
                                    <span class="flex flex-wrap items-center gap-1"><strong>{e.value.clone()}</strong>{badges}</span>
                                    <span class="flex flex-wrap gap-1">
                                        {(!e.is_verified).then(|| button("verify", "Send a verification link"))}
                                        {(e.is_verified && !e.is_primary).then(|| button("primary", "Make primary"))}
                                        {(e.is_verified && !e.used_for_auth).then(|| button("sign-in-on", "Use to sign in"))}
                                        {(e.used_for_auth && !e.is_primary).then(|| button("sign-in-off", "Stop signing in with it"))}
                                        {(!e.is_primary).then(|| button("remove", "Remove"))}
                                    </span>
                                </li>
                            }
                        }).collect_view();
                        view! { <ul class="mb-3 flex flex-col gap-3">{rows}</ul> }
                    })
                }}
            </Suspense>
            {move || sent().then(|| view! { <p class="m-0 mb-2 text-sm text-muted" role="status">"We sent a verification link. Open it to verify the address."</p> })}
            <FormError message=action_error(act)/>
            <ActionForm action=add attr:class="flex flex-col gap-3">
                <input type="hidden" name="project_id" value=project_id/>
                <Field label="Add an email address" name="email" kind="email" autocomplete="email"/>
                <FormError message=action_error(add)/>
                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-4 py-2 font-semibold text-ink">"Add address"</button>
            </ActionForm>
        </section>
    }
}

/// Which emails the user takes: transactional ones always; the rest as they choose.
#[component]
pub fn AccountNotifications(
    #[prop(into)] project_id: String,
    done: Memo<Option<String>>,
    state: AccountEmailState,
) -> impl IntoView {
    let AccountEmailState {
        save,
        notifications: prefs,
        ..
    } = state;
    let saved = move || done.get().as_deref() == Some("notifications");
    view! {
        <section class=SECTION aria-labelledby="notifications-heading">
            <h2 id="notifications-heading">"Emails you get"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let project_id = project_id.clone();
                    Suspend::new(async move {
                        let boxes = prefs.await.unwrap_or_default().into_iter().map(|p| {
                            let name = p.name.to_lowercase();
                            view! {
                                <label class="flex items-center gap-2 text-sm">
                                    <input type="checkbox" name=name checked=p.enabled disabled=!p.can_disable/>
                                    {p.name.clone()}
                                    {(!p.can_disable).then(|| view! { <span class="text-xs text-muted">"(always sent: sign-in codes, verification, password resets)"</span> })}
                                </label>
                            }
                        }).collect_view();
                        view! {
                            <ActionForm action=save attr:class="flex flex-col gap-2">
                                <input type="hidden" name="project_id" value=project_id/>
                                {boxes}
                                <FormError message=action_error(save)/>
                                <button type="submit" class="secondary self-start whitespace-nowrap rounded-lg border border-line px-4 py-2 font-semibold text-ink">"Save email choices"</button>
                            </ActionForm>
                        }
                    })
                }}
            </Suspense>
            {move || saved().then(|| view! { <p class="m-0 mt-2 text-sm text-muted" role="status">"Saved."</p> })}
        </section>
    }
}
