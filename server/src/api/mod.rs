//! The REST door: Stack's `/api/v1` wire format over the core. Handlers parse, call the core,
//! and shape the answer; rules live in the core.

mod analytics;
mod api_keys;
mod audit;
mod cli_auth;
mod config;
mod contact_channels;
mod emails;
mod error;
mod extract;
mod images;
mod limits;
mod mfa;
mod oauth;
pub mod openapi;
mod passkeys;
mod payments;
mod permissions;
mod projects;
mod sessions;
mod sign_in_codes;
mod sign_up_rules;
mod team_invitations;
mod teams;
mod users;
mod webhooks;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use gatehouse_core::{Core, Error};
use serde_json::{json, Value};

pub use error::{ApiError, ApiResult};
use extract::spellings;
#[cfg(test)]
pub(crate) use extract::tests as extract_tests;
use extract::MaybeAuth;
pub use extract::{cookie, credentials, header};
use openapi::{op, Op};

pub fn router(core: Core, trusted: crate::client_ip::TrustedProxies) -> Router {
    let mut routes: Vec<(&'static str, MethodRouter<Core>)> = vec![];
    for op in operations() {
        let mut route = (op.route)();
        if let Some(action) = op.limit {
            route = limits::limited(&core, &trusted, action, route);
        }
        match routes.iter_mut().find(|(p, _)| *p == op.path) {
            Some((_, r)) => *r = std::mem::take(r).merge(route),
            None => routes.push((op.path, route)),
        }
    }
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(wire_format))
        .with_state(core)
}

/// Every operation of the REST API: the router is built from this table, and so is the OpenAPI
/// document (`openapi.rs`).
pub fn operations() -> Vec<Op> {
    use extract::Empty;
    use gatehouse_core::api_keys::{ApiKeyCreate, ApiKeyUpdate, KeyType};
    use gatehouse_core::auth::{PasswordSet, PasswordSignIn, PasswordUpdate};
    use gatehouse_core::cli_auth::{CliComplete, CliPoll, CliStart};
    use gatehouse_core::mfa::{MfaSignIn, RecoverySignIn};
    use gatehouse_core::oauth::accounts::{OAuthAccountCreate, OAuthAccountUpdate};
    use gatehouse_core::oauth::flow::CrossDomainAuthorize;
    use gatehouse_core::oauth::AuthorizeQuery;
    use gatehouse_core::passkeys::{PasskeyRegister, PasskeySignIn};
    use gatehouse_core::payments::checkout::{CodeCheck, PurchaseChoice, PurchaseUrlRequest};
    use gatehouse_core::payments::items::QuantityChange;
    use gatehouse_core::payments::products::{GrantRequest, SwitchRequest};
    use gatehouse_core::payments::transactions::{RefundRequest, TransactionQuery};
    use gatehouse_core::projects::{ApiKeySetCreate, ProjectCreate, ProjectUpdate};
    use gatehouse_core::rate_limits::Action::*;
    use gatehouse_core::sessions::SessionCreate;
    use gatehouse_core::sign_up::PasswordSignUp;
    use gatehouse_core::teams::members::ProfileUpdate;
    use gatehouse_core::teams::permissions::DefinitionInput;
    use gatehouse_core::teams::{TeamCreate, TeamUpdate};
    use gatehouse_core::users::{UserCreate, UserListParams, UserUpdate};
    use gatehouse_core::validation::Input;
    use openapi::{Answer::*, ADMIN, ANY, DASHBOARD, OAUTH_CLIENT, PUBLIC, SERVER, SVIX};
    vec![
        op!(GET "/", welcome, PUBLIC, "A greeting that says what authentication the request carried.").answer(Text),
        op!(GET "/openapi.json", openapi::openapi_json, PUBLIC, "This API's OpenAPI 3.1 document."),
        op!(GET "/docs", openapi::docs, PUBLIC, "This API's reference, as a page.").answer(Html),
        // Projects and their keys
        op!(GET "/projects/current", projects::current_client, ANY, "The current project as its apps see it."),
        op!(GET "/projects/{project_id}/.well-known/jwks.json", projects::jwks, PUBLIC, "The keys that sign the project's access tokens (JSON Web Key Set)."),
        op!(GET "/internal/projects", projects::list_owned, DASHBOARD, "The projects the signed-in dashboard admin owns.").answer(List),
        op!(POST "/internal/projects", projects::create, DASHBOARD, "Create a project owned by the signed-in dashboard admin.").body(ProjectCreate::shape).answers(201, Object),
        op!(GET "/internal/projects/current", projects::current_admin, ADMIN, "The current project with its settings."),
        op!(PATCH "/internal/projects/current", projects::update_current, ADMIN, "Change the current project's settings.").body(ProjectUpdate::shape),
        op!(DELETE "/internal/projects/current", projects::delete_current, ADMIN, "Delete the current project and everything in it.").answer(Success),
        op!(GET "/internal/api-keys", projects::list_keys, ADMIN, "The project's key sets.").answer(List),
        op!(POST "/internal/api-keys", projects::create_keys, ADMIN, "Create a key set (its keys are shown once).").body(ApiKeySetCreate::shape),
        op!(GET "/internal/api-keys/{key_set_id}", projects::get_keys, ADMIN, "One key set."),
        op!(PATCH "/internal/api-keys/{key_set_id}", projects::update_keys, ADMIN, "Revoke a key set.").body(projects::KeySetUpdate::shape),
        // Config
        op!(GET "/internal/config", config::rendered, ADMIN, "The project's rendered config, as a string of JSON."),
        op!(GET "/internal/config/override/{level}", config::get_override, SERVER, "One level's config override (branch or environment)."),
        op!(PUT "/internal/config/override/{level}", config::set_override, SERVER, "Replace one level's config override.").body(config::SetOverride::shape).answer(Success),
        op!(PATCH "/internal/config/override/{level}", config::patch_override, SERVER, "Change some keys of one level's config override.").body(config::PatchOverride::shape).answer(Success),
        op!(POST "/internal/config/override/{level}/reset-keys", config::reset_keys, ADMIN, "Remove keys from one level's config override.").body(config::ResetKeys::shape).answer(Success),
        op!(GET "/internal/config/source", config::source, ADMIN, "Where the branch config comes from."),
        op!(DELETE "/internal/config/source", config::unlink_source, ADMIN, "Unlink the branch config from its source.").answer(Success),
        op!(POST "/internal/sign-up-rules-test", sign_up_rules::test, ADMIN, "Evaluate the sign-up rules against a made-up sign-up.").body(sign_up_rules::TestSignUp::shape),
        op!(GET "/internal/sign-up-rules-stats", sign_up_rules::stats, ADMIN, "How often each sign-up rule matched."),
        // Contact channels
        op!(GET "/contact-channels", contact_channels::list_channels, ANY, "A user's contact channels.").query(contact_channels::ListParams::shape).answer(List),
        op!(POST "/contact-channels", contact_channels::create, ANY, "Add a contact channel to a user.").body(contact_channels::CreateBody::shape).answers(201, Object),
        op!(POST "/contact-channels/send-verification-code", contact_channels::send_code_for_email, ANY, "Email a verification link to one of the signed-in user's addresses.").limit(SendCode).body(contact_channels::SendForEmail::shape).answer(Success),
        op!(POST "/contact-channels/verify", contact_channels::verify, ANY, "Verify a contact channel with the code from its email.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(Success),
        op!(POST "/contact-channels/verify/check-code", contact_channels::check_verify_code, ANY, "Check a verification code without using it.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(CodeValid),
        op!(GET "/contact-channels/{user_id}/{id}", contact_channels::read, ANY, "One contact channel."),
        op!(PATCH "/contact-channels/{user_id}/{id}", contact_channels::update, ANY, "Change a contact channel.").body(contact_channels::UpdateBody::shape),
        op!(DELETE "/contact-channels/{user_id}/{id}", contact_channels::remove, ANY, "Remove a contact channel.").answer(Success),
        op!(POST "/contact-channels/{user_id}/{id}/send-verification-code", contact_channels::send_code, ANY, "Email a verification link to a contact channel.").limit(SendCode).body(contact_channels::CallbackBody::shape).answer(Success),
        // One-time codes: sign-in and password reset
        op!(POST "/auth/otp/send-sign-in-code", sign_in_codes::send_sign_in_code, ANY, "Email a sign-in code and link.").limit(SendCode).body(sign_in_codes::SendCode::shape),
        op!(POST "/auth/otp/sign-in", sign_in_codes::sign_in, ANY, "Sign in with an emailed code.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(Tokens),
        op!(POST "/auth/otp/sign-in/check-code", sign_in_codes::check_sign_in_code, ANY, "Check a sign-in code without using it.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(CodeValid),
        op!(POST "/auth/password/send-reset-code", sign_in_codes::send_reset_code, ANY, "Email a password reset link.").limit(SendCode).body(sign_in_codes::SendCode::shape),
        op!(POST "/auth/password/reset", sign_in_codes::reset, ANY, "Set a new password with a reset code.").limit(VerifyCode).body(sign_in_codes::ResetBody::shape).answer(Success),
        op!(POST "/auth/password/reset/check-code", sign_in_codes::check_reset_code, ANY, "Check a reset code without using it.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(CodeValid),
        // Emails
        op!(POST "/emails/send-email", emails::send, SERVER, "Send an email to users, from a template, HTML or a draft.").body(emails::SendEmail::shape),
        op!(GET "/emails/unsubscribe-link", emails::unsubscribe, PUBLIC, "The page an unsubscribe link opens.").answer(Html),
        op!(GET "/emails/notification-preference/{user_id}", emails::preferences, ANY, "A user's email preferences by category.").answer(List),
        op!(PATCH "/emails/notification-preference/{user_id}/{category_id}", emails::update_preference, ANY, "Turn a category of emails on or off for a user.").body(emails::PreferenceUpdate::shape),
        op!(GET "/emails/outbox", emails::outbox, SERVER, "The emails sent and waiting.").query(emails::OutboxParams::shape).answer(List),
        op!(GET "/emails/outbox/{id}", emails::read, SERVER, "One email of the outbox."),
        op!(PATCH "/emails/outbox/{id}", emails::update, SERVER, "Change, hold or cancel an email that has not gone yet.").body(emails::UpdateEmail::shape),
        // Users
        op!(GET "/users", users::list, SERVER, "The project's users: search, order, pages.").query(UserListParams::shape).answer(List),
        op!(POST "/users", users::create, SERVER, "Create a user.").body(UserCreate::shape).answers(201, Object),
        op!(GET "/users/{user_id}", users::read, ANY, "A user (`me`: the signed-in user)."),
        op!(PATCH "/users/{user_id}", users::update, ANY, "Change a user (`me`: the signed-in user).").body(UserUpdate::shape),
        op!(DELETE "/users/{user_id}", users::remove, ANY, "Delete a user.").answer(Success),
        // Passwords and sessions
        op!(POST "/auth/password/sign-up", sessions::password_sign_up, ANY, "Sign up with an email and password.").limit(SignUp).body(PasswordSignUp::shape).answer(Tokens),
        op!(POST "/auth/password/sign-in", sessions::password_sign_in, ANY, "Sign in with an email and password.").limit(SignIn).body(PasswordSignIn::shape).answer(Tokens),
        op!(POST "/auth/password/update", sessions::password_update, ANY, "Change the signed-in user's password.").body(PasswordUpdate::shape).answer(Success),
        op!(POST "/auth/password/set", sessions::password_set, ANY, "Give the signed-in user a password.").body(PasswordSet::shape).answer(Success),
        op!(POST "/auth/anonymous/sign-up", sessions::anonymous_sign_up, ANY, "Sign up an anonymous user.").limit(SignUp).answer(Tokens),
        op!(POST "/auth/bot-challenge", sessions::bot_challenge, ANY, "A proof-of-work puzzle for a sign-up (Gatehouse's own).").limit(SignUp).body(Empty::shape),
        op!(GET "/auth/sessions", sessions::list, ANY, "A user's sessions.").answer(List),
        op!(POST "/auth/sessions", sessions::create, SERVER, "Open a session for a user.").body(SessionCreate::shape),
        op!(DELETE "/auth/sessions/current", sessions::sign_out, ANY, "Sign out: end the session of the refresh token sent.").answer(Success),
        op!(POST "/auth/sessions/current/refresh", sessions::refresh, ANY, "A new access token for the refresh token sent."),
        op!(DELETE "/auth/sessions/{session_id}", sessions::remove, ANY, "End one of a user's sessions.").answer(Success),
        // Signing in from a command line
        op!(POST "/auth/cli", cli_auth::start, ANY, "Start a command-line sign-in: a login code to open in a browser.").body(CliStart::shape),
        op!(POST "/auth/cli/poll", cli_auth::poll, ANY, "Ask whether the command-line sign-in is done (201 once it is).").body(CliPoll::shape).or_status(201),
        op!(POST "/auth/cli/complete", cli_auth::complete, ANY, "Finish a command-line sign-in from the browser.").body(CliComplete::shape),
        // Passkeys and the second factor
        op!(POST "/auth/passkey/initiate-passkey-registration", passkeys::initiate_registration, ANY, "WebAuthn options for registering a passkey.").body(Empty::shape),
        op!(POST "/auth/passkey/register", passkeys::register, ANY, "Register a passkey for the signed-in user.").body(PasskeyRegister::shape),
        op!(POST "/auth/passkey/initiate-passkey-authentication", passkeys::initiate_authentication, ANY, "WebAuthn options for signing in with a passkey.").body(Empty::shape),
        op!(POST "/auth/passkey/sign-in", passkeys::sign_in, ANY, "Sign in with a passkey.").limit(SignIn).body(PasskeySignIn::shape).answer(Tokens),
        op!(POST "/auth/mfa/sign-in", mfa::sign_in, ANY, "Finish a sign-in with a one-time password.").limit(Mfa).body(MfaSignIn::shape).answer(Tokens),
        op!(POST "/auth/mfa/recovery-code/sign-in", mfa::recovery_sign_in, ANY, "Finish a sign-in with a recovery code (Gatehouse's own).").limit(Mfa).body(RecoverySignIn::shape).answer(Tokens),
        op!(POST "/auth/mfa/recovery-codes", mfa::new_recovery_codes, ANY, "New recovery codes for the signed-in user (Gatehouse's own)."),
        // OAuth
        op!(POST "/auth/oauth/token", oauth::token, OAUTH_CLIENT, "OAuth 2 token endpoint: exchange a code or a refresh token."),
        op!(GET "/auth/oauth/authorize/{provider_id}", oauth::authorize, PUBLIC, "Start signing in (or connecting an account) with a provider.").query(AuthorizeQuery::shape).answer(Redirect),
        op!(GET "/auth/oauth/callback/{provider_id}", oauth::callback, PUBLIC, "Where the provider sends the browser back.").answers(303, Redirect),
        op!(POST "/auth/oauth/callback/{provider_id}", oauth::callback, PUBLIC, "Where the provider posts the browser back (form_post).").answers(303, Redirect),
        op!(POST "/auth/oauth/cross-domain/authorize", oauth::cross_domain_authorize, ANY, "Carry a session to another domain of the project.").body(CrossDomainAuthorize::shape),
        op!(GET "/oauth-providers", oauth::list_accounts, ANY, "A user's provider accounts.").query(oauth::ListParams::shape).answer(List),
        op!(POST "/oauth-providers", oauth::create_account, SERVER, "Link a provider account to a user.").body(OAuthAccountCreate::shape).answers(201, Object),
        op!(GET "/oauth-providers/{user_id}/{provider_id}", oauth::read_account, ANY, "One provider account of a user."),
        op!(PATCH "/oauth-providers/{user_id}/{provider_id}", oauth::update_account, ANY, "Change a provider account (whether it signs in, receives email).").body(OAuthAccountUpdate::shape),
        op!(DELETE "/oauth-providers/{user_id}/{provider_id}", oauth::delete_account, ANY, "Unlink a provider account.").answer(Success),
        op!(GET "/connected-accounts/{user_id}", oauth::connected_accounts, ANY, "A user's connected accounts.").answer(List),
        op!(POST "/connected-accounts/{user_id}/{provider_id}/access-token", oauth::access_token, ANY, "A provider access token for a connected account.").body(oauth::AccessTokenBody::shape).answers(201, Object),
        op!(POST "/connected-accounts/{user_id}/{provider_id}/{provider_account_id}/access-token", oauth::account_access_token, ANY, "A provider access token for one of several accounts with a provider.").body(oauth::AccessTokenBody::shape).answers(201, Object),
        // Teams
        op!(GET "/teams", teams::list_teams, ANY, "Teams: all of them, or a user's.").query(teams::TeamListQuery::shape).answer(List),
        op!(POST "/teams", teams::create_team, ANY, "Create a team.").body(TeamCreate::shape).answers(201, Object),
        op!(GET "/teams/{team_id}", teams::read_team, ANY, "One team."),
        op!(PATCH "/teams/{team_id}", teams::update_team, ANY, "Change a team.").body(TeamUpdate::shape),
        op!(DELETE "/teams/{team_id}", teams::delete_team, ANY, "Delete a team.").answer(Success),
        op!(POST "/team-memberships/{team_id}/{user_id}", teams::add_member, SERVER, "Add a user to a team.").body(Empty::shape).answers(201, Object),
        op!(DELETE "/team-memberships/{team_id}/{user_id}", teams::remove_member, ANY, "Remove a user from a team (or leave it).").answer(Success),
        op!(GET "/team-member-profiles", teams::list_profiles, ANY, "Team members' profiles.").query(teams::ProfileQuery::shape).answer(List),
        op!(GET "/team-member-profiles/{team_id}/{user_id}", teams::read_profile, ANY, "One member's profile in a team."),
        op!(PATCH "/team-member-profiles/{team_id}/{user_id}", teams::update_profile, ANY, "Change a member's profile in a team.").body(ProfileUpdate::shape),
        op!(GET "/team-invitations", team_invitations::list_invitations, ANY, "A team's pending invitations.").query(team_invitations::ListQuery::shape).answer(List),
        op!(POST "/team-invitations/send-code", team_invitations::send_code, ANY, "Invite someone to a team by email.").body(team_invitations::SendBody::shape),
        op!(POST "/team-invitations/accept", team_invitations::accept, ANY, "Accept an invitation with its code.").limit(VerifyCode).body(contact_channels::CodeBody::shape),
        op!(POST "/team-invitations/accept/check-code", team_invitations::check_code, ANY, "Check an invitation code without using it.").limit(VerifyCode).body(contact_channels::CodeBody::shape).answer(CodeValid),
        op!(POST "/team-invitations/accept/details", team_invitations::details, ANY, "The team an invitation code is for.").limit(VerifyCode).body(contact_channels::CodeBody::shape),
        op!(DELETE "/team-invitations/{id}", team_invitations::revoke, ANY, "Withdraw an invitation.").query(team_invitations::DeleteQuery::shape).answer(Success),
        op!(POST "/team-invitations/{id}/accept", team_invitations::accept_by_id, ANY, "Accept an invitation sent to one of the signed-in user's addresses.").query(team_invitations::AcceptByIdQuery::shape),
        // Permissions
        op!(GET "/team-permissions", permissions::list_grants::<true>, ANY, "Team permissions granted to users.").query(permissions::GrantListQuery::shape).answer(List),
        op!(POST "/team-permissions/{team_id}/{user_id}/{permission_id}", permissions::grant_team, SERVER, "Grant a team permission to a member.").answers(201, Object),
        op!(DELETE "/team-permissions/{team_id}/{user_id}/{permission_id}", permissions::revoke_team, SERVER, "Revoke a team permission.").answer(Success),
        op!(GET "/project-permissions", permissions::list_grants::<false>, ANY, "Project permissions granted to users.").query(permissions::GrantListQuery::shape).answer(List),
        op!(POST "/project-permissions/{user_id}/{permission_id}", permissions::grant_project, SERVER, "Grant a project permission to a user.").answers(201, Object),
        op!(DELETE "/project-permissions/{user_id}/{permission_id}", permissions::revoke_project, SERVER, "Revoke a project permission.").answer(Success),
        op!(GET "/team-permission-definitions", permissions::list_definitions::<true>, ADMIN, "The team permissions the project defines.").answer(List),
        op!(POST "/team-permission-definitions", permissions::create_definition::<true>, ADMIN, "Define a team permission.").body(|_| DefinitionInput::shape(true)).answers(201, Object),
        op!(PATCH "/team-permission-definitions/{permission_id}", permissions::update_definition::<true>, ADMIN, "Change a team permission's definition.").body(|_| DefinitionInput::shape(false)),
        op!(DELETE "/team-permission-definitions/{permission_id}", permissions::delete_definition::<true>, ADMIN, "Remove a team permission's definition.").answer(Success),
        op!(GET "/project-permission-definitions", permissions::list_definitions::<false>, ADMIN, "The project permissions the project defines.").answer(List),
        op!(POST "/project-permission-definitions", permissions::create_definition::<false>, ADMIN, "Define a project permission.").body(|_| DefinitionInput::shape(true)).answers(201, Object),
        op!(PATCH "/project-permission-definitions/{permission_id}", permissions::update_definition::<false>, ADMIN, "Change a project permission's definition.").body(|_| DefinitionInput::shape(false)),
        op!(DELETE "/project-permission-definitions/{permission_id}", permissions::delete_definition::<false>, ADMIN, "Remove a project permission's definition.").answer(Success),
        op!(GET "/images/{image_id}", images::image, PUBLIC, "An uploaded picture.").answer(Image),
        // API keys
        op!(GET "/user-api-keys", api_keys::list_keys::<false>, ANY, "A user's API keys.").query(|_| api_keys::list_shape(false)).answer(List),
        op!(POST "/user-api-keys", api_keys::create::<false>, ANY, "Create an API key for a user (its value is shown once).").body(|_| ApiKeyCreate::shape(KeyType::User)),
        op!(POST "/user-api-keys/check", api_keys::check::<false>, SERVER, "Look up a user API key by its value.").limit(ApiKeyCheck).body(api_keys::CheckBody::shape),
        op!(GET "/user-api-keys/{api_key_id}", api_keys::read::<false>, ANY, "One user API key."),
        op!(PATCH "/user-api-keys/{api_key_id}", api_keys::update::<false>, ANY, "Change or revoke a user API key.").body(ApiKeyUpdate::shape),
        op!(GET "/team-api-keys", api_keys::list_keys::<true>, ANY, "A team's API keys.").query(|_| api_keys::list_shape(true)).answer(List),
        op!(POST "/team-api-keys", api_keys::create::<true>, ANY, "Create an API key for a team (its value is shown once).").body(|_| ApiKeyCreate::shape(KeyType::Team)),
        op!(POST "/team-api-keys/check", api_keys::check::<true>, SERVER, "Look up a team API key by its value.").limit(ApiKeyCheck).body(api_keys::CheckBody::shape),
        op!(GET "/team-api-keys/{api_key_id}", api_keys::read::<true>, ANY, "One team API key."),
        op!(PATCH "/team-api-keys/{api_key_id}", api_keys::update::<true>, ANY, "Change or revoke a team API key.").body(ApiKeyUpdate::shape),
        op!(POST "/integrations/credential-scanning/revoke", api_keys::revoke_leaked, PUBLIC, "Revoke a key a credential scanner found in public.").body(api_keys::CheckBody::shape).answer(Success),
        // Payments
        op!(GET "/payments/items/{customer_type}/{customer_id}/{item_id}", payments::read_item, ANY, "A customer's quantity of an item."),
        op!(POST "/payments/items/{customer_type}/{customer_id}/{item_id}/update-quantity", payments::update_quantity, SERVER, "Grant or use some of an item (refused below zero unless allowed).").query(payments::AllowNegative::shape).body(QuantityChange::shape),
        op!(GET "/payments/products/{customer_type}/{customer_id}", payments::list_products, ANY, "The products a customer owns, with the plans they may switch to.").query(payments::PageQuery::shape),
        op!(POST "/payments/products/{customer_type}/{customer_id}", payments::grant_product, SERVER, "Grant a product to a customer, by id or inline.").body(GrantRequest::shape),
        op!(DELETE "/payments/products/{customer_type}/{customer_id}/{product_id}", payments::cancel_product, ANY, "Cancel a customer's subscription (it runs to the end of its period).").query(payments::CancelQuery::shape),
        op!(POST "/payments/products/{customer_type}/{customer_id}/switch", payments::switch_product, ANY, "Move a subscription to another plan of its product line.").body(SwitchRequest::shape),
        op!(POST "/payments/purchases/create-purchase-url", payments::create_purchase_url, ANY, "A link to the hosted checkout for a customer and a product.").body(PurchaseUrlRequest::shape),
        op!(POST "/payments/purchases/validate-code", payments::validate_code, PUBLIC, "What the checkout shows for a purchase code.").body(CodeCheck::shape),
        op!(GET "/payments/purchases/validate-code", payments::code_project_exists, PUBLIC, "Whether a purchase code's project exists.").query(payments::CodeQuery::shape),
        op!(POST "/internal/payments/test-mode-purchase-session", payments::test_mode_purchase, PUBLIC, "Complete a purchase in test mode, with no payment.").body(PurchaseChoice::shape).answer(Success),
        op!(POST "/payments/purchases/purchase-session", payments::purchase_session, PUBLIC, "Charge the customer's saved card for a purchase code's product (Stripe).").body(PurchaseChoice::shape),
        op!(POST "/payments/payment-method/{customer_type}/{customer_id}/setup-intent", payments::setup_intent, ANY, "A Stripe SetupIntent for saving the customer's card."),
        op!(POST "/payments/payment-method/{customer_type}/{customer_id}/set-default", payments::set_default_payment_method, ANY, "Make the card a SetupIntent saved the customer's default.").body(payments::SetDefault::shape),
        op!(GET "/payments/billing/{customer_type}/{customer_id}", payments::billing, ANY, "Whether the customer is known to Stripe, and their default card."),
        op!(GET "/payments/invoices/{customer_type}/{customer_id}", payments::invoices, ANY, "The customer's subscription invoices, newest first.").query(payments::PageQuery::shape).answer(List),
        op!(POST "/integrations/stripe/webhooks", payments::stripe_webhook, PUBLIC, "Stripe's signed events for a project (?project_id=…)."),
        op!(GET "/internal/payments/stripe", payments::stripe_settings, ADMIN, "The project's Stripe connection (Gatehouse's own; no secret is shown)."),
        op!(PUT "/internal/payments/stripe", payments::save_stripe_settings, ADMIN, "Connect the project's own Stripe account (Gatehouse's own).").body(gatehouse_core::payments::stripe::StripeKeys::shape).answer(Success),
        op!(DELETE "/internal/payments/stripe", payments::remove_stripe_settings, ADMIN, "Disconnect the project's Stripe account (Gatehouse's own).").answer(Success),
        op!(POST "/internal/payments/stripe/check", payments::check_stripe, ADMIN, "Ask Stripe whether it takes the project's secret key (Gatehouse's own)."),
        op!(GET "/internal/payments/transactions", payments::transactions, ADMIN, "The project's transactions, newest first.").query(TransactionQuery::shape),
        op!(POST "/internal/payments/transactions/refund", payments::refund, ADMIN, "Refund a whole purchase (in test mode, recorded with no money moved).").body(RefundRequest::shape),
        // Analytics
        op!(POST "/analytics/events/batch", analytics::event_batch, ANY, "A batch of the SDK's page views and clicks (gzipped or not).").body(gatehouse_core::analytics::EventBatch::shape),
        op!(POST "/session-replays/batch", analytics::replay_batch, ANY, "A batch of rrweb events for the signed-in session's replay.").body(gatehouse_core::analytics::replays::ReplayBatch::shape),
        op!(POST "/internal/analytics/query", analytics::query, ADMIN, "Read-only SQL over the project's own tables.").body(gatehouse_core::analytics::query::AnalyticsQuery::shape),
        op!(GET "/internal/analytics/settings", analytics::settings, ADMIN, "How many days the project keeps its analytics events (Gatehouse's own)."),
        op!(PUT "/internal/analytics/settings", analytics::save_settings, ADMIN, "Set how many days the project keeps its analytics events (Gatehouse's own).").body(gatehouse_core::retention::RetentionInput::shape).answer(Success),
        op!(GET "/internal/audit-log", audit::list, ADMIN, "The project's audit entries, newest first, with filters and a cursor (Gatehouse's own)."),
        op!(GET "/internal/audit-log/settings", audit::settings, ADMIN, "How many days the project keeps its audit entries (Gatehouse's own)."),
        op!(PUT "/internal/audit-log/settings", audit::save_settings, ADMIN, "Set how many days the project keeps its audit entries (Gatehouse's own).").body(gatehouse_core::retention::RetentionInput::shape).answer(Success),
        op!(GET "/internal/session-replays", analytics::list_replays, ADMIN, "The project's session replays, latest first, with filters."),
        op!(GET "/internal/session-replays/{session_replay_id}", analytics::read_replay, ADMIN, "One session replay."),
        op!(GET "/internal/session-replays/{session_replay_id}/chunks", analytics::replay_chunks, ADMIN, "A session replay's chunks, in order."),
        op!(GET "/internal/session-replays/{session_replay_id}/chunks/{chunk_id}/events", analytics::chunk_events, ADMIN, "The rrweb events of one chunk."),
        op!(GET "/internal/session-replays/{session_replay_id}/events", analytics::replay_events, ADMIN, "A session replay's chunks and their rrweb events."),
        // Webhooks: Stack's token endpoint and the part of Svix's API its dashboard and clients use
        op!(POST "/webhooks/svix-token", webhooks::svix_token, ADMIN, "A token for the webhook API below.").body(webhooks::NoFields::shape).answers(201, Object),
        op!(POST "/internal/send-test-webhook", webhooks::send_test, ADMIN, "Send a test event to an endpoint.").body(webhooks::TestWebhook::shape),
        op!(POST "/app", webhooks::application, SVIX, "The project's webhook application."),
        op!(GET "/app/{app_id}", webhooks::application, SVIX, "The project's webhook application."),
        op!(GET "/app/{app_id}/endpoint", webhooks::list_endpoints, SVIX, "Webhook endpoints."),
        op!(POST "/app/{app_id}/endpoint", webhooks::create_endpoint, SVIX, "Add a webhook endpoint.").answers(201, Object),
        op!(GET "/app/{app_id}/endpoint/{endpoint_id}", webhooks::read_endpoint, SVIX, "One webhook endpoint."),
        op!(PUT "/app/{app_id}/endpoint/{endpoint_id}", webhooks::update_endpoint, SVIX, "Change a webhook endpoint."),
        op!(PATCH "/app/{app_id}/endpoint/{endpoint_id}", webhooks::update_endpoint, SVIX, "Change a webhook endpoint."),
        op!(DELETE "/app/{app_id}/endpoint/{endpoint_id}", webhooks::delete_endpoint, SVIX, "Remove a webhook endpoint.").answer(Nothing),
        op!(GET "/app/{app_id}/endpoint/{endpoint_id}/secret", webhooks::endpoint_secret, SVIX, "An endpoint's signing secret."),
        op!(POST "/app/{app_id}/endpoint/{endpoint_id}/secret/rotate", webhooks::rotate_secret, SVIX, "Give an endpoint a new signing secret.").answer(Nothing),
        op!(GET "/app/{app_id}/msg", webhooks::list_messages, SVIX, "Events sent."),
        op!(POST "/app/{app_id}/msg", webhooks::create_message, SVIX, "Send an event.").answers(202, Object),
        op!(GET "/app/{app_id}/msg/{msg_id}", webhooks::read_message, SVIX, "One event."),
        op!(POST "/app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend", webhooks::resend, SVIX, "Send an event to an endpoint again.").answers(202, Object),
        op!(GET "/app/{app_id}/attempt/endpoint/{endpoint_id}", webhooks::endpoint_attempts, SVIX, "Delivery attempts to an endpoint."),
        op!(GET "/app/{app_id}/attempt/msg/{msg_id}", webhooks::message_attempts, SVIX, "Delivery attempts of an event."),
    ]
}

/// The largest request body the API reads (a profile picture as a data URL fits); larger ones
/// are answered 413.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// `GET /api/v1`: a greeting that says what authentication the request carried.
async fn welcome(MaybeAuth(auth): MaybeAuth) -> String {
    let seen = match &auth {
        None => "none".to_string(),
        Some(a) => format!(
            "{} access to project {}{}",
            a.access.as_str(),
            a.project.id,
            a.user
                .as_ref()
                .map(|u| format!(", signed in as user {}", u.id))
                .unwrap_or_default()
        ),
    };
    format!("Welcome to the Gatehouse API, compatible with Stack Auth's REST API. The reference is at /api/v1/docs, the OpenAPI document at /api/v1/openapi.json.\n\nAuthentication: {seen}\n")
}

async fn not_found(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError(Error::RouteNotFound {
        method: method.to_string(),
        path: uri.path().to_string(),
    })
}

/// What every answer gets on its way out: schema errors name the request's method and path,
/// and with `x-stack-override-error-status: true` errors answer 200 and carry the real status
/// in `x-stack-actual-status`, as the SDK asks (some hosts swallow non-200 bodies).
async fn wire_format(OriginalUri(uri): OriginalUri, req: Request, next: Next) -> Response {
    let wants =
        header(req.headers(), spellings!("override-error-status")).as_deref() == Some("true");
    let method = req.method().clone();
    let mut res = next.run(req).await;
    error::finish_schema_error(&method, uri.path(), &mut res);
    if wants && (res.status().is_client_error() || res.status().is_server_error()) {
        let actual = HeaderValue::from(res.status().as_u16());
        res.headers_mut()
            .insert("x-stack-actual-status", actual.clone());
        res.headers_mut().insert("x-hexclave-actual-status", actual);
        *res.status_mut() = StatusCode::OK;
    }
    res
}

/// `{items, is_paginated, pagination}`: Stack's list envelope.
fn list(items: Vec<Value>, next_cursor: Option<Option<String>>) -> Json<Value> {
    Json(match next_cursor {
        Some(cursor) => {
            json!({ "items": items, "is_paginated": true, "pagination": { "next_cursor": cursor } })
        }
        None => json!({ "items": items, "is_paginated": false }),
    })
}

/// Stack's sign-in response (`signInResponseSchema`): the tokens and whether the account is new.
fn signed_in((tokens, is_new_user): (gatehouse_core::sessions::Tokens, bool)) -> Json<Value> {
    Json(json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "user_id": tokens.user_id,
        "is_new_user": is_new_user,
    }))
}

/// A log's retention setting (Gatehouse's own `…/settings` routes of analytics and the audit
/// log): how many days the project keeps it.
async fn retention(
    core: &Core,
    auth: &gatehouse_core::auth::Auth,
    log: gatehouse_core::retention::Log,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let days = core.retention_days(&auth.project.id, log).await?;
    Ok(Json(json!({ "retention_days": days })))
}

/// Sets a log's retention.
async fn save_retention(
    core: &Core,
    auth: &gatehouse_core::auth::Auth,
    body: extract::Body,
    log: gatehouse_core::retention::Log,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let r: gatehouse_core::retention::RetentionInput = body.read(auth)?;
    core.set_retention_days(&auth.project.id, log, r.retention_days, &auth.who())
        .await?;
    Ok(success())
}

pub(crate) fn success() -> Json<Value> {
    Json(json!({ "success": true }))
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}
