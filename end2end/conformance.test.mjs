// Stack's shapes, checked by machine. Every REST endpoint Gatehouse serves is called here with
// each access type it allows, and every answer is held to Stack's own schemas from the newest
// published `@stackframe/stack-shared` (`stack-shared-newest` in package.json), with unknown
// fields refused; every error to `KnownErrors` (status, code, message and details, as the SDK
// rebuilds it). The table below names each endpoint's schema, or says why it has none; the last
// test checks that the table lists exactly the operations of the server's OpenAPI document (made
// from the same table as its router), with the same access types, and that each endpoint
// answered successfully for each access type the table allows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createHash, createHmac } from 'node:crypto';
import { startGatehouse } from './support/gatehouse.mjs';
import { startOidcProvider, completeProviderLogin } from './support/oidc-server.mjs';
import { authenticator } from 'otplib';
import { base32 } from './support/base32.mjs';
import { SoftAuthenticator } from './support/webauthn.mjs';
import { startLocalstripe } from './support/localstripe.mjs';

const STRIPE_KEY = 'sk_test_conformance';
const STRIPE_WEBHOOK_SECRET = 'whsec_conformance';

const require = createRequire(import.meta.url);
const shared = (path) => require(`stack-shared-newest/dist/${path}`);
const y = shared('schema-fields');
const { KnownError } = shared('known-errors');
const crud = (name) => shared(`interface/crud/${name}`);
const { usersCrud } = crud('users');
const { currentUserCrud } = crud('current-user');
const { clientProjectsCrud, projectsCrud, adminUserProjectsCrud } = crud('projects');
const { internalApiKeysCrud, internalApiKeysCreateOutputSchema } = crud('internal-api-keys');
const { contactChannelsCrud } = crud('contact-channels');
const { emailOutboxCrud } = crud('email-outbox');
const { notificationPreferenceCrud } = crud('notification-preferences');
const { sessionsCrud, sessionsCreateOutputSchema } = crud('sessions');
const { oauthProviderCrud } = crud('oauth-providers');
const { connectedAccountCrud, connectedAccountAccessTokenCrud } = crud('connected-accounts');
const { teamsCrud } = crud('teams');
const { teamMembershipsCrud } = crud('team-memberships');
const { teamMemberProfilesCrud } = crud('team-member-profiles');
const { teamInvitationCrud } = crud('team-invitation');
const { teamInvitationDetailsCrud } = crud('team-invitation-details');
const { teamPermissionsCrud, teamPermissionDefinitionsCrud } = crud('team-permissions');
const { projectPermissionsCrud, projectPermissionDefinitionsCrud } = crud('project-permissions');
const { userApiKeysCrud, teamApiKeysCrud, userApiKeysCreateOutputSchema, teamApiKeysCreateOutputSchema } = crud('project-api-keys');
const { svixTokenCrud } = crud('svix-token');

// Shapes Stack's backend builds around the CRUD schemas or states in a route's own response
// schema (the path names the file in stack-auth/stack-auth's apps/backend/src/...).
// route-handlers/crud-handler.tsx: a list.
const list = (read) => y.yupObject({
  items: y.yupArray(read).defined(),
  is_paginated: y.yupBoolean().defined(),
  pagination: y.yupObject({ next_cursor: y.yupString().nullable().defined() })
    .when('is_paginated', { is: true, then: (s) => s.defined(), otherwise: (s) => s.optional() }),
}).defined();
// payments/billing/…/route.ts and payment-method/…/set-default/route.ts: a saved card.
const card = y.yupObject({
  id: y.yupString().defined(), brand: y.yupString().nullable().defined(), last4: y.yupString().nullable().defined(),
  exp_month: y.yupNumber().nullable().defined(), exp_year: y.yupNumber().nullable().defined(),
});
// route-handlers/smart-response.tsx: bodyType "success".
const success = y.yupObject({ success: y.yupBoolean().oneOf([true]).defined() }).defined();
// route-handlers/verification-code-handler.tsx: every `…/check-code`.
const codeValid = y.yupObject({ is_code_valid: y.yupBoolean().oneOf([true]).defined() }).defined();
// auth/password/sign-up, sign-in, auth/anonymous/sign-up.
const tokens = y.yupObject({
  access_token: y.yupString().defined(), refresh_token: y.yupString().defined(), user_id: y.yupString().defined(),
}).defined();
// Gatehouse's own (no Stack schema): one-time recovery codes for the second factor.
const recoveryCodes = y.yupObject({ recovery_codes: y.yupArray(y.yupString().defined()).length(10).defined() }).defined();
// auth/passkey/initiate-passkey-registration and -authentication: the options are WebAuthn's (a
// mixed value to Stack's schema).
const passkeyOptions = y.yupObject({ options_json: y.yupMixed().defined(), code: y.yupString().defined() }).defined();
// Gatehouse's own (no Stack schema): a proof-of-work puzzle for a sign-up.
const botChallenge = y.yupObject({
  type: y.yupString().oneOf(['proof_of_work']).defined(), challenge: y.yupString().defined(),
  difficulty_bits: y.yupNumber().integer().defined(), expires_at_millis: y.yupNumber().integer().defined(),
}).defined();
// auth/cli/route.tsx, auth/cli/poll/route.tsx, auth/cli/complete/route.tsx.
const cliStart = y.yupObject({
  polling_code: y.yupString().defined(), login_code: y.yupString().defined(), expires_at: y.yupString().defined(),
}).defined();
const cliPoll = y.yupObject({
  status: y.yupString().oneOf(['waiting', 'success', 'expired', 'used']).defined(), refresh_token: y.yupString().optional(),
}).defined();
const cliComplete = y.yupUnion(
  y.yupObject({ cli_session_state: y.yupString().oneOf(['anonymous', 'none']).defined() }).defined(),
  y.yupObject({ access_token: y.yupString().defined(), refresh_token: y.yupString().defined() }).defined(),
  y.yupObject({ success: y.yupBoolean().oneOf([true]).defined() }).defined(),
).defined();
// internal/config, internal/config/override/[level] (GET).
const configString = y.yupObject({ config_string: y.yupString().defined() }).defined();
const riskScore = y.yupNumber().integer().min(0).max(100).defined();

// access: who may call it ('client', 'server', 'admin'; 'none' for no project headers at all).
// schema(access, path): the yup schema of a successful answer, or a string saying why none.
// oauthErrors: the endpoint answers errors as OAuth 2 does (`{error, error_description}`), as
// Stack's token endpoint (its OAuth server library) does.
// internal/session-replays/route.tsx: a replay; …/chunks/route.tsx and …/events/route.tsx: a
// chunk (the chunks list also names its browser session).
const replay = y.yupObject({
  id: y.yupString().defined(),
  project_user: y.yupObject({ id: y.yupString().defined(), display_name: y.yupString().nullable().defined(), primary_email: y.yupString().nullable().defined() }).defined(),
  started_at_millis: y.yupNumber().defined(), last_event_at_millis: y.yupNumber().defined(),
  chunk_count: y.yupNumber().defined(), event_count: y.yupNumber().defined(),
}).defined();
const replayChunk = (withBrowserSession) => y.yupObject({
  id: y.yupString().defined(), batch_id: y.yupString().defined(), session_replay_segment_id: y.yupString().nullable().defined(),
  ...(withBrowserSession ? { browser_session_id: y.yupString().nullable().defined() } : {}),
  event_count: y.yupNumber().defined(), byte_length: y.yupNumber().defined(), first_event_at_millis: y.yupNumber().defined(),
  last_event_at_millis: y.yupNumber().defined(), created_at_millis: y.yupNumber().defined(),
}).defined();
const T = (access, schema, { oauthErrors = false } = {}) => ({ access, schema, oauthErrors });
const C = ['client', 'server', 'admin'];
const SA = ['server', 'admin'];
const A = ['admin'];
const byAccess = (c, s = c) => (access) => (access === 'client' ? c : s);
const SVIX = 'Svix\'s API, the subset Stack\'s dashboard and the svix clients call; Stack forwards these to a Svix server and has no schema of its own (the svix client parses them in webhooks.test.mjs)';
const ENDPOINTS = {
  'GET /': T(['none'], 'a plain-text greeting, as Stack answers; no schema'),
  'GET /openapi.json': T(['none'], "Gatehouse's own: this API's OpenAPI 3.1 document (schemathesis reads it in python/test_fuzz.py)"),
  'GET /docs': T(['none'], "Gatehouse's own: the API reference as an HTML page"),
  'GET /projects/current': T(C, () => clientProjectsCrud.client.readSchema),
  'GET /projects/{project_id}/.well-known/jwks.json': T(['none'], 'a JSON Web Key Set (RFC 7517); Stack has no schema for it'),
  'GET /internal/projects': T(['dashboard'], () => list(adminUserProjectsCrud.client.readSchema)),
  'POST /internal/projects': T(['dashboard'], () => adminUserProjectsCrud.client.readSchema),
  'GET /internal/projects/current': T(A, () => projectsCrud.admin.readSchema),
  'PATCH /internal/projects/current': T(A, () => projectsCrud.admin.readSchema),
  'DELETE /internal/projects/current': T(A, () => success),
  'GET /internal/api-keys': T(A, () => list(internalApiKeysCrud.admin.readSchema)),
  'POST /internal/api-keys': T(A, () => internalApiKeysCreateOutputSchema),
  'GET /internal/api-keys/{key_set_id}': T(A, () => internalApiKeysCrud.admin.readSchema),
  'PATCH /internal/api-keys/{key_set_id}': T(A, () => internalApiKeysCrud.admin.readSchema),
  'GET /internal/config': T(A, () => configString),
  'GET /internal/config/override/{level}': T(SA, () => configString),
  'PUT /internal/config/override/{level}': T(SA, () => success),
  'PATCH /internal/config/override/{level}': T(SA, () => success),
  'POST /internal/config/override/{level}/reset-keys': T(A, () => success),
  // internal/config/source/route.tsx
  'GET /internal/config/source': T(A, () => y.yupObject({ source: y.branchConfigSourceSchema.defined() }).defined()),
  'DELETE /internal/config/source': T(A, () => success),
  // internal/sign-up-rules-test/route.tsx
  'POST /internal/sign-up-rules-test': T(A, () => y.yupObject({
    context: y.yupObject({
      email: y.yupString().defined(), email_domain: y.yupString().defined(), country_code: y.yupString().defined(),
      auth_method: y.yupString().oneOf(['password', 'otp', 'oauth', 'passkey']).defined(), oauth_provider: y.yupString().defined(),
      turnstile_result: y.yupString().oneOf(['ok', 'invalid', 'error']).defined(),
      risk_scores: y.yupObject({ bot: riskScore, free_trial_abuse: riskScore }).defined(),
    }).defined(),
    evaluations: y.yupArray(y.yupObject({
      rule_id: y.yupString().defined(), display_name: y.yupString().defined(), enabled: y.yupBoolean().defined(),
      condition: y.yupString().defined(), status: y.yupString().oneOf(['matched', 'not_matched', 'disabled', 'missing_condition', 'error']).defined(),
      action: y.yupObject({ type: y.yupString().oneOf(['allow', 'reject', 'restrict', 'log']).defined(), message: y.yupString().optional() }).defined(),
      error: y.yupString().optional(),
    }).defined()).defined(),
    outcome: y.yupObject({
      should_allow: y.yupBoolean().defined(), decision: y.yupString().oneOf(['allow', 'reject', 'default-allow', 'default-reject']).defined(),
      decision_rule_id: y.yupString().nullable().defined(), restricted_because_of_rule_id: y.yupString().nullable().defined(),
    }).defined(),
  }).defined()),
  // internal/sign-up-rules-stats/route.tsx
  'GET /internal/sign-up-rules-stats': T(A, () => y.yupObject({
    rule_triggers: y.yupArray(y.yupObject({
      rule_id: y.yupString().defined(), total_count: y.yupNumber().integer().defined(), all_time_count: y.yupNumber().integer().defined(),
      hourly_counts: y.yupArray(y.yupObject({ hour: y.yupString().defined(), count: y.yupNumber().integer().defined() }).defined()).defined(),
    }).defined()).defined(),
    analytics_hours: y.yupNumber().integer().defined(),
    total_triggers: y.yupNumber().integer().defined(),
    triggers_by_action: y.yupObject({
      allow: y.yupNumber().integer().defined(), reject: y.yupNumber().integer().defined(),
      restrict: y.yupNumber().integer().defined(), log: y.yupNumber().integer().defined(),
    }).defined(),
  }).defined()),
  'GET /contact-channels': T(C, (a) => list(contactChannelsCrud[a].readSchema)),
  'POST /contact-channels': T(C, (a) => contactChannelsCrud[a].readSchema),
  'POST /contact-channels/send-verification-code': T(C, () => success),
  'POST /contact-channels/verify': T(C, () => success),
  'POST /contact-channels/verify/check-code': T(C, () => codeValid),
  'GET /contact-channels/{user_id}/{id}': T(C, (a) => contactChannelsCrud[a].readSchema),
  'PATCH /contact-channels/{user_id}/{id}': T(C, (a) => contactChannelsCrud[a].readSchema),
  'DELETE /contact-channels/{user_id}/{id}': T(C, () => success),
  'POST /contact-channels/{user_id}/{id}/send-verification-code': T(C, () => success),
  // auth/otp/send-sign-in-code/route.tsx
  'POST /auth/otp/send-sign-in-code': T(C, () => y.yupObject({ nonce: y.yupString().defined() }).defined()),
  'POST /auth/otp/sign-in': T(C, () => y.signInResponseSchema.defined()),
  'POST /auth/mfa/sign-in': T(C, () => y.signInResponseSchema.defined()),
  'POST /auth/passkey/initiate-passkey-registration': T(C, () => passkeyOptions),
  'POST /auth/passkey/register': T(C, () => y.yupObject({ user_handle: y.yupString().defined() }).defined()),
  'POST /auth/passkey/initiate-passkey-authentication': T(C, () => passkeyOptions),
  'POST /auth/passkey/sign-in': T(C, () => y.signInResponseSchema.defined()),
  'POST /auth/mfa/recovery-code/sign-in': T(C, () => y.signInResponseSchema.defined()),
  'POST /auth/mfa/recovery-codes': T(C, () => recoveryCodes),
  'POST /auth/cli': T(C, () => cliStart),
  'POST /auth/cli/poll': T(C, () => cliPoll),
  'POST /auth/cli/complete': T(C, () => cliComplete),
  'POST /auth/otp/sign-in/check-code': T(C, () => codeValid),
  // auth/password/send-reset-code/route.tsx
  'POST /auth/password/send-reset-code': T(C, () => y.yupObject({
    success: y.yupString().oneOf(['maybe, only if user with e-mail exists']).defined(),
  }).defined()),
  'POST /auth/password/reset': T(C, () => success),
  'POST /auth/password/reset/check-code': T(C, () => codeValid),
  // emails/send-email/route.tsx
  'POST /emails/send-email': T(SA, () => y.yupObject({
    results: y.yupArray(y.yupObject({ user_id: y.yupString().defined() })).defined(),
  }).defined()),
  'GET /emails/unsubscribe-link': T(['none'], 'a page for the person who clicked the link, not JSON'),
  'GET /emails/notification-preference/{user_id}': T(C, (a) => list(notificationPreferenceCrud[a].readSchema)),
  'PATCH /emails/notification-preference/{user_id}/{category_id}': T(C, (a) => notificationPreferenceCrud[a].readSchema),
  'GET /emails/outbox': T(SA, (a) => list(emailOutboxCrud[a].readSchema)),
  'GET /emails/outbox/{id}': T(SA, (a) => emailOutboxCrud[a].readSchema),
  'PATCH /emails/outbox/{id}': T(SA, (a) => emailOutboxCrud[a].readSchema),
  'GET /users': T(SA, () => list(usersCrud.server.readSchema)),
  'POST /users': T(SA, () => usersCrud.server.readSchema),
  'GET /users/{user_id}': T(C, byAccess(currentUserCrud.client.readSchema, usersCrud.server.readSchema)),
  'PATCH /users/{user_id}': T(C, byAccess(currentUserCrud.client.readSchema, usersCrud.server.readSchema)),
  'DELETE /users/{user_id}': T(C, () => success),
  'POST /auth/password/sign-up': T(C, () => tokens),
  'POST /auth/password/sign-in': T(C, () => tokens),
  'POST /auth/password/update': T(C, () => success),
  'POST /auth/password/set': T(C, () => success),
  'POST /auth/anonymous/sign-up': T(C, () => tokens),
  'POST /auth/bot-challenge': T(C, () => botChallenge),
  'GET /auth/sessions': T(C, (a) => list(sessionsCrud[a].readSchema)),
  'POST /auth/sessions': T(SA, () => sessionsCreateOutputSchema),
  'DELETE /auth/sessions/current': T(C, () => success),
  // auth/sessions/current/refresh/route.tsx
  'POST /auth/sessions/current/refresh': T(C, () => y.yupObject({ access_token: y.yupString().defined() }).defined()),
  'DELETE /auth/sessions/{session_id}': T(C, () => success),
  'POST /auth/oauth/token': T(['client'], "Stack's response schema is yupMixed (the OAuth 2 token answer, written by its OAuth server library)", { oauthErrors: true }),
  'GET /auth/oauth/authorize/{provider_id}': T(['none'], 'a redirect to the provider'),
  'GET /auth/oauth/callback/{provider_id}': T(['none'], 'a redirect back to the app'),
  'POST /auth/oauth/callback/{provider_id}': T(['none'], 'a redirect back to the app (form_post providers)'),
  // auth/oauth/cross-domain/authorize/route.tsx
  'POST /auth/oauth/cross-domain/authorize': T(C, () => y.yupObject({ redirect_url: y.urlSchema.defined() }).defined()),
  'GET /oauth-providers': T(C, (a) => list(oauthProviderCrud[a].readSchema)),
  'POST /oauth-providers': T(SA, (a) => oauthProviderCrud[a].readSchema),
  'GET /oauth-providers/{user_id}/{provider_id}': T(C, (a) => oauthProviderCrud[a].readSchema),
  'PATCH /oauth-providers/{user_id}/{provider_id}': T(C, (a) => oauthProviderCrud[a].readSchema),
  'DELETE /oauth-providers/{user_id}/{provider_id}': T(C, () => success),
  'GET /connected-accounts/{user_id}': T(C, (a) => list(connectedAccountCrud[a].readSchema)),
  'POST /connected-accounts/{user_id}/{provider_id}/access-token': T(C, (a) => connectedAccountAccessTokenCrud[a].readSchema),
  'POST /connected-accounts/{user_id}/{provider_id}/{provider_account_id}/access-token': T(C, (a) => connectedAccountAccessTokenCrud[a].readSchema),
  'GET /teams': T(C, (a) => list(teamsCrud[a].readSchema)),
  'POST /teams': T(C, (a) => teamsCrud[a].readSchema),
  'GET /teams/{team_id}': T(C, (a) => teamsCrud[a].readSchema),
  'PATCH /teams/{team_id}': T(C, (a) => teamsCrud[a].readSchema),
  'DELETE /teams/{team_id}': T(C, () => success),
  'POST /team-memberships/{team_id}/{user_id}': T(SA, (a) => teamMembershipsCrud[a].readSchema),
  'DELETE /team-memberships/{team_id}/{user_id}': T(C, () => success),
  'GET /team-member-profiles': T(C, (a) => list(teamMemberProfilesCrud[a].readSchema)),
  'GET /team-member-profiles/{team_id}/{user_id}': T(C, (a) => teamMemberProfilesCrud[a].readSchema),
  'PATCH /team-member-profiles/{team_id}/{user_id}': T(C, (a) => teamMemberProfilesCrud[a].readSchema),
  'GET /team-invitations': T(C, (a) => list(teamInvitationCrud[a].readSchema)),
  // team-invitations/send-code/route.tsx
  'POST /team-invitations/send-code': T(C, () => y.yupObject({
    success: y.yupBoolean().oneOf([true]).defined(), id: y.yupString().uuid().defined(),
  }).defined()),
  // team-invitations/accept/verification-code-handler.tsx
  'POST /team-invitations/accept': T(C, () => y.yupObject({}).defined()),
  'POST /team-invitations/accept/check-code': T(C, () => codeValid),
  'POST /team-invitations/accept/details': T(C, () => teamInvitationDetailsCrud.client.readSchema),
  'DELETE /team-invitations/{id}': T(C, () => success),
  // team-invitations/[id]/accept/route.tsx
  'POST /team-invitations/{id}/accept': T(C, () => y.yupObject({}).defined()),
  'GET /team-permissions': T(C, (a) => list(teamPermissionsCrud[a].readSchema)),
  'POST /team-permissions/{team_id}/{user_id}/{permission_id}': T(SA, (a) => teamPermissionsCrud[a].readSchema),
  'DELETE /team-permissions/{team_id}/{user_id}/{permission_id}': T(SA, () => success),
  'GET /project-permissions': T(C, (a) => list(projectPermissionsCrud[a].readSchema)),
  'POST /project-permissions/{user_id}/{permission_id}': T(SA, (a) => projectPermissionsCrud[a].readSchema),
  'DELETE /project-permissions/{user_id}/{permission_id}': T(SA, () => success),
  'GET /team-permission-definitions': T(A, () => list(teamPermissionDefinitionsCrud.admin.readSchema)),
  'POST /team-permission-definitions': T(A, () => teamPermissionDefinitionsCrud.admin.readSchema),
  'PATCH /team-permission-definitions/{permission_id}': T(A, () => teamPermissionDefinitionsCrud.admin.readSchema),
  'DELETE /team-permission-definitions/{permission_id}': T(A, () => success),
  'GET /project-permission-definitions': T(A, () => list(projectPermissionDefinitionsCrud.admin.readSchema)),
  'POST /project-permission-definitions': T(A, () => projectPermissionDefinitionsCrud.admin.readSchema),
  'PATCH /project-permission-definitions/{permission_id}': T(A, () => projectPermissionDefinitionsCrud.admin.readSchema),
  'DELETE /project-permission-definitions/{permission_id}': T(A, () => success),
  // payments/items/[customer_type]/[customer_id]/[item_id]/route.ts, …/update-quantity/route.ts
  'GET /payments/items/{customer_type}/{customer_id}/{item_id}': T(C, () => y.yupObject({
    id: y.yupString().defined(), display_name: y.yupString().defined(), quantity: y.yupNumber().defined(),
  }).defined()),
  'POST /payments/items/{customer_type}/{customer_id}/{item_id}/update-quantity': T(SA, () => y.yupObject({}).defined()),
  'GET /payments/products/{customer_type}/{customer_id}': T(C, () => crud('products').customerProductsListResponseSchema),
  // payments/products/[customer_type]/[customer_id]/route.ts (POST)
  'POST /payments/products/{customer_type}/{customer_id}': T(SA, () => y.yupObject({
    success: y.yupBoolean().oneOf([true]).defined(), subscription_id: y.yupString().optional(),
  }).defined()),
  'DELETE /payments/products/{customer_type}/{customer_id}/{product_id}': T(C, () => success),
  'POST /payments/products/{customer_type}/{customer_id}/switch': T(C, () => success),
  // payments/purchases/create-purchase-url/route.ts
  'POST /payments/purchases/create-purchase-url': T(C, () => y.yupObject({ url: y.yupString().defined() }).defined()),
  // payments/purchases/validate-code/route.ts (POST and GET)
  'POST /payments/purchases/validate-code': T(['none'], () => y.yupObject({
    product: y.inlineProductSchema, stripe_account_id: y.yupString().defined(), project_id: y.yupString().defined(),
    project_logo_url: y.yupString().nullable().defined(), already_bought_non_stackable: y.yupBoolean().defined(),
    conflicting_products: y.yupArray(y.yupObject({ product_id: y.yupString().defined(), display_name: y.yupString().defined() }).defined()).defined(),
    test_mode: y.yupBoolean().defined(), charges_enabled: y.yupBoolean().defined(),
  }).defined()),
  'GET /payments/purchases/validate-code': T(['none'], () => y.yupObject({ valid: y.yupBoolean().defined() }).defined()),
  // internal/payments/test-mode-purchase-session/route.tsx: bodyType "success".
  'POST /internal/payments/test-mode-purchase-session': T(['none'], () => success),
  // payments/purchases/purchase-session/route.tsx
  'POST /payments/purchases/purchase-session': T(['none'], () => y.yupObject({ client_secret: y.yupString().defined() }).defined()),
  // payments/payment-method/[customer_type]/[customer_id]/setup-intent/route.ts, …/set-default/route.ts
  'POST /payments/payment-method/{customer_type}/{customer_id}/setup-intent': T(C, () => y.yupObject({
    client_secret: y.yupString().defined(), stripe_account_id: y.yupString().defined(),
  }).defined()),
  'POST /payments/payment-method/{customer_type}/{customer_id}/set-default': T(C, () => y.yupObject({
    success: y.yupBoolean().oneOf([true]).defined(), default_payment_method: card.nullable().defined(),
  }).defined()),
  // payments/billing/[customer_type]/[customer_id]/route.ts
  'GET /payments/billing/{customer_type}/{customer_id}': T(C, () => y.yupObject({
    has_customer: y.yupBoolean().defined(), default_payment_method: card.nullable().defined(),
  }).defined()),
  'GET /payments/invoices/{customer_type}/{customer_id}': T(C, () => crud('invoices').customerInvoicesListResponseSchema),
  // integrations/stripe/webhooks/route.tsx: its body is `{ received: true }`.
  'POST /integrations/stripe/webhooks': T(['none'], () => y.yupObject({ received: y.yupBoolean().oneOf([true]).defined() }).defined()),
  'GET /internal/payments/stripe': T(A, "Gatehouse's own: the project's own Stripe account (Stack sells through its platform's connected accounts)"),
  'PUT /internal/payments/stripe': T(A, () => success),
  'DELETE /internal/payments/stripe': T(A, () => success),
  'POST /internal/payments/stripe/check': T(A, "Gatehouse's own: whether Stripe takes the project's secret key"),
  // internal/payments/transactions/route.tsx
  // internal/payments/transactions/refund/route.tsx
  'POST /internal/payments/transactions/refund': T(A, () => y.yupObject({ success: y.yupBoolean().defined() }).defined()),
  'GET /internal/payments/transactions': T(A, () => y.yupObject({
    transactions: y.yupArray(crud('transactions').transactionSchema).defined(), next_cursor: y.yupString().nullable().defined(),
  }).defined()),
  'GET /images/{image_id}': T(['none'], 'the image itself (Stack serves uploads from its storage bucket)'),
  'GET /user-api-keys': T(C, (a) => list(userApiKeysCrud[a].readSchema)),
  'POST /user-api-keys': T(C, () => userApiKeysCreateOutputSchema),
  'POST /user-api-keys/check': T(SA, (a) => userApiKeysCrud[a].readSchema),
  'GET /user-api-keys/{api_key_id}': T(C, (a) => userApiKeysCrud[a].readSchema),
  'PATCH /user-api-keys/{api_key_id}': T(C, (a) => userApiKeysCrud[a].readSchema),
  'GET /team-api-keys': T(C, (a) => list(teamApiKeysCrud[a].readSchema)),
  'POST /team-api-keys': T(C, () => teamApiKeysCreateOutputSchema),
  'POST /team-api-keys/check': T(SA, (a) => teamApiKeysCrud[a].readSchema),
  'GET /team-api-keys/{api_key_id}': T(C, (a) => teamApiKeysCrud[a].readSchema),
  'PATCH /team-api-keys/{api_key_id}': T(C, (a) => teamApiKeysCrud[a].readSchema),
  // integrations/credential-scanning/revoke/route.tsx
  'POST /integrations/credential-scanning/revoke': T(['none'], () => success),
  // webhooks/svix-token/route.tsx
  'POST /webhooks/svix-token': T(A, () => svixTokenCrud.admin.readSchema),
  // internal/send-test-webhook/route.tsx
  'POST /internal/send-test-webhook': T(A, () => y.yupObject({ success: y.yupBoolean().defined(), error_message: y.yupString().optional() }).defined()),
  // analytics/events/batch/route.tsx
  'POST /analytics/events/batch': T(C, () => y.yupObject({ inserted: y.yupNumber().defined() }).defined()),
  // session-replays/batch/route.tsx
  'POST /session-replays/batch': T(C, () => y.yupObject({
    session_replay_id: y.yupString().defined(), batch_id: y.yupString().defined(), s3_key: y.yupString().defined(), deduped: y.yupMixed().defined(),
  }).defined()),
  // internal/analytics/query/route.ts
  'POST /internal/analytics/query': T(A, () => y.yupObject({ result: y.jsonSchema.defined(), query_id: y.yupString().defined() }).defined()),
  'GET /internal/analytics/settings': T(A, "Gatehouse's own: how many days the project keeps its analytics events"),
  'PUT /internal/analytics/settings': T(A, () => success),
  'GET /internal/audit-log': T(A, "Gatehouse's own: the project's audit entries (audit.test.mjs reads them)"),
  'GET /internal/audit-log/settings': T(A, "Gatehouse's own: how many days the project keeps its audit entries"),
  'PUT /internal/audit-log/settings': T(A, () => success),
  // internal/session-replays/route.tsx
  'GET /internal/session-replays': T(A, () => y.yupObject({
    items: y.yupArray(replay).defined(), pagination: y.yupObject({ next_cursor: y.yupString().nullable().defined() }).defined(),
  }).defined()),
  // The newest package's getSessionReplay (AdminGetSessionReplayResponse): one item of the list.
  'GET /internal/session-replays/{session_replay_id}': T(A, () => replay),
  // internal/session-replays/[session_replay_id]/chunks/route.tsx
  'GET /internal/session-replays/{session_replay_id}/chunks': T(A, () => y.yupObject({
    items: y.yupArray(replayChunk(true)).defined(), pagination: y.yupObject({ next_cursor: y.yupString().nullable().defined() }).defined(),
  }).defined()),
  // …/chunks/[chunk_id]/events/route.tsx
  'GET /internal/session-replays/{session_replay_id}/chunks/{chunk_id}/events': T(A, () => y.yupObject({ events: y.yupArray(y.yupMixed().defined()).defined() }).defined()),
  // …/[session_replay_id]/events/route.tsx
  'GET /internal/session-replays/{session_replay_id}/events': T(A, () => y.yupObject({
    chunks: y.yupArray(replayChunk(false)).defined(),
    chunk_events: y.yupArray(y.yupObject({ chunk_id: y.yupString().defined(), events: y.yupArray(y.yupMixed().defined()).defined() }).defined()).defined(),
  }).defined()),
  'POST /app': T(A, SVIX),
  'GET /app/{app_id}': T(A, SVIX),
  'GET /app/{app_id}/endpoint': T(A, SVIX),
  'POST /app/{app_id}/endpoint': T(A, SVIX),
  'GET /app/{app_id}/endpoint/{endpoint_id}': T(A, SVIX),
  'PUT /app/{app_id}/endpoint/{endpoint_id}': T(A, SVIX),
  'PATCH /app/{app_id}/endpoint/{endpoint_id}': T(A, SVIX),
  'DELETE /app/{app_id}/endpoint/{endpoint_id}': T(A, SVIX),
  'GET /app/{app_id}/endpoint/{endpoint_id}/secret': T(A, SVIX),
  'POST /app/{app_id}/endpoint/{endpoint_id}/secret/rotate': T(A, SVIX),
  'GET /app/{app_id}/msg': T(A, SVIX),
  'POST /app/{app_id}/msg': T(A, SVIX),
  'GET /app/{app_id}/msg/{msg_id}': T(A, SVIX),
  'POST /app/{app_id}/msg/{msg_id}/endpoint/{endpoint_id}/resend': T(A, SVIX),
  'GET /app/{app_id}/attempt/endpoint/{endpoint_id}': T(A, SVIX),
  'GET /app/{app_id}/attempt/msg/{msg_id}': T(A, SVIX),
};

// The routes the REST door serves, read from its router.
const templates = Object.keys(ENDPOINTS).map((key) => {
  const [method, path] = key.split(' ');
  const re = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
  return { key, method, re, params: (path.match(/\{/g) ?? []).length };
}).sort((a, b) => a.params - b.params);

function endpointOf(method, path) {
  const bare = path.split('?')[0];
  return templates.find((t) => t.method === method && t.re.test(bare))?.key;
}

describe("Stack's schemas, by machine", () => {
  let gh, provider, stripe, project, base;
  const answered = new Set(); // `${endpoint} ${access}` that answered 2xx/3xx
  const problems = [];

  before(async () => {
    provider = await startOidcProvider();
    stripe = await startLocalstripe(STRIPE_KEY);
    // GitHub on the server's shared keys, which MOCK sends to the OpenID Connect provider:
    // a provider of Stack's own types.
    gh = await startGatehouse({
      STACK_GITHUB_CLIENT_ID: 'MOCK', STACK_GITHUB_CLIENT_SECRET: 'MOCK', STACK_OAUTH_MOCK_URL: provider.url,
      STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS: 'true',
      GATEHOUSE_STRIPE_API_URL: stripe.url,
    });
    project = gh.project;
    base = `${gh.baseUrl}/api/v1`;
  });
  after(async () => {
    await gh?.stop();
    await provider?.stop();
    await stripe?.stop();
  });

  function headersFor(access, { token, keys = project, extra = {} } = {}) {
    const h = { ...extra };
    if (access === 'none') return h;
    if (access === 'dashboard') {
      Object.assign(h, { 'x-stack-access-type': 'client', 'x-stack-project-id': 'internal' });
    } else {
      h['x-stack-access-type'] = access;
      h['x-stack-project-id'] = keys.project_id;
      if (access === 'client') h['x-stack-publishable-client-key'] = keys.publishable_client_key;
      if (access === 'server') h['x-stack-secret-server-key'] = keys.secret_server_key;
      if (access === 'admin') h['x-stack-super-secret-admin-key'] = keys.super_secret_admin_key;
    }
    if (token) h['x-stack-access-token'] = token;
    return h;
  }

  // Calls an endpoint and holds the answer to its schema (or, for an error, to KnownErrors).
  // `status`: the status expected (default: any 2xx). Returns the parsed body (or the response
  // for answers that are not JSON).
  async function call(access, method, path, { body, form, token, status, keys, extra, refused = false } = {}) {
    const endpoint = endpointOf(method, path);
    assert.ok(endpoint, `${method} ${path} is not in the table`);
    const headers = headersFor(access, { token, keys, extra });
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(`${base}${path}`, {
      method, headers, redirect: 'manual',
      body: form !== undefined ? new URLSearchParams(form).toString() : body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const where = `${method} ${path} as ${access}`;
    if (refused) {
      assert.ok(res.status >= 400, `${where} should be refused: ${res.status} ${text}`);
    } else if (status === undefined) {
      assert.ok(res.status < 400, `${where}: ${res.status} ${text}`);
    } else {
      assert.equal(res.status, status, `${where}: ${text}`);
    }
    assert.ok(res.status < 500, `${where} answered ${res.status}: ${text}`);
    const json = (res.headers.get('content-type') ?? '').includes('application/json') ? JSON.parse(text) : undefined;
    if (res.status >= 400) {
      if (ENDPOINTS[endpoint].oauthErrors && json?.error && !res.headers.has('x-stack-known-error')) {
        assert.equal(typeof json.error_description, 'string', `${where}: an OAuth 2 error without a description: ${text}`);
        return json;
      }
      await holdToKnownErrors(where, res, json, text);
      return json;
    }
    answered.add(`${endpoint} ${access}`);
    const { schema } = ENDPOINTS[endpoint];
    if (typeof schema === 'function') {
      assert.ok(json !== undefined || res.status === 200 && text === '', `${where}: not JSON: ${text}`);
      await holdToSchema(where, schema(access === 'dashboard' ? 'client' : access, path), json);
    }
    return json ?? res;
  }

  async function holdToSchema(where, schema, value) {
    try {
      await y.yupValidate(schema, value, { abortEarly: false, strict: true, currentUserId: null, context: { noUnknownPathPrefixes: [''] } });
    } catch (e) {
      if (!e.errors) throw e;
      problems.push(`${where}: ${e.errors.join('; ')}\n  ${JSON.stringify(value)}`);
    }
  }

  async function holdToKnownErrors(where, res, json, text) {
    const code = res.headers.get('x-stack-known-error');
    if (code === null) {
      // Stack's plain StatusErrors are text, not known errors.
      assert.ok(json === undefined, `${where}: a JSON error without x-stack-known-error: ${text}`);
      return;
    }
    assert.equal(json?.code, code, `${where}: header and body disagree: ${text}`);
    let error;
    try {
      error = KnownError.fromJson(json);
    } catch (e) {
      problems.push(`${where}: ${code} is not one of Stack's known errors (${e.message})`);
      return;
    }
    if (error.statusCode !== res.status) problems.push(`${where}: ${code} has status ${error.statusCode} in Stack, ${res.status} here`);
    assert.deepEqual(json, JSON.parse(JSON.stringify(error.toDescriptiveJson())), `${where}: not as Stack's ${code}`);
  }

  test('every endpoint, every access type, every answer in Stack\'s shape', async () => {
    const admin = (m, p, o) => call('admin', m, p, o);
    const server = (m, p, o) => call('server', m, p, o);
    const client = (m, p, o) => call('client', m, p, o);
    const P = 'correct horse battery';

    // The project: everything on that these endpoints need.
    await call('none', 'GET', '/');
    await call('none', 'GET', '/openapi.json');
    await call('none', 'GET', '/docs');
    await call('none', 'GET', `/projects/${project.project_id}/.well-known/jwks.json`);
    for (const a of C) await call(a, 'GET', '/projects/current');
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({
      'auth.otp.allowSignIn': true,
      'apiKeys.enabled': { user: true, team: true },
      'teams.allowClientTeamCreation': true,
      'teams.createPersonalTeamOnSignUp': true,
      'auth.oauth.providers.github': { type: 'github', isShared: true, allowSignIn: true, allowConnectedAccounts: true },
      'domains.allowLocalhost': true,
      'auth.signUpRules.watch': { enabled: true, displayName: 'Watch', priority: 1, condition: 'emailDomain == "watch.example"', action: { type: 'log' } },
    }) } });
    await server('PATCH', '/internal/config/override/branch', { body: { config_override_string: JSON.stringify({ 'users.allowClientUserDeletion': true }) } });
    await admin('PUT', '/internal/config/override/project', { body: { config_string: '{}' } });
    await server('PUT', '/internal/config/override/branch', { body: { config_string: JSON.stringify({ 'users.allowClientUserDeletion': true }), source: { type: 'unlinked' } } });
    await admin('PATCH', '/internal/config/override/branch', { body: { config_override_string: JSON.stringify({ 'rbac.permissions.docs:read': { scope: 'team' }, 'apps.installed.analytics': { enabled: true } }) } });
    for (const level of ['project', 'branch', 'environment']) {
      await admin('GET', `/internal/config/override/${level}`);
    }
    await server('GET', '/internal/config/override/branch');
    await admin('POST', '/internal/config/override/environment/reset-keys', { body: { keys: ['nothing.here'] } });
    await admin('GET', '/internal/config');
    await admin('GET', '/internal/config/source');
    await admin('DELETE', '/internal/config/source');
    await admin('GET', '/internal/projects/current');
    await admin('PATCH', '/internal/projects/current', { body: { description: 'Conformance' } });
    await admin('POST', '/internal/sign-up-rules-test', { body: { email: 'a@watch.example', auth_method: 'password', oauth_provider: null, country_code: null } });
    await admin('GET', '/internal/sign-up-rules-stats');

    // Webhooks: Stack's two routes, and the Svix-compatible API with the admin's keys (an
    // endpoint nobody answers at: a closed local port).
    await admin('POST', '/webhooks/svix-token', { body: {} });
    const svixApp = `/app/${project.project_id}`;
    await admin('POST', '/app', { body: { name: 'Conformance', uid: project.project_id } });
    await admin('GET', svixApp);
    const ep = await admin('POST', `${svixApp}/endpoint`, { body: { url: 'http://127.0.0.1:9/hook', description: 'Closed', eventTypes: ['user.created'] } });
    await admin('GET', `${svixApp}/endpoint`);
    await admin('GET', `${svixApp}/endpoint/${ep.id}`);
    await admin('PUT', `${svixApp}/endpoint/${ep.id}`, { body: { url: 'http://127.0.0.1:9/hook2' } });
    await admin('PATCH', `${svixApp}/endpoint/${ep.id}`, { body: { description: 'Still closed' } });
    await admin('GET', `${svixApp}/endpoint/${ep.id}/secret`);
    await admin('POST', `${svixApp}/endpoint/${ep.id}/secret/rotate`, { body: {} });
    const testSent = await admin('POST', '/internal/send-test-webhook', { body: { endpoint_id: ep.id } });
    assert.equal(testSent.success, false, 'nobody answers at port 9');
    const msg = await admin('POST', `${svixApp}/msg`, { body: { eventType: 'user.created', payload: { type: 'user.created', data: {} } } });
    await admin('GET', `${svixApp}/msg`);
    await admin('GET', `${svixApp}/msg/${msg.id}`);
    await admin('POST', `${svixApp}/msg/${msg.id}/endpoint/${ep.id}/resend`, { body: {} });
    await admin('GET', `${svixApp}/attempt/endpoint/${ep.id}`);
    await admin('GET', `${svixApp}/attempt/msg/${msg.id}`);
    await admin('DELETE', `${svixApp}/endpoint/${ep.id}`);

    // Key sets.
    await admin('GET', '/internal/api-keys');
    const keySet = await admin('POST', '/internal/api-keys', { body: {
      description: 'Conformance', expires_at_millis: Date.now() + 86_400_000,
      has_publishable_client_key: true, has_secret_server_key: true, has_super_secret_admin_key: false,
    } });
    await admin('GET', `/internal/api-keys/${keySet.id}`);
    await admin('PATCH', `/internal/api-keys/${keySet.id}`, { body: { description: 'Renamed' } });

    // Users and their sessions.
    const signUp = await client('POST', '/auth/password/sign-up', { body: { email: 'ada@example.com', password: P } });
    const ada = signUp.user_id;
    let adaToken = signUp.access_token;
    const signIn = await client('POST', '/auth/password/sign-in', { body: { email: 'ada@example.com', password: P } });
    adaToken = signIn.access_token;
    await client('POST', '/auth/sessions/current/refresh', { extra: { 'x-stack-refresh-token': signIn.refresh_token } });
    await client('POST', '/auth/password/update', { token: adaToken, body: { old_password: P, new_password: `${P}!` } });
    const anon = await client('POST', '/auth/anonymous/sign-up');
    await client('GET', '/users/me', { token: anon.access_token, extra: { 'x-stack-allow-anonymous-user': 'true' } });
    const bob = await server('POST', '/users', { body: { primary_email: 'bob@example.com', primary_email_auth_enabled: true, display_name: 'Bob' } });
    await admin('POST', '/users', { body: { primary_email: 'carol@example.com' } });
    const bobSession = await server('POST', '/auth/sessions', { body: { user_id: bob.id } });
    await admin('POST', '/auth/sessions', { body: { user_id: bob.id } });
    await client('POST', '/auth/password/set', { token: bobSession.access_token, body: { password: P } });
    const bobToken = bobSession.access_token;
    for (const a of SA) {
      await call(a, 'GET', '/users');
      await call(a, 'GET', `/users/${ada}`);
      await call(a, 'PATCH', `/users/${ada}`, { body: { server_metadata: { a } } });
    }
    await client('GET', '/users/me', { token: adaToken });
    await client('PATCH', '/users/me', { token: adaToken, body: { display_name: 'Ada' } });
    const sessions = await client('GET', `/auth/sessions?user_id=${ada}`, { token: adaToken });
    await server('GET', `/auth/sessions?user_id=${ada}`);
    await admin('GET', `/auth/sessions?user_id=${ada}`);
    const other = sessions.items.find((s) => !s.is_current_session);
    if (other) await client('DELETE', `/auth/sessions/${other.id}`, { token: adaToken });
    const spare = [];
    for (let i = 0; i < 2; i++) spare.push(await server('POST', '/auth/sessions', { body: { user_id: bob.id } }));
    const bobSessions = await server('GET', `/auth/sessions?user_id=${bob.id}`);
    await server('DELETE', `/auth/sessions/${bobSessions.items[0].id}?user_id=${bob.id}`);
    await admin('DELETE', `/auth/sessions/${bobSessions.items[1].id}?user_id=${bob.id}`);

    // Emailed codes: sign-in, reset, verification.
    const otp = await client('POST', '/auth/otp/send-sign-in-code', { body: { email: 'dora@example.com', callback_url: `${gh.baseUrl}/handler/x` } });
    assert.ok(otp.nonce);
    const otpMail = await latestEmail('Your code is');
    const otpCode = `${otpMail.subject.split(' ').pop().toLowerCase()}${otp.nonce}`;
    await client('POST', '/auth/otp/sign-in/check-code', { body: { code: otpCode } });
    const dora = await client('POST', '/auth/otp/sign-in', { body: { code: otpCode } });
    await client('POST', '/auth/password/send-reset-code', { body: { email: 'ada@example.com', callback_url: `${gh.baseUrl}/handler/x` } });
    const resetCode = linkCode(await latestEmail('Reset your password'));
    await client('POST', '/auth/password/reset/check-code', { body: { code: resetCode } });
    await client('POST', '/auth/password/reset', { body: { code: resetCode, password: P } });
    // A reset signs the account out everywhere: in again.
    adaToken = (await client('POST', '/auth/password/sign-in', { body: { email: 'ada@example.com', password: P } })).access_token;

    // Contact channels.
    for (const a of C) {
      const opts = a === 'client' ? { token: adaToken } : {};
      await call(a, 'GET', `/contact-channels?user_id=${a === 'client' ? 'me' : ada}`, opts);
      const ch = await call(a, 'POST', '/contact-channels', { ...opts, body: { user_id: a === 'client' ? 'me' : ada, type: 'email', value: `ada+${a}@example.com`, used_for_auth: false } });
      await call(a, 'GET', `/contact-channels/${ada}/${ch.id}`, opts);
      await call(a, 'PATCH', `/contact-channels/${ada}/${ch.id}`, { ...opts, body: { is_primary: false } });
      await call(a, 'POST', `/contact-channels/${ada}/${ch.id}/send-verification-code`, { ...opts, body: { callback_url: `${gh.baseUrl}/handler/x` } });
      await call(a, 'DELETE', `/contact-channels/${ada}/${ch.id}`, opts);
    }
    // A customer's items.
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({
      'payments.items.credits': { displayName: 'Credits', customerType: 'user' },
    }) } });
    for (const a of SA) {
      await call(a, 'POST', `/payments/items/user/${ada}/credits/update-quantity?allow_negative=false`, { body: { delta: 5, description: a } });
    }
    for (const a of C) {
      const item = await call(a, 'GET', `/payments/items/user/${ada}/credits`, a === 'client' ? { token: adaToken } : {});
      assert.equal(item.quantity, 10);
    }
    const overdrawn = await server('POST', `/payments/items/user/${ada}/credits/update-quantity?allow_negative=false`, { body: { delta: -11 }, status: 400 });
    assert.equal(overdrawn.code, 'ITEM_QUANTITY_INSUFFICIENT_AMOUNT');
    await server('GET', `/payments/items/user/${ada}/gems`, { status: 404 });

    // A customer's products: granted, listed, switched within their line and canceled by each
    // access type; a purchase URL, the checkout's reading of its code, a test-mode purchase; the
    // transactions.
    const plan = (name, line) => ({ displayName: name, customerType: 'user', productLineId: line, prices: { monthly: { USD: '5', interval: [1, 'month'] } }, includedItems: { credits: { quantity: 1, expires: 'when-purchase-expires' } } });
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({
      'payments.productLines.plans': { displayName: 'Plans', customerType: 'user' },
      'payments.products.starter': plan('Starter', 'plans'),
      'payments.products.growth': plan('Growth', 'plans'),
      'payments.products.pack': { displayName: 'Pack', customerType: 'user', stackable: true, prices: { once: { USD: '2.50' } }, includedItems: { credits: { quantity: 10 } } },
      'payments.products.sub-client': { ...plan('Client sub'), productLineId: undefined },
      'payments.products.sub-server': { ...plan('Server sub'), productLineId: undefined },
      'payments.products.sub-admin': { ...plan('Admin sub'), productLineId: undefined },
      'payments.products.team-plan': { displayName: 'Team plan', customerType: 'team', prices: { monthly: { USD: '9', interval: [1, 'month'] } } },
    }) } });
    const products = `/payments/products/user/${ada}`;
    for (const a of SA) {
      await call(a, 'POST', products, { body: { product_id: 'pack', quantity: 2 } });
      await call(a, 'POST', products, { body: { product_inline: { display_name: `Inline from ${a}`, customer_type: 'user', prices: {}, included_items: {} } } });
    }
    await server('POST', products, { body: { product_id: 'starter' } });
    for (const a of C) await call('server', 'POST', products, { body: { product_id: `sub-${a}` } });
    for (const a of C) {
      const opts = a === 'client' ? { token: adaToken } : {};
      const listed = await call(a, 'GET', `${products}?limit=3`, opts);
      assert.equal(listed.items.length, 3);
      await call(a, 'GET', `${products}?cursor=${listed.pagination.next_cursor}`, opts);
      await call(a, 'DELETE', `${products}/sub-${a}`, opts);
      const [from, to] = a === 'server' ? ['growth', 'starter'] : ['starter', 'growth'];
      await call(a, 'POST', `${products}/switch`, { ...opts, body: { from_product_id: from, to_product_id: to } });
      const url = (await call(a, 'POST', '/payments/purchases/create-purchase-url', { ...opts, body: { customer_type: 'user', customer_id: ada, product_id: 'pack' } })).url;
      const fullCode = url.split('/purchase/')[1];
      await call('none', 'POST', '/payments/purchases/validate-code', { body: { full_code: fullCode } });
      await call('none', 'GET', `/payments/purchases/validate-code?full_code=${fullCode}`);
      await call('none', 'POST', '/internal/payments/test-mode-purchase-session', { body: { full_code: fullCode, price_id: 'once', quantity: 2 } });
      await call('none', 'POST', '/internal/payments/test-mode-purchase-session', { body: { full_code: fullCode, price_id: 'once' }, status: 409 });
    }
    const dup = await server('POST', products, { body: { product_id: 'growth' }, status: 400 });
    assert.equal(dup.code, 'PRODUCT_ALREADY_GRANTED');
    assert.equal((await server('POST', products, { body: { product_id: 'gold' }, status: 400 })).code, 'PRODUCT_DOES_NOT_EXIST');
    assert.equal((await server('POST', products, { body: { product_id: 'credits' }, status: 400 })).code, 'PRODUCT_DOES_NOT_EXIST');
    assert.equal((await server('POST', products, { body: { product_id: 'team-plan' }, status: 400 })).code, 'PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH');
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({ 'payments.blockNewPurchases': true }) } });
    const blocked = await client('POST', '/payments/purchases/create-purchase-url', { token: adaToken, body: { customer_type: 'user', customer_id: ada, product_id: 'pack' }, status: 403 });
    assert.equal(blocked.code, 'NEW_PURCHASES_BLOCKED');
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({ 'payments.blockNewPurchases': false }) } });
    const packs = (await admin('GET', '/internal/payments/transactions?type=purchase&limit=100')).transactions
      .filter((t) => t.entries[0].product_id === 'pack');
    await admin('POST', '/internal/payments/transactions/refund', { body: { type: 'one-time-purchase', id: packs[0].id, refund_entries: [{ entry_index: 0, quantity: 2, amount_usd: '0' }] } });
    const refundedTwice = await admin('POST', '/internal/payments/transactions/refund', { body: { type: 'one-time-purchase', id: packs[0].id, refund_entries: [{ entry_index: 0, quantity: 2, amount_usd: '0' }] }, status: 400 });
    assert.equal(refundedTwice.code, 'ONE_TIME_PURCHASE_ALREADY_REFUNDED');
    assert.equal((await admin('POST', '/internal/payments/transactions/refund', { body: { type: 'subscription', id: 'nope', refund_entries: [] }, status: 404 })).code, 'SUBSCRIPTION_INVOICE_NOT_FOUND');
    const transactions = await admin('GET', '/internal/payments/transactions?limit=5');
    assert.equal(transactions.transactions.length, 5);
    await admin('GET', `/internal/payments/transactions?cursor=${transactions.next_cursor}&type=purchase&customer_type=user`);

    // Stripe (localstripe): the project's own account connected, a card saved and made the
    // default by each access type, billing and invoices read, a purchase charged, one of
    // Stripe's signed events.
    await admin('GET', '/internal/payments/stripe');
    await admin('PUT', '/internal/payments/stripe', { body: { secret_key: STRIPE_KEY, publishable_key: 'pk_test_conformance', webhook_secret: STRIPE_WEBHOOK_SECRET } });
    await admin('POST', '/internal/payments/stripe/check', { body: {} });
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({ 'payments.testMode': false }) } });
    for (const a of C) {
      const opts = a === 'client' ? { token: adaToken } : {};
      const { client_secret: secret } = await call(a, 'POST', `/payments/payment-method/user/${ada}/setup-intent`, { ...opts, body: {} });
      const seti = secret.split('_secret_')[0];
      const confirmed = await fetch(`${stripe.url}/v1/setup_intents/${seti}/confirm`, { method: 'POST', body: JSON.stringify({
        key: 'pk_test_conformance', client_secret: secret,
        payment_method_data: { type: 'card', card: { number: '4242424242424242', exp_month: '12', exp_year: '2030', cvc: '123' } },
      }) });
      assert.equal(confirmed.status, 200, await confirmed.text());
      await call(a, 'POST', `/payments/payment-method/user/${ada}/set-default`, { ...opts, body: { setup_intent_id: seti } });
      await call(a, 'GET', `/payments/billing/user/${ada}`, opts);
      await call(a, 'GET', `/payments/invoices/user/${ada}?limit=5`, opts);
    }
    const stripeUrl = (await server('POST', '/payments/purchases/create-purchase-url', { body: { customer_type: 'user', customer_id: ada, product_id: 'pack' } })).url;
    await call('none', 'POST', '/payments/purchases/purchase-session', { body: { full_code: stripeUrl.split('/purchase/')[1], price_id: 'once' } });
    const stripeEvent = { id: 'evt_conformance', type: 'customer.updated', data: { object: { id: 'cus_x' } } };
    const at = Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', STRIPE_WEBHOOK_SECRET).update(`${at}.${JSON.stringify(stripeEvent)}`).digest('hex');
    await call('none', 'POST', `/integrations/stripe/webhooks?project_id=${project.project_id}`, { body: stripeEvent, extra: { 'stripe-signature': `t=${at},v1=${signature}` } });
    await admin('DELETE', '/internal/payments/stripe');

    await client('POST', '/contact-channels/send-verification-code', { token: adaToken, body: { email: 'ada@example.com', callback_url: `${gh.baseUrl}/handler/x` } });
    const verifyCode = linkCode(await latestEmail('Verify your email'));
    await client('POST', '/contact-channels/verify/check-code', { body: { code: verifyCode } });
    await client('POST', '/contact-channels/verify', { body: { code: verifyCode } });

    // Emails.
    await server('GET', '/emails/outbox');
    const outbox = await admin('GET', '/emails/outbox');
    const mailId = outbox.items[0].id;
    await server('GET', `/emails/outbox/${mailId}`);
    await admin('GET', `/emails/outbox/${mailId}`);
    for (const a of C) {
      const opts = a === 'client' ? { token: adaToken } : {};
      const prefs = await call(a, 'GET', `/emails/notification-preference/${a === 'client' ? 'me' : ada}`, opts);
      await call(a, 'PATCH', `/emails/notification-preference/${ada}/${prefs.items.find((p) => p.can_disable).notification_category_id}`, { ...opts, body: { enabled: true } });
    }

    // Analytics: events and a replay from a signed-in session, SQL over them, the replay read.
    const uuid = () => crypto.randomUUID();
    const segment = uuid();
    for (const a of C) {
      const opts = { token: adaToken };
      await call(a, 'POST', '/analytics/events/batch', { ...opts, body: { session_replay_segment_id: segment, batch_id: uuid(), sent_at_ms: Date.now(), events: [{ event_type: '$page-view', event_at_ms: Date.now(), data: { path: `/${a}` } }] } });
      await call(a, 'POST', '/session-replays/batch', { ...opts, body: { browser_session_id: uuid(), session_replay_segment_id: segment, batch_id: uuid(), started_at_ms: Date.now(), sent_at_ms: Date.now(), events: [{ type: 4, timestamp: Date.now(), data: {} }] } });
    }
    const noUser = await client('POST', '/analytics/events/batch', { body: { session_replay_segment_id: segment, batch_id: uuid(), sent_at_ms: 0, events: [{ event_type: '$click', event_at_ms: 0, data: {} }] }, status: 401 });
    assert.equal(noUser.code, 'USER_AUTHENTICATION_REQUIRED');
    await admin('POST', '/internal/analytics/query', { body: { query: 'SELECT count(*) AS n FROM users' } });
    assert.equal((await admin('POST', '/internal/analytics/query', { body: { query: 'SELECT * FROM api_keys' }, status: 400 })).code, 'ANALYTICS_QUERY_ERROR');
    await admin('GET', '/internal/analytics/settings');
    await admin('PUT', '/internal/analytics/settings', { body: { retention_days: 30 } });
    await admin('GET', '/internal/audit-log?limit=5&kind=session.');
    await admin('GET', '/internal/audit-log/settings');
    await admin('PUT', '/internal/audit-log/settings', { body: { retention_days: 30 } });
    const replays = await admin('GET', `/internal/session-replays?limit=1&user_ids=${ada}`);
    await admin('GET', `/internal/session-replays?cursor=${replays.items[0].id}`);
    const replayId = replays.items[0].id;
    await admin('GET', `/internal/session-replays/${replayId}`);
    const chunks = await admin('GET', `/internal/session-replays/${replayId}/chunks?limit=1`);
    await admin('GET', `/internal/session-replays/${replayId}/chunks/${chunks.items[0].id}/events`);
    await admin('GET', `/internal/session-replays/${replayId}/events?offset=0&limit=2`);
    assert.equal((await admin('GET', `/internal/session-replays/${uuid()}`, { status: 404 })).code, 'ITEM_NOT_FOUND');

    // Teams, members, invitations, permissions.
    const team = await client('POST', '/teams', { token: adaToken, body: { display_name: 'Ada\'s Lab', creator_user_id: 'me' } });
    const serverTeam = await server('POST', '/teams', { body: { display_name: 'Server team' } });
    const adminTeam = await admin('POST', '/teams', { body: { display_name: 'Admin team' } });
    await client('GET', '/teams?user_id=me', { token: adaToken });
    await server('GET', '/teams');
    await admin('GET', '/teams');
    await client('GET', `/teams/${team.id}`, { token: adaToken });
    await server('GET', `/teams/${team.id}`);
    await admin('GET', `/teams/${team.id}`);
    await client('PATCH', `/teams/${team.id}`, { token: adaToken, body: { display_name: 'The Lab' } });
    await server('PATCH', `/teams/${team.id}`, { body: { server_metadata: { s: 1 } } });
    await admin('PATCH', `/teams/${team.id}`, { body: { server_metadata: { a: 1 } } });
    await server('POST', `/team-memberships/${serverTeam.id}/${bob.id}`, { body: {} });
    await admin('POST', `/team-memberships/${adminTeam.id}/${bob.id}`, { body: {} });
    await server('POST', `/team-memberships/${team.id}/${bob.id}`, { body: {} });
    await client('GET', `/team-member-profiles?team_id=${team.id}`, { token: adaToken });
    await server('GET', `/team-member-profiles?team_id=${team.id}`);
    await admin('GET', `/team-member-profiles?team_id=${team.id}`);
    await client('GET', `/team-member-profiles/${team.id}/me`, { token: adaToken });
    await server('GET', `/team-member-profiles/${team.id}/${bob.id}`);
    await admin('GET', `/team-member-profiles/${team.id}/${bob.id}`);
    await client('PATCH', `/team-member-profiles/${team.id}/me`, { token: adaToken, body: { display_name: 'Ada at the Lab' } });
    await server('PATCH', `/team-member-profiles/${team.id}/${bob.id}`, { body: { display_name: 'Bob at the Lab' } });
    await admin('PATCH', `/team-member-profiles/${team.id}/${bob.id}`, { body: { display_name: 'Bob' } });

    await admin('GET', '/team-permission-definitions');
    await admin('POST', '/team-permission-definitions', { body: { id: 'docs:write', contained_permission_ids: ['docs:read'] } });
    await admin('PATCH', '/team-permission-definitions/docs:write', { body: { description: 'Write the docs' } });
    await admin('GET', '/project-permission-definitions');
    await admin('POST', '/project-permission-definitions', { body: { id: 'billing' } });
    await admin('PATCH', '/project-permission-definitions/billing', { body: { description: 'Billing' } });
    for (const a of SA) {
      await call(a, 'POST', `/team-permissions/${team.id}/${bob.id}/docs:write`, { body: {} });
      await call(a, 'POST', `/project-permissions/${bob.id}/billing`, { body: {} });
    }
    await client('GET', `/team-permissions?team_id=${team.id}&user_id=me`, { token: adaToken });
    await server('GET', `/team-permissions?team_id=${team.id}&user_id=${bob.id}&recursive=true`);
    await admin('GET', `/team-permissions?team_id=${team.id}`);
    await client('GET', '/project-permissions?user_id=me', { token: bobToken });
    await server('GET', `/project-permissions?user_id=${bob.id}`);
    await admin('GET', '/project-permissions');
    await server('DELETE', `/team-permissions/${team.id}/${bob.id}/docs:write`);
    await admin('POST', `/team-permissions/${team.id}/${bob.id}/docs:write`, { body: {} });
    await admin('DELETE', `/team-permissions/${team.id}/${bob.id}/docs:write`);
    await server('DELETE', `/project-permissions/${bob.id}/billing`);
    await admin('POST', `/project-permissions/${bob.id}/billing`, { body: {} });
    await admin('DELETE', `/project-permissions/${bob.id}/billing`);
    await admin('DELETE', '/team-permission-definitions/docs:write');
    await admin('DELETE', '/project-permission-definitions/billing');

    const invite = async (a, email, opts = {}) => call(a, 'POST', '/team-invitations/send-code', { ...opts, body: { team_id: team.id, email, callback_url: `${gh.baseUrl}/handler/x` } });
    await invite('client', 'eve@example.com', { token: adaToken });
    await invite('server', 'fay@example.com');
    const byAdmin = await invite('admin', 'gus@example.com');
    await client('GET', `/team-invitations?team_id=${team.id}`, { token: adaToken });
    await server('GET', `/team-invitations?team_id=${team.id}`);
    await admin('GET', `/team-invitations?team_id=${team.id}`);
    const inviteCode = linkCode(await latestEmail('', 'eve@example.com'));
    const eve = await client('POST', '/auth/password/sign-up', { body: { email: 'eve@example.com', password: P } });
    await client('POST', '/team-invitations/accept/check-code', { token: eve.access_token, body: { code: inviteCode } });
    await client('POST', '/team-invitations/accept/details', { token: eve.access_token, body: { code: inviteCode } });
    await client('POST', '/team-invitations/accept', { token: eve.access_token, body: { code: inviteCode } });
    for (const a of SA) {
      const email = `guest-${a}@example.com`;
      await invite(a, email);
      const code = linkCode(await latestEmail('', email));
      const guest = await client('POST', '/auth/password/sign-up', { body: { email, password: P } });
      await call(a, 'POST', '/team-invitations/accept/check-code', { token: guest.access_token, body: { code } });
      await call(a, 'POST', '/team-invitations/accept/details', { token: guest.access_token, body: { code } });
      await call(a, 'POST', '/team-invitations/accept', { token: guest.access_token, body: { code } });
    }
    await client('DELETE', `/team-invitations/${byAdmin.id}?team_id=${team.id}`, { token: adaToken });
    const again = [await invite('server', 'hal@example.com'), await invite('server', 'ida@example.com')];
    await server('DELETE', `/team-invitations/${again[0].id}?team_id=${team.id}`);
    await admin('DELETE', `/team-invitations/${again[1].id}?team_id=${team.id}`);
    // Accepting by id: the signed-in user's verified address is the invited one.
    const jo = await server('POST', '/users', { body: { primary_email: 'jo@example.com', primary_email_verified: true, primary_email_auth_enabled: true } });
    const joToken = (await server('POST', '/auth/sessions', { body: { user_id: jo.id } })).access_token;
    for (const a of C) {
      const inv = await invite('server', 'jo@example.com');
      const opts = a === 'client' ? { token: joToken } : {};
      await call(a, 'POST', `/team-invitations/${inv.id}/accept?user_id=${a === 'client' ? 'me' : jo.id}`, { ...opts, body: {} });
      await server('DELETE', `/team-memberships/${team.id}/${jo.id}`);
    }
    await client('DELETE', `/team-memberships/${team.id}/me`, { token: eve.access_token });
    await admin('DELETE', `/team-memberships/${adminTeam.id}/${bob.id}`);

    // API keys.
    for (const a of C) {
      const opts = a === 'client' ? { token: adaToken } : {};
      const user = a === 'client' ? 'me' : ada;
      const key = await call(a, 'POST', '/user-api-keys', { ...opts, body: { user_id: ada, description: `k-${a}`, expires_at_millis: null } });
      await call(a, 'GET', `/user-api-keys?user_id=${user}`, opts);
      await call(a, 'GET', `/user-api-keys/${key.id}?user_id=${user}`, opts);
      await call(a, 'PATCH', `/user-api-keys/${key.id}?user_id=${user}`, { ...opts, body: { description: 'renamed' } });
      const tkey = await call(a, 'POST', '/team-api-keys', { ...opts, body: { team_id: team.id, description: `t-${a}`, expires_at_millis: null } });
      await call(a, 'GET', `/team-api-keys?team_id=${team.id}`, opts);
      await call(a, 'GET', `/team-api-keys/${tkey.id}?team_id=${team.id}`, opts);
      await call(a, 'PATCH', `/team-api-keys/${tkey.id}?team_id=${team.id}`, { ...opts, body: { description: 'renamed' } });
      if (a !== 'client') {
        await call(a, 'POST', '/user-api-keys/check', { body: { api_key: key.value } });
        await call(a, 'POST', '/team-api-keys/check', { body: { api_key: tkey.value } });
      } else {
        await call('none', 'POST', '/integrations/credential-scanning/revoke', { body: { api_key: key.value } });
      }
    }

    // OAuth: the whole dance at a real OpenID Connect provider (the callback by GET, and by a
    // form post as Apple's form_post sends it), then the accounts it made.
    const app = 'http://localhost:3000/callback';
    const challenge = 'x'.repeat(43);
    async function dance(login, viaForm) {
      const authorize = await call('none', 'GET', `/auth/oauth/authorize/github?${new URLSearchParams({
        client_id: project.project_id, client_secret: project.publishable_client_key, redirect_uri: app,
        scope: 'legacy', state: 'app-state', grant_type: 'authorization_code', code_challenge: challenge,
        code_challenge_method: 'plain', response_type: 'code',
      })}`, { status: 307 });
      const cookie = authorize.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      const back = new URL(await completeProviderLogin(authorize.headers.get('location'), login));
      const done = viaForm
        ? await call('none', 'POST', back.pathname.slice('/api/v1'.length), { form: Object.fromEntries(back.searchParams), extra: { cookie }, status: 303 })
        : await call('none', 'GET', `${back.pathname.slice('/api/v1'.length)}${back.search}`, { extra: { cookie }, status: 303 });
      const code = new URL(done.headers.get('location')).searchParams.get('code');
      const tokenRes = await fetch(`${base}/auth/oauth/token`, {
        method: 'POST',
        headers: { ...headersFor('client'), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code', code, redirect_uri: app, code_verifier: challenge,
          client_id: project.project_id, client_secret: project.publishable_client_key,
        }).toString(),
      });
      assert.equal(tokenRes.status, 200, await tokenRes.clone().text());
      answered.add('POST /auth/oauth/token client');
      return (await tokenRes.json()).access_token;
    }
    const kimToken = await dance('kim@example.com', false);
    await dance('lou@example.com', true);
    const kim = await client('GET', '/users/me', { token: kimToken });
    const kimAccount = kim.oauth_providers[0].account_id;
    for (const a of C) {
      const opts = a === 'client' ? { token: kimToken } : {};
      const accounts = await call(a, 'GET', `/oauth-providers?user_id=${a === 'client' ? 'me' : kim.id}`, opts);
      const account = accounts.items[0];
      await call(a, 'GET', `/oauth-providers/${kim.id}/${account.id}`, opts);
      await call(a, 'PATCH', `/oauth-providers/${kim.id}/${account.id}`, { ...opts, body: { allow_connected_accounts: true } });
      await call(a, 'GET', `/connected-accounts/${a === 'client' ? 'me' : kim.id}`, opts);
      await call(a, 'POST', `/connected-accounts/${kim.id}/github/access-token`, { ...opts, body: { scope: 'openid' } });
      await call(a, 'POST', `/connected-accounts/${kim.id}/github/${encodeURIComponent(kimAccount)}/access-token`, { ...opts, body: { scope: 'openid' } });
    }
    for (const a of SA) {
      const made = await call(a, 'POST', '/oauth-providers', { body: { user_id: bob.id, provider_config_id: 'github', account_id: `bob-${a}`, email: 'bob@example.com', allow_sign_in: false, allow_connected_accounts: true } });
      await call(a, 'DELETE', `/oauth-providers/${bob.id}/${made.id}`);
    }
    const second = await server('POST', '/oauth-providers', { body: { user_id: kim.id, provider_config_id: 'github', account_id: 'kim-second', allow_sign_in: false, allow_connected_accounts: true } });
    await client('DELETE', `/oauth-providers/${kim.id}/${second.id}`, { token: kimToken });
    const fresh = await client('POST', '/auth/password/sign-in', { body: { email: 'ada@example.com', password: P } });
    await client('POST', '/auth/oauth/cross-domain/authorize', {
      token: fresh.access_token, extra: { 'x-stack-refresh-token': fresh.refresh_token },
      body: { redirect_uri: app, state: 's', code_challenge: challenge, code_challenge_method: 'S256', after_callback_redirect_url: app },
    });

    // Emails by the app, and unsubscribing.
    await admin('PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({
      'emails.server': { isShared: false, host: '127.0.0.1', port: 9, username: 'u', password: 'p', senderName: 'App', senderEmail: 'app@example.com' },
    }) } });
    await server('POST', '/emails/send-email', { body: { user_ids: [ada], subject: 'Hello', html: '<p>Hi</p>', notification_category_name: 'Marketing' } });
    await admin('POST', '/emails/send-email', { body: { user_ids: [ada], subject: 'Hello again', html: '<p>Hi</p>', notification_category_name: 'Marketing' } });
    const marketing = await latestEmail('Hello again');
    const unsubscribe = marketing.html.match(/href="([^"]*unsubscribe-link[^"]*)"/)[1]
      .replace(/&#x([0-9a-f]+);/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16))).replaceAll('&amp;', '&');
    assert.ok(unsubscribe.startsWith(`${base}/emails/unsubscribe-link?`), unsubscribe);
    await call('none', 'GET', unsubscribe.slice(base.length));
    // The app's emails wait for an SMTP server that is not there: pause and resume one.
    const queued = await admin('GET', '/emails/outbox');
    const pending = queued.items.find((m) => m.subject === 'Hello');
    await server('PATCH', `/emails/outbox/${pending.id}`, { body: { is_paused: true } });
    await admin('PATCH', `/emails/outbox/${pending.id}`, { body: { is_paused: false } });

    // Images and the dashboard's own endpoints.
    const pictured = await server('PATCH', `/users/${ada}`, { body: { profile_image_url: `data:image/png;base64,${PNG}` } });
    await call('none', 'GET', pictured.profile_image_url.slice(pictured.profile_image_url.indexOf('/images/')));
    // A dashboard user lists and makes projects (client access on the internal project).
    const owner = await fetch(`${base}/auth/password/sign-up`, {
      method: 'POST', headers: { ...headersFor('dashboard'), 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.com', password: P }),
    });
    assert.equal(owner.status, 200, await owner.clone().text());
    const ownerToken = (await owner.json()).access_token;
    const made = await call('dashboard', 'POST', '/internal/projects', { token: ownerToken, body: { display_name: 'Made here' } });
    const mine = await call('dashboard', 'GET', '/internal/projects', { token: ownerToken });
    assert.ok(mine.items.some((m) => m.id === made.id));

    // Deletions last: the user as themselves, as the server, and the teams.
    await client('DELETE', `/teams/${team.id}`, { token: adaToken });
    await server('DELETE', `/teams/${serverTeam.id}`);
    await admin('DELETE', `/teams/${adminTeam.id}`);
    await client('DELETE', '/users/me', { token: dora.access_token });
    await server('DELETE', `/users/${bob.id}`);
    await admin('DELETE', `/users/${jo.id}`);
    await client('DELETE', '/auth/sessions/current', { token: adaToken, extra: { 'x-stack-refresh-token': signIn.refresh_token } });
    await client('POST', '/auth/sessions/current/refresh', { extra: { 'x-stack-refresh-token': signIn.refresh_token }, status: 401 });

    assert.deepEqual(problems, []);
  });

  test('the account endpoints answer each access type that may call them', async () => {
    const P = 'correct horse battery';
    const callback_url = `${gh.baseUrl}/handler/x`;
    for (const a of C) {
      const email = `flow-${a}@example.com`;
      await call(a, 'POST', '/auth/password/sign-up', { body: { email, password: P } });
      const first = await call(a, 'POST', '/auth/password/sign-in', { body: { email, password: P } });
      const withRefresh = (t) => ({ token: t.access_token, extra: { 'x-stack-refresh-token': t.refresh_token } });
      await call(a, 'POST', '/auth/sessions/current/refresh', { extra: { 'x-stack-refresh-token': first.refresh_token } });
      await call(a, 'POST', '/auth/password/update', { token: first.access_token, body: { old_password: P, new_password: `${P}!` } });
      await call(a, 'POST', '/auth/anonymous/sign-up');
      const plain = await call('server', 'POST', '/users', { body: { primary_email: `plain-${a}@example.com`, primary_email_auth_enabled: true } });
      const plainSession = await call('server', 'POST', '/auth/sessions', { body: { user_id: plain.id } });
      await call(a, 'POST', '/auth/password/set', { token: plainSession.access_token, body: { password: P } });

      await call(a, 'POST', '/contact-channels/send-verification-code', { token: first.access_token, body: { email, callback_url } });
      const verify = linkCode(await latestEmail('Verify your email', email));
      await call(a, 'POST', '/contact-channels/verify/check-code', { body: { code: verify } });
      await call(a, 'POST', '/contact-channels/verify', { body: { code: verify } });

      const otpEmail = `otp-${a}@example.com`;
      const { nonce } = await call(a, 'POST', '/auth/otp/send-sign-in-code', { body: { email: otpEmail, callback_url } });
      const otp = `${(await latestEmail('Your code is', otpEmail)).subject.split(' ').pop().toLowerCase()}${nonce}`;
      await call(a, 'POST', '/auth/otp/sign-in/check-code', { body: { code: otp } });
      await call(a, 'POST', '/auth/otp/sign-in', { body: { code: otp } });

      await call(a, 'POST', '/auth/password/send-reset-code', { body: { email, callback_url } });
      const reset = linkCode(await latestEmail('Reset your password', email));
      await call(a, 'POST', '/auth/password/reset/check-code', { body: { code: reset } });
      await call(a, 'POST', '/auth/password/reset', { body: { code: reset, password: P } });

      const second = await call(a, 'POST', '/auth/password/sign-in', { body: { email, password: P } });
      const third = await call(a, 'POST', '/auth/password/sign-in', { body: { email, password: P } });
      await call(a, 'POST', '/auth/oauth/cross-domain/authorize', { ...withRefresh(second), body: {
        redirect_uri: 'http://localhost:3000/callback', state: 's', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256',
      } });
      await call(a, 'DELETE', '/auth/sessions/current', withRefresh(third));
      await call(a, 'POST', '/auth/password/sign-in', { body: { email, password: P } });
      const sessions = await call(a, 'GET', `/auth/sessions?user_id=${second.user_id}`, { token: second.access_token });
      const others = sessions.items.filter((x) => !x.is_current_session);
      assert.equal(others.length, 1, JSON.stringify(sessions));
      await call(a, 'DELETE', `/auth/sessions/${others[0].id}?user_id=${second.user_id}`, { token: second.access_token });
      await call(a, 'DELETE', a === 'client' ? '/users/me' : `/users/${second.user_id}`, { token: second.access_token });

      // The second factor: a user with TOTP signs in with a code, then with a recovery code.
      const secret = crypto.getRandomValues(new Uint8Array(20));
      const mfaEmail = `mfa-${a}@example.com`;
      await call('server', 'POST', '/users', { body: {
        primary_email: mfaEmail, primary_email_auth_enabled: true, password: P, totp_secret_base64: Buffer.from(secret).toString('base64'),
      } });
      const asked = await call(a, 'POST', '/auth/password/sign-in', { body: { email: mfaEmail, password: P }, status: 400 });
      assert.equal(asked.code, 'MULTI_FACTOR_AUTHENTICATION_REQUIRED');
      const wrongTotp = await call(a, 'POST', '/auth/mfa/sign-in', { body: { type: 'totp', totp: 'abcdef', code: asked.details.attempt_code }, status: 400 });
      assert.equal(wrongTotp.code, 'INVALID_TOTP_CODE');
      const mfa = await call(a, 'POST', '/auth/mfa/sign-in', { body: { type: 'totp', totp: authenticator.generate(base32(secret)), code: asked.details.attempt_code } });
      const { recovery_codes } = await call(a, 'POST', '/auth/mfa/recovery-codes', { token: mfa.access_token });
      const again = await call(a, 'POST', '/auth/password/sign-in', { body: { email: mfaEmail, password: P }, status: 400 });
      await call(a, 'POST', '/auth/mfa/recovery-code/sign-in', { body: { recovery_code: recovery_codes[0], code: again.details.attempt_code } });

      // Passkeys: one added by a software authenticator, then signed in with.
      if (a === 'client') await call('admin', 'PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({ 'auth.passkey.allowSignIn': true }) } });
      const device = new SoftAuthenticator();
      const origin = 'http://localhost:3000';
      const reg = await call(a, 'POST', '/auth/passkey/initiate-passkey-registration', { token: mfa.access_token });
      await call(a, 'POST', '/auth/passkey/register', { token: mfa.access_token, body: { credential: device.create(reg.options_json, origin), code: reg.code } });
      const auth = await call(a, 'POST', '/auth/passkey/initiate-passkey-authentication');
      const byPasskey = await call(a, 'POST', '/auth/passkey/sign-in', { status: 400, body: { authentication_response: device.get(auth.options_json, origin), code: auth.code } });
      assert.equal(byPasskey.code, 'MULTI_FACTOR_AUTHENTICATION_REQUIRED', 'the passkey user has TOTP on');
      const newcomer = await call(a, 'POST', '/auth/anonymous/sign-up');
      const plainReg = await call(a, 'POST', '/auth/passkey/initiate-passkey-registration', { token: newcomer.access_token, extra: { 'x-stack-allow-anonymous-user': 'true' } });
      const plainDevice = new SoftAuthenticator();
      await call(a, 'POST', '/auth/passkey/register', { token: newcomer.access_token, extra: { 'x-stack-allow-anonymous-user': 'true' }, body: { credential: plainDevice.create(plainReg.options_json, origin), code: plainReg.code } });
      const plainAuth = await call(a, 'POST', '/auth/passkey/initiate-passkey-authentication');
      await call(a, 'POST', '/auth/passkey/sign-in', { body: { authentication_response: plainDevice.get(plainAuth.options_json, origin), code: plainAuth.code } });

      // CLI sign-in: started, checked, confirmed with a browser's session, polled.
      const cli = await call(a, 'POST', '/auth/cli', { body: { expires_in_millis: 60_000 } });
      assert.deepEqual(await call(a, 'POST', '/auth/cli/poll', { body: { polling_code: cli.polling_code } }), { status: 'waiting' });
      await call(a, 'POST', '/auth/cli/complete', { body: { login_code: cli.login_code, mode: 'check' } });
      await call(a, 'POST', '/auth/cli/complete', { body: { login_code: cli.login_code, refresh_token: mfa.refresh_token } });
      const polled = await call(a, 'POST', '/auth/cli/poll', { body: { polling_code: cli.polling_code }, status: 201 });
      assert.equal(polled.status, 'success');
      const wrongPoll = await call(a, 'POST', '/auth/cli/poll', { body: { polling_code: 'nope' }, status: 400 });
      assert.equal(wrongPoll.code, 'INVALID_POLLING_CODE');
      const anon = await call(a, 'POST', '/auth/anonymous/sign-up');
      const anonCli = await call(a, 'POST', '/auth/cli', { body: { anon_refresh_token: anon.refresh_token } });
      await call(a, 'POST', '/auth/cli/complete', { body: { login_code: anonCli.login_code, mode: 'claim-anon-session' } });
    }
    assert.deepEqual(problems, []);
  });

  test('a sign-up behind a proof-of-work challenge', async () => {
    await call('admin', 'PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({
      'security.botChallenge': { mode: 'proofOfWork', proofOfWorkBits: 8 },
    }) } });
    for (const a of C) {
      const { challenge, difficulty_bits } = await call(a, 'POST', '/auth/bot-challenge');
      let nonce = 0;
      const zeroBits = (buf) => { let n = 0; for (const b of buf) { if (b) return n + Math.clz32(b) - 24; n += 8; } return n; };
      while (zeroBits(createHash('sha256').update(`${challenge}.${nonce}`).digest()) < difficulty_bits) nonce++;
      await call(a, 'POST', '/auth/password/sign-up', { body: {
        email: `puzzle-${a}@example.com`, password: 'correct horse battery', bot_challenge_token: `${challenge}.${nonce}`,
      } });
      const refused = await call(a, 'POST', '/auth/password/sign-up', { body: { email: `lazy-${a}@example.com`, password: 'correct horse battery' }, status: 400 });
      assert.equal(refused.code, 'BOT_CHALLENGE_FAILED');
    }
    await call('admin', 'PATCH', '/internal/config/override/environment', { body: { config_override_string: JSON.stringify({ 'security.botChallenge': null }) } });
    assert.deepEqual(problems, []);
  });

  test('access types an endpoint does not allow get a known error, never a 5xx', async () => {
    const dummy = '00000000-0000-4000-8000-000000000000';
    for (const [key, { access }] of Object.entries(ENDPOINTS)) {
      if (access.includes('none') || access.includes('dashboard')) continue;
      const [method, template] = key.split(' ');
      const path = template.replace(/\{level\}/, 'environment').replace(/\{[^}]+\}/g, dummy);
      for (const a of C.filter((x) => !access.includes(x))) {
        const body = ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;
        const json = await call(a, method, path, { body, status: undefined, refused: true });
        assert.ok(json?.code || ENDPOINTS[key].oauthErrors, `${method} ${path} as ${a}: refused without a known error`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('an admin deletes the project, after which its keys open nothing', async () => {
    await call('admin', 'DELETE', '/internal/projects/current');
    const gone = await call('server', 'GET', '/users', { status: 400 });
    assert.equal(gone.code, 'CURRENT_PROJECT_NOT_FOUND');
    assert.deepEqual(problems, []);
  });

  test('the table lists exactly the served operations with their access types, and each answered for each access type it allows', async () => {
    const doc = await (await fetch(`${base}/openapi.json`)).json();
    const served = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops)
      .map(([method, op]) => [`${method.toUpperCase()} ${path}`, op['x-gatehouse-access']]));
    assert.ok(served.length > 80, `read ${served.length} operations from the document`);
    assert.deepEqual(served.map(([key]) => key).sort(), Object.keys(ENDPOINTS).sort());
    for (const [key, access] of served) assert.deepEqual([...access].sort(), [...ENDPOINTS[key].access].sort(), `${key}: access`);
    const missing = [];
    for (const [key, { access, schema }] of Object.entries(ENDPOINTS)) {
      assert.ok(typeof schema === 'function' || schema.length > 20, `${key}: a schema, or why it has none`);
      for (const a of access) if (!answered.has(`${key} ${a}`)) missing.push(`${key} ${a}`);
    }
    assert.deepEqual(missing, []);
  });

  // The newest email whose subject contains `subject` (and whose recipients include `to`).
  async function latestEmail(subject, to = '') {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${base}/emails/outbox`, { headers: headersFor('server') });
      const { items } = await res.json();
      const found = items.find((m) => (m.subject ?? '').includes(subject) && JSON.stringify(m.to).includes(to) && m.html);
      if (found) return found;
      assert.ok(Date.now() < deadline, `no email ${subject} to ${to}`);
      await new Promise((ok) => setTimeout(ok, 50));
    }
  }
  function linkCode(email) {
    const at = email.text.indexOf('code=') + 5;
    return email.text.slice(at, at + 45);
  }
});

// A 1×1 PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
