//! The product's errors: Stack's known errors (code, HTTP status, message, details) plus one
//! variant for unexpected failures, whose cause is logged and never shown to clients.

use serde_json::{json, Value};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Stack's SCHEMA_ERROR: one line per failing field (see [`crate::validation`]).
    #[error("{}", .0.join("\n"))]
    Schema(Vec<String>),
    /// Stack's SCHEMA_ERROR with a message of its own (not a list of failing fields).
    #[error("{0}")]
    SchemaMessage(String),
    #[error("body is not valid JSON")]
    BodyParsing(String),
    #[error("access type header is missing")]
    ProjectKeyWithoutAccessType,
    #[error("invalid access type")]
    InvalidAccessType(String),
    #[error("access type without project id")]
    AccessTypeWithoutProjectId(String),
    #[error("access type required")]
    AccessTypeRequired,
    #[error("insufficient access type")]
    InsufficientAccessType {
        actual: &'static str,
        allowed: Vec<&'static str>,
    },
    #[error("invalid publishable client key")]
    InvalidPublishableClientKey(String),
    #[error("invalid secret server key")]
    InvalidSecretServerKey(String),
    #[error("invalid super secret admin key")]
    InvalidSuperSecretAdminKey(String),
    #[error("publishable client key required")]
    PublishableClientKeyRequiredForProject(String),
    #[error("secret server key required")]
    ServerAuthenticationRequired,
    #[error("admin authentication required")]
    AdminAuthenticationRequired,
    #[error("unparsable admin access token")]
    UnparsableAdminAccessToken,
    #[error("admin access token expired")]
    AdminAccessTokenExpired(Option<i64>),
    #[error("admin access token is not for the internal project")]
    InvalidProjectForAdminAccessToken,
    #[error("admin access token cannot manage this project")]
    AdminAccessTokenIsNotAdmin,
    #[error("expected internal project")]
    ExpectedInternalProject,
    #[error("unparsable access token")]
    UnparsableAccessToken,
    #[error("access token expired")]
    AccessTokenExpired {
        expired_at_millis: Option<i64>,
        project_id: Option<String>,
        user_id: Option<String>,
        refresh_token_id: Option<String>,
    },
    #[error("access token for another project")]
    InvalidProjectForAccessToken { expected: String, actual: String },
    #[error("refresh token not found or expired")]
    RefreshTokenNotFoundOrExpired,
    #[error("cannot delete current session")]
    CannotDeleteCurrentSession,
    #[error("user email already exists")]
    UserEmailAlreadyExists(String),
    /// The address signs in to an account whose email is not verified yet.
    #[error("user email already exists, unverified")]
    UserEmailAlreadyExistsUnverified(String),
    #[error("no user in request")]
    CannotGetOwnUserWithoutUser,
    #[error("user id does not exist")]
    UserIdDoesNotExist(String),
    #[error("user not found")]
    UserNotFound,
    #[error("item not found")]
    ItemNotFound(String),
    #[error("item customer type does not match")]
    ItemCustomerTypeDoesNotMatch {
        item_id: String,
        customer_id: String,
        item_customer_type: Option<String>,
        actual_customer_type: String,
    },
    #[error("item quantity insufficient")]
    ItemQuantityInsufficientAmount {
        item_id: String,
        customer_id: String,
        quantity: i64,
    },
    #[error("product does not exist")]
    ProductDoesNotExist {
        product_id: String,
        /// `item_exists` or `server_only`, when one explains it.
        context: Option<&'static str>,
    },
    #[error("product customer type does not match")]
    ProductCustomerTypeDoesNotMatch {
        product_id: Option<String>,
        customer_id: String,
        product_customer_type: Option<String>,
        actual_customer_type: String,
    },
    #[error("product already granted")]
    ProductAlreadyGranted {
        product_id: String,
        customer_id: String,
    },
    #[error("new purchases blocked")]
    NewPurchasesBlocked,
    #[error("one-time purchase not found")]
    OneTimePurchaseNotFound(String),
    #[error("subscription invoice not found")]
    SubscriptionInvoiceNotFound(String),
    #[error("one-time purchase already refunded")]
    OneTimePurchaseAlreadyRefunded(String),
    #[error("subscription already refunded")]
    SubscriptionAlreadyRefunded(String),
    #[error("project not found")]
    ProjectNotFound(String),
    #[error("current project not found")]
    CurrentProjectNotFound(String),
    #[error("sign up not enabled")]
    SignUpNotEnabled,
    /// A sign-up rule turned the sign-up away: the rule's own message, or Stack's.
    #[error("sign up rejected")]
    SignUpRejected(Option<String>),
    #[error("password authentication not enabled")]
    PasswordAuthenticationNotEnabled,
    #[error("anonymous authentication not allowed")]
    AnonymousAuthenticationNotAllowed,
    #[error("email password mismatch")]
    EmailPasswordMismatch,
    #[error("password too short")]
    PasswordTooShort(usize),
    #[error("password too long")]
    PasswordTooLong(usize),
    #[error("bot challenge required")]
    BotChallengeRequired,
    #[error("bot challenge failed")]
    BotChallengeFailed(String),
    /// Stack's parent of the password errors, with a message of its own (a common password).
    #[error("password requirements not met")]
    PasswordRequirementsNotMet(String),
    /// Too many attempts (see [`crate::rate_limits`]): a 429 with `Retry-After` and the
    /// `RateLimit-*` headers, a plain-text body as Stack's SDK expects of a 429 (it waits the
    /// `Retry-After` and tries again).
    #[error("rate limited")]
    RateLimited(Exceeded),
    #[error("user does not have password")]
    UserDoesNotHavePassword,
    #[error("password confirmation mismatch")]
    PasswordConfirmationMismatch,
    #[error("team not found")]
    TeamNotFound(String),
    #[error("team membership not found")]
    TeamMembershipNotFound { team_id: String, user_id: String },
    #[error("team membership already exists")]
    TeamMembershipAlreadyExists,
    #[error("team permission required")]
    TeamPermissionRequired {
        team_id: String,
        user_id: String,
        permission_id: String,
    },
    #[error("team permission not found")]
    TeamPermissionNotFound {
        team_id: String,
        user_id: String,
        permission_id: String,
    },
    #[error("permission not found")]
    PermissionNotFound(String),
    #[error("wrong permission scope")]
    PermissionScopeMismatch {
        permission_id: String,
        expected: &'static str,
        actual: Option<String>,
    },
    #[error("permission id already exists")]
    PermissionIdAlreadyExists(String),
    #[error("contained permission not found")]
    ContainedPermissionNotFound(String),
    #[error("restricted user cannot accept invitation")]
    TeamInvitationRestrictedUserNotAllowed(&'static str),
    #[error("user authentication required")]
    UserAuthenticationRequired,
    #[error("API key not found")]
    ApiKeyNotFound,
    #[error("api key expired")]
    ApiKeyExpired,
    #[error("api key revoked")]
    ApiKeyRevoked,
    #[error("wrong api key type")]
    WrongApiKeyType {
        expected: &'static str,
        actual: &'static str,
    },
    #[error("public api key cannot be revoked")]
    PublicApiKeyCannotBeRevoked,
    #[error("verification code not found")]
    VerificationCodeNotFound,
    #[error("verification code expired")]
    VerificationCodeExpired,
    #[error("verification code already used")]
    VerificationCodeAlreadyUsed,
    #[error("verification code attempts exhausted")]
    VerificationCodeMaxAttemptsReached,
    #[error("redirect URL not whitelisted")]
    RedirectUrlNotWhitelisted,
    #[error("contact channel already used for auth")]
    ContactChannelAlreadyUsedForAuthBySomeoneElse {
        value: String,
        would_work_if_email_was_verified: bool,
    },
    #[error("restricted user not allowed")]
    RestrictedUserNotAllowed(&'static str),
    #[error("email already verified")]
    EmailAlreadyVerified,
    #[error("email is not the primary email")]
    EmailIsNotPrimaryEmail {
        email: String,
        primary: Option<String>,
    },
    #[error("email not editable")]
    EmailNotEditable { id: String, status: String },
    #[error("requires a custom email server")]
    RequiresCustomEmailServer,
    #[error("OAuth provider not found or not enabled")]
    OAuthProviderNotFoundOrNotEnabled,
    #[error("invalid OAuth client id or secret")]
    InvalidOAuthClientIdOrSecret(Option<String>),
    #[error("extra scopes need the project's own OAuth keys")]
    OAuthExtraScopeNotAvailableWithSharedOAuthKeys,
    #[error("invalid authorization code")]
    InvalidAuthorizationCode,
    #[error("OAuth connection already connected to another user")]
    OAuthConnectionAlreadyConnectedToAnotherUser,
    #[error("OAuth provider denied access")]
    OAuthProviderAccessDenied,
    #[error("OAuth provider temporarily unavailable")]
    OAuthProviderTemporarilyUnavailable,
    #[error("outer OAuth flow timed out")]
    OuterOAuthTimeout,
    #[error("OAuth connection not connected to user")]
    OAuthConnectionNotConnectedToUser,
    #[error("OAuth connection lacks the required scope")]
    OAuthConnectionDoesNotHaveRequiredScope,
    #[error("OAuth access token not available")]
    OAuthAccessTokenNotAvailable { provider: String, details: String },
    #[error("access tokens not available with shared keys")]
    OAuthAccessTokenNotAvailableWithSharedOAuthKeys,
    #[error("provider account already used for sign-in")]
    OAuthProviderAccountIdAlreadyUsedForSignIn,
    #[error("multi-factor authentication required")]
    MultiFactorAuthenticationRequired(String),
    #[error("invalid TOTP code")]
    InvalidTotpCode,
    #[error("invalid polling code")]
    InvalidPollingCode,
    #[error("passkey authentication not enabled")]
    PasskeyAuthenticationNotEnabled,
    #[error("{0}")]
    PasskeyRegistrationFailed(String),
    #[error("{0}")]
    PasskeyAuthenticationFailed(String),
    #[error("redirect URL not trusted")]
    UntrustedRedirect { url: String, project: String },
    #[error("analytics not enabled")]
    AnalyticsNotEnabled,
    /// The database's own words about a query, or why the query was refused.
    #[error("{0}")]
    AnalyticsQueryError(String),
    /// The query's time limit, in ms.
    #[error("analytics query timeout")]
    AnalyticsQueryTimeout(i64),
    /// Refused where Stack has no known error for it: a status and a plain-text message.
    #[error("{1}")]
    Status(u16, String),
    #[error("route not found")]
    RouteNotFound { method: String, path: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an unexpected failure. The cause chain is kept for the log only.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        Error::Internal(err.to_string())
    }

    /// Stack's error code, or `None` for failures that are not a known error.
    pub fn code(&self) -> Option<&'static str> {
        use Error::*;
        Some(match self {
            Schema(_) | SchemaMessage(_) => "SCHEMA_ERROR",
            BodyParsing(_) => "BODY_PARSING_ERROR",
            ProjectKeyWithoutAccessType => "PROJECT_KEY_WITHOUT_ACCESS_TYPE",
            InvalidAccessType(_) => "INVALID_ACCESS_TYPE",
            AccessTypeWithoutProjectId(_) => "ACCESS_TYPE_WITHOUT_PROJECT_ID",
            AccessTypeRequired => "ACCESS_TYPE_REQUIRED",
            InsufficientAccessType { .. } => "INSUFFICIENT_ACCESS_TYPE",
            InvalidPublishableClientKey(_) => "INVALID_PUBLISHABLE_CLIENT_KEY",
            InvalidSecretServerKey(_) => "INVALID_SECRET_SERVER_KEY",
            InvalidSuperSecretAdminKey(_) => "INVALID_SUPER_SECRET_ADMIN_KEY",
            PublishableClientKeyRequiredForProject(_) => {
                "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT"
            }
            ServerAuthenticationRequired => "SERVER_AUTHENTICATION_REQUIRED",
            AdminAuthenticationRequired => "ADMIN_AUTHENTICATION_REQUIRED",
            UnparsableAdminAccessToken => "UNPARSABLE_ADMIN_ACCESS_TOKEN",
            AdminAccessTokenExpired(_) => "ADMIN_ACCESS_TOKEN_EXPIRED",
            InvalidProjectForAdminAccessToken => "INVALID_PROJECT_FOR_ADMIN_ACCESS_TOKEN",
            AdminAccessTokenIsNotAdmin => "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN",
            ExpectedInternalProject => "EXPECTED_INTERNAL_PROJECT",
            UnparsableAccessToken => "UNPARSABLE_ACCESS_TOKEN",
            AccessTokenExpired { .. } => "ACCESS_TOKEN_EXPIRED",
            InvalidProjectForAccessToken { .. } => "INVALID_PROJECT_FOR_ACCESS_TOKEN",
            RefreshTokenNotFoundOrExpired => "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
            CannotDeleteCurrentSession => "CANNOT_DELETE_CURRENT_SESSION",
            UserEmailAlreadyExists(_) | UserEmailAlreadyExistsUnverified(_) => {
                "USER_EMAIL_ALREADY_EXISTS"
            }
            CannotGetOwnUserWithoutUser => "CANNOT_GET_OWN_USER_WITHOUT_USER",
            UserIdDoesNotExist(_) => "USER_ID_DOES_NOT_EXIST",
            UserNotFound => "USER_NOT_FOUND",
            ItemNotFound(_) => "ITEM_NOT_FOUND",
            ItemCustomerTypeDoesNotMatch { .. } => "ITEM_CUSTOMER_TYPE_DOES_NOT_MATCH",
            ItemQuantityInsufficientAmount { .. } => "ITEM_QUANTITY_INSUFFICIENT_AMOUNT",
            ProductDoesNotExist { .. } => "PRODUCT_DOES_NOT_EXIST",
            ProductCustomerTypeDoesNotMatch { .. } => "PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH",
            ProductAlreadyGranted { .. } => "PRODUCT_ALREADY_GRANTED",
            NewPurchasesBlocked => "NEW_PURCHASES_BLOCKED",
            OneTimePurchaseNotFound(_) => "ONE_TIME_PURCHASE_NOT_FOUND",
            SubscriptionInvoiceNotFound(_) => "SUBSCRIPTION_INVOICE_NOT_FOUND",
            OneTimePurchaseAlreadyRefunded(_) => "ONE_TIME_PURCHASE_ALREADY_REFUNDED",
            SubscriptionAlreadyRefunded(_) => "SUBSCRIPTION_ALREADY_REFUNDED",
            VerificationCodeNotFound => "VERIFICATION_CODE_NOT_FOUND",
            VerificationCodeExpired => "VERIFICATION_CODE_EXPIRED",
            VerificationCodeAlreadyUsed => "VERIFICATION_CODE_ALREADY_USED",
            VerificationCodeMaxAttemptsReached => "VERIFICATION_CODE_MAX_ATTEMPTS_REACHED",
            ProjectNotFound(_) => "PROJECT_NOT_FOUND",
            CurrentProjectNotFound(_) => "CURRENT_PROJECT_NOT_FOUND",
            SignUpNotEnabled => "SIGN_UP_NOT_ENABLED",
            SignUpRejected(_) => "SIGN_UP_REJECTED",
            PasswordAuthenticationNotEnabled => "PASSWORD_AUTHENTICATION_NOT_ENABLED",
            AnonymousAuthenticationNotAllowed => "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
            EmailPasswordMismatch => "EMAIL_PASSWORD_MISMATCH",
            PasswordTooShort(_) => "PASSWORD_TOO_SHORT",
            PasswordTooLong(_) => "PASSWORD_TOO_LONG",
            PasswordRequirementsNotMet(_) => "PASSWORD_REQUIREMENTS_NOT_MET",
            BotChallengeRequired => "BOT_CHALLENGE_REQUIRED",
            BotChallengeFailed(_) => "BOT_CHALLENGE_FAILED",
            UserDoesNotHavePassword => "USER_DOES_NOT_HAVE_PASSWORD",
            PasswordConfirmationMismatch => "PASSWORD_CONFIRMATION_MISMATCH",
            TeamNotFound(_) => "TEAM_NOT_FOUND",
            TeamMembershipNotFound { .. } => "TEAM_MEMBERSHIP_NOT_FOUND",
            TeamMembershipAlreadyExists => "TEAM_MEMBERSHIP_ALREADY_EXISTS",
            TeamPermissionRequired { .. } => "TEAM_PERMISSION_REQUIRED",
            TeamPermissionNotFound { .. } => "TEAM_PERMISSION_NOT_FOUND",
            PermissionNotFound(_) => "PERMISSION_NOT_FOUND",
            PermissionScopeMismatch { .. } => "WRONG_PERMISSION_SCOPE",
            PermissionIdAlreadyExists(_) => "PERMISSION_ID_ALREADY_EXISTS",
            ContainedPermissionNotFound(_) => "CONTAINED_PERMISSION_NOT_FOUND",
            TeamInvitationRestrictedUserNotAllowed(_) => {
                "TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED"
            }
            UserAuthenticationRequired => "USER_AUTHENTICATION_REQUIRED",
            ApiKeyNotFound => "API_KEY_NOT_FOUND",
            ApiKeyExpired => "API_KEY_EXPIRED",
            ApiKeyRevoked => "API_KEY_REVOKED",
            WrongApiKeyType { .. } => "WRONG_API_KEY_TYPE",
            PublicApiKeyCannotBeRevoked => "PUBLIC_API_KEY_CANNOT_BE_REVOKED",
            RedirectUrlNotWhitelisted | UntrustedRedirect { .. } => "REDIRECT_URL_NOT_WHITELISTED",
            EmailNotEditable { .. } => "EMAIL_NOT_EDITABLE",
            ContactChannelAlreadyUsedForAuthBySomeoneElse { .. } => {
                "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE"
            }
            EmailAlreadyVerified => "EMAIL_ALREADY_VERIFIED",
            RestrictedUserNotAllowed(_) => "RESTRICTED_USER_NOT_ALLOWED",
            EmailIsNotPrimaryEmail { .. } => "EMAIL_IS_NOT_PRIMARY_EMAIL",
            RequiresCustomEmailServer => "REQUIRES_CUSTOM_EMAIL_SERVER",
            OAuthProviderNotFoundOrNotEnabled => "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED",
            InvalidOAuthClientIdOrSecret(_) => "INVALID_OAUTH_CLIENT_ID_OR_SECRET",
            OAuthExtraScopeNotAvailableWithSharedOAuthKeys => {
                "OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS"
            }
            InvalidAuthorizationCode => "INVALID_AUTHORIZATION_CODE",
            OAuthConnectionAlreadyConnectedToAnotherUser => {
                "OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER"
            }
            OAuthProviderAccessDenied => "OAUTH_PROVIDER_ACCESS_DENIED",
            OAuthProviderTemporarilyUnavailable => "OAUTH_PROVIDER_TEMPORARILY_UNAVAILABLE",
            OuterOAuthTimeout => "OUTER_OAUTH_TIMEOUT",
            OAuthConnectionNotConnectedToUser => "OAUTH_CONNECTION_NOT_CONNECTED_TO_USER",
            OAuthConnectionDoesNotHaveRequiredScope => {
                "OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE"
            }
            OAuthAccessTokenNotAvailable { .. } => "OAUTH_ACCESS_TOKEN_NOT_AVAILABLE",
            OAuthAccessTokenNotAvailableWithSharedOAuthKeys => {
                "OAUTH_ACCESS_TOKEN_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS"
            }
            OAuthProviderAccountIdAlreadyUsedForSignIn => {
                "OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN"
            }
            MultiFactorAuthenticationRequired(_) => "MULTI_FACTOR_AUTHENTICATION_REQUIRED",
            InvalidTotpCode => "INVALID_TOTP_CODE",
            InvalidPollingCode => "INVALID_POLLING_CODE",
            PasskeyAuthenticationNotEnabled => "PASSKEY_AUTHENTICATION_NOT_ENABLED",
            PasskeyRegistrationFailed(_) => "PASSKEY_REGISTRATION_FAILED",
            PasskeyAuthenticationFailed(_) => "PASSKEY_AUTHENTICATION_FAILED",
            AnalyticsNotEnabled => "ANALYTICS_NOT_ENABLED",
            AnalyticsQueryError(_) => "ANALYTICS_QUERY_ERROR",
            AnalyticsQueryTimeout(_) => "ANALYTICS_QUERY_TIMEOUT",
            RouteNotFound { .. } | Status(..) | RateLimited(_) | Internal(_) => return None,
        })
    }

    pub fn status(&self) -> u16 {
        use Error::*;
        match self {
            InsufficientAccessType { .. }
            | InvalidPublishableClientKey(_)
            | InvalidSecretServerKey(_)
            | InvalidSuperSecretAdminKey(_)
            | PublishableClientKeyRequiredForProject(_)
            | ServerAuthenticationRequired
            | AdminAuthenticationRequired
            | UnparsableAdminAccessToken
            | AdminAccessTokenExpired(_)
            | InvalidProjectForAdminAccessToken
            | AdminAccessTokenIsNotAdmin
            | ExpectedInternalProject
            | UnparsableAccessToken
            | AccessTokenExpired { .. }
            | InvalidProjectForAccessToken { .. }
            | RefreshTokenNotFoundOrExpired
            | AnonymousAuthenticationNotAllowed
            | TeamPermissionRequired { .. }
            | TeamPermissionNotFound { .. }
            | ApiKeyExpired
            | ApiKeyRevoked
            | UserAuthenticationRequired => 401,
            UserEmailAlreadyExists(_)
            | UserEmailAlreadyExistsUnverified(_)
            | VerificationCodeAlreadyUsed
            | ContactChannelAlreadyUsedForAuthBySomeoneElse { .. }
            | OAuthConnectionAlreadyConnectedToAnotherUser
            | TeamMembershipAlreadyExists
            | EmailAlreadyVerified
            | BotChallengeRequired => 409,
            UserNotFound
            | ProjectNotFound(_)
            | TeamNotFound(_)
            | TeamMembershipNotFound { .. }
            | PermissionNotFound(_)
            | PermissionScopeMismatch { .. }
            | ApiKeyNotFound
            | ItemNotFound(_)
            | OneTimePurchaseNotFound(_)
            | SubscriptionInvoiceNotFound(_)
            | VerificationCodeNotFound
            | RouteNotFound { .. } => 404,
            RestrictedUserNotAllowed(_)
            | TeamInvitationRestrictedUserNotAllowed(_)
            | SignUpRejected(_)
            | NewPurchasesBlocked => 403,
            OuterOAuthTimeout => 408,
            RateLimited(_) => 429,
            OAuthProviderTemporarilyUnavailable => 503,
            Status(code, _) => *code,
            Internal(_) => 500,
            _ => 400,
        }
    }

    /// The message a person reads; Stack's wording where Stack has one.
    pub fn message(&self) -> String {
        use Error::*;
        const ACCESS_TYPE_LEGACY: &str =
            "(The legacy x-stack-access-type header is also accepted.)";
        match self {
            Schema(lines) => lines.join("\n"),
            SchemaMessage(m) => m.clone(),
            BodyParsing(m) | Status(_, m) => m.clone(),
            ProjectKeyWithoutAccessType => format!("Either an API key or an admin access token was provided, but the x-hexclave-access-type header is missing. Set it to 'client', 'server', or 'admin' as appropriate. {ACCESS_TYPE_LEGACY}"),
            InvalidAccessType(t) => format!("The x-hexclave-access-type header must be 'client', 'server', or 'admin', but was '{t}'. {ACCESS_TYPE_LEGACY}"),
            AccessTypeWithoutProjectId(t) => format!("The x-hexclave-access-type header was '{t}', but the x-hexclave-project-id header was not provided. (The legacy x-stack-access-type and x-stack-project-id headers are also accepted.)"),
            AccessTypeRequired => "You must specify an access level for this project. Make sure project API keys are provided (eg. x-hexclave-publishable-client-key) and you set the x-hexclave-access-type header to 'client', 'server', or 'admin'. (The legacy x-stack-* equivalents are also accepted.)".into(),
            InsufficientAccessType { actual, allowed } => {
                let allowed: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
                format!("The x-hexclave-access-type header must be {}, but was '{actual}'. {ACCESS_TYPE_LEGACY}", allowed.join(" or "))
            }
            InvalidPublishableClientKey(p) => format!("The publishable key is not valid for the project {p:?}. Does the project and/or the key exist?"),
            InvalidSecretServerKey(p) => format!("The secret server key is not valid for the project {p:?}. Does the project and/or the key exist?"),
            InvalidSuperSecretAdminKey(p) => format!("The super secret admin key is not valid for the project {p:?}. Does the project and/or the key exist?"),
            PublishableClientKeyRequiredForProject(_) => "Publishable client keys are required for this project. Create one in Project Keys, or disable this requirement there to allow keyless client access.".into(),
            ServerAuthenticationRequired => "The secret server key must be provided.".into(),
            AdminAuthenticationRequired => "The super secret admin key must be provided.".into(),
            UnparsableAdminAccessToken => "Admin access token is not parsable.".into(),
            AdminAccessTokenExpired(_) => "Admin access token has expired. Please refresh it and try again.".into(),
            InvalidProjectForAdminAccessToken => "Admin access tokens must be created on the internal project.".into(),
            AdminAccessTokenIsNotAdmin => "Admin access token does not have the required permissions to access this project.".into(),
            ExpectedInternalProject => "The project ID is expected to be internal.".into(),
            UnparsableAccessToken => "Access token is not parsable.".into(),
            AccessTokenExpired { .. } => "Access token has expired. Please refresh it and try again.".into(),
            InvalidProjectForAccessToken { expected, actual } => format!("Access token not valid for this project. Expected project ID {expected:?}, but the token is for project ID {actual:?}."),
            RefreshTokenNotFoundOrExpired => "Refresh token not found for this project, or the session has expired/been revoked.".into(),
            CannotDeleteCurrentSession => "Cannot delete the current session.".into(),
            UserEmailAlreadyExists(e) => format!("A user with email {e:?} already exists."),
            UserEmailAlreadyExistsUnverified(e) => format!("A user with email {e:?} already exists but the email is not verified. Please login to your existing account with the method you used to sign up, and then verify your email to sign in with this login method."),
            CannotGetOwnUserWithoutUser => "You have specified 'me' as a userId, but did not provide authentication for a user.".into(),
            UserIdDoesNotExist(id) => format!("The given user with the ID {id} does not exist."),
            UserNotFound => "User not found.".into(),
            VerificationCodeNotFound => "The verification code does not exist for this project.".into(),
            VerificationCodeExpired => "The verification code has expired.".into(),
            VerificationCodeAlreadyUsed => "The verification link has already been used.".into(),
            VerificationCodeMaxAttemptsReached => {
                "The verification code nonce has reached the maximum number of attempts. This code is not valid anymore.".into()
            }
            ProjectNotFound(p) => format!("Project {p} not found or is not accessible with the current user."),
            CurrentProjectNotFound(p) => format!("The current project with ID {p} was not found. Please check the value of the x-hexclave-project-id header. (The legacy x-stack-project-id header is also accepted.)"),
            SignUpNotEnabled => "Creation of new accounts is not enabled for this project. Please ask the project owner to enable it.".into(),
            SignUpRejected(m) => m.clone().unwrap_or_else(|| "Your sign up was rejected by an administrator's sign-up rule.".into()),
            PasswordAuthenticationNotEnabled => "Password authentication is not enabled for this project.".into(),
            AnonymousAuthenticationNotAllowed => "X-Stack-Access-Token is for an anonymous user, but anonymous users are not enabled. Set the X-Stack-Allow-Anonymous-User header of this request to 'true' to allow anonymous users.".into(),
            EmailPasswordMismatch => "Wrong e-mail or password.".into(),
            PasswordTooShort(n) => format!("Password too short. Minimum length is {n}."),
            PasswordTooLong(n) => format!("Password too long. Maximum length is {n}."),
            PasswordRequirementsNotMet(m) | BotChallengeFailed(m) => m.clone(),
            BotChallengeRequired => {
                "An additional bot challenge is required before sign-up can continue.".into()
            }
            RateLimited(e) => e.message.clone(),
            UserDoesNotHavePassword => "This user does not have password authentication enabled.".into(),
            PasswordConfirmationMismatch => "Passwords do not match.".into(),
            TeamNotFound(t) => format!("Team {t} not found."),
            TeamMembershipNotFound { team_id, user_id } => format!("User {user_id} is not found in team {team_id}."),
            TeamMembershipAlreadyExists => "Team membership already exists.".into(),
            TeamPermissionRequired { team_id, user_id, permission_id }
            | TeamPermissionNotFound { team_id, user_id, permission_id } => format!("User {user_id} does not have permission {permission_id} in team {team_id}."),
            PermissionNotFound(p) => format!("Permission \"{p}\" not found. Make sure you created it on the dashboard."),
            PermissionScopeMismatch { permission_id, expected, actual } => format!(
                "Permission {} not found. (It was found for a different scope {}, but scope {} was expected.)",
                json!(permission_id), json!(actual), json!(expected)
            ),
            PermissionIdAlreadyExists(p) => format!("Permission with ID \"{p}\" already exists. Choose a different ID."),
            ContainedPermissionNotFound(p) => format!("Contained permission with ID \"{p}\" not found. Make sure you created it on the dashboard."),
            TeamInvitationRestrictedUserNotAllowed(r) => format!("Restricted users cannot accept team invitations. Reason: {r}. Please complete the onboarding process before accepting team invitations."),
            UserAuthenticationRequired => "User authentication required for this endpoint.".into(),
            ApiKeyNotFound => "API key not found.".into(),
            ItemNotFound(id) => format!("Item with ID \"{id}\" not found."),
            ItemCustomerTypeDoesNotMatch {
                item_id,
                customer_id,
                item_customer_type,
                actual_customer_type,
            } => format!(
                "The {actual_customer_type} with ID {} is not a valid customer for the item with ID {}. {}",
                Value::from(customer_id.as_str()),
                Value::from(item_id.as_str()),
                match item_customer_type {
                    Some(t) => format!("The item is configured to only be available for {t} customers, but the customer is a {actual_customer_type}."),
                    None => "The item is missing a customer type field. Please make sure it is set up correctly in your project configuration.".into(),
                }
            ),
            ItemQuantityInsufficientAmount {
                item_id,
                customer_id,
                quantity,
            } => format!(
                "The item with ID {} has an insufficient quantity for the customer with ID {}. An attempt was made to charge {quantity} credits.",
                Value::from(item_id.as_str()),
                Value::from(customer_id.as_str())
            ),
            ProductDoesNotExist { product_id, context } => format!(
                "Product with ID {} {}",
                Value::from(product_id.as_str()),
                match *context {
                    Some("server_only") => "is marked as server-only and cannot be accessed client side.",
                    Some(_) => "does not exist, but an item with this ID exists.",
                    None => "does not exist.",
                }
            ),
            ProductCustomerTypeDoesNotMatch {
                customer_id,
                product_customer_type,
                actual_customer_type,
                ..
            } => format!(
                "The {actual_customer_type} with ID {} is not a valid customer for the inline product that has been passed in. {}",
                Value::from(customer_id.as_str()),
                match product_customer_type {
                    Some(t) => format!("The product is configured to only be available for {t} customers, but the customer is a {actual_customer_type}."),
                    None => "The product is missing a customer type field. Please make sure it is set up correctly in your project configuration.".into(),
                }
            ),
            ProductAlreadyGranted { product_id, customer_id } => format!(
                "Customer with ID {} already owns product {}.",
                Value::from(customer_id.as_str()),
                Value::from(product_id.as_str())
            ),
            NewPurchasesBlocked => "New purchases are currently blocked for this project. Please contact support for more information.".into(),
            OneTimePurchaseNotFound(id) => format!("One-time purchase with ID {} does not exist.", Value::from(id.as_str())),
            SubscriptionInvoiceNotFound(id) => format!("Subscription invoice with ID {} does not exist.", Value::from(id.as_str())),
            OneTimePurchaseAlreadyRefunded(id) => format!("One-time purchase with ID {} was already refunded.", Value::from(id.as_str())),
            SubscriptionAlreadyRefunded(id) => format!("Subscription with ID {} was already refunded.", Value::from(id.as_str())),
            ApiKeyExpired => "API key has expired.".into(),
            ApiKeyRevoked => "API key has been revoked.".into(),
            WrongApiKeyType { expected, actual } => format!("This endpoint is for {expected} API keys, but a {actual} API key was provided."),
            PublicApiKeyCannotBeRevoked => "Public API keys cannot be revoked by the secretscanner endpoint.".into(),
            ContactChannelAlreadyUsedForAuthBySomeoneElse { value, would_work_if_email_was_verified } => format!(
                "This email \"({value})\" is already used for authentication by another account{}",
                if *would_work_if_email_was_verified {
                    " but the email is not verified. Please login to your existing account with the method you used to sign up, and then verify your email to sign in with this login method."
                } else {
                    "."
                }
            ),
            EmailAlreadyVerified => "The e-mail is already verified.".into(),
            RestrictedUserNotAllowed(reason) => format!("The user in the access token is in restricted state. Reason: {reason}. Please pass the X-Stack-Allow-Restricted-User header if this is intended."),
            EmailIsNotPrimaryEmail { email, primary } => format!(
                "The given e-mail ({email}) must equal the user's primary e-mail ({}).",
                primary.as_deref().unwrap_or("null")
            ),
            EmailNotEditable { id, status } => format!("Email with ID \"{id}\" cannot be edited because it is in status \"{status}\". Only emails in PAUSED, PREPARING, RENDERING, RENDER_ERROR, SCHEDULED, QUEUED, or SERVER_ERROR status can be edited."),
            RequiresCustomEmailServer => "This action requires a custom SMTP server. Please edit your email server configuration and try again.".into(),
            RedirectUrlNotWhitelisted => "Redirect URL not whitelisted. Did you forget to add this domain to the trusted domains list on the Stack Auth dashboard?".into(),
            OAuthProviderNotFoundOrNotEnabled => "The OAuth provider is not found or not enabled.".into(),
            InvalidOAuthClientIdOrSecret(_) => "The OAuth client ID or secret is invalid. The client ID must be equal to the project ID (potentially with a hash and a branch ID), and the client secret must be a publishable client key.".into(),
            OAuthExtraScopeNotAvailableWithSharedOAuthKeys => "Extra scopes are not available with shared OAuth keys. Please add your own OAuth keys on the Stack dashboard to use extra scopes.".into(),
            InvalidAuthorizationCode => "The given authorization code is invalid.".into(),
            OAuthConnectionAlreadyConnectedToAnotherUser => "The OAuth connection is already connected to another user.".into(),
            OAuthProviderAccessDenied => "The OAuth provider denied access to the user.".into(),
            OAuthProviderTemporarilyUnavailable => "The OAuth provider is temporarily unavailable. Please try signing in again.".into(),
            OuterOAuthTimeout => "The OAuth flow has timed out. Please sign in again.".into(),
            OAuthConnectionNotConnectedToUser => "The OAuth connection is not connected to any user.".into(),
            OAuthConnectionDoesNotHaveRequiredScope => "The OAuth connection does not have the required scope.".into(),
            OAuthAccessTokenNotAvailable { provider, details } => format!("Failed to retrieve an OAuth access token for the connected account (provider: {provider}). {details}"),
            OAuthAccessTokenNotAvailableWithSharedOAuthKeys => "Access tokens are not available with shared OAuth keys. Please add your own OAuth keys on the Stack dashboard to use access tokens.".into(),
            OAuthProviderAccountIdAlreadyUsedForSignIn => "A provider with the same account ID is already used for signing in.".into(),
            MultiFactorAuthenticationRequired(_) => "Multi-factor authentication is required for this user.".into(),
            InvalidTotpCode => "The TOTP code is invalid. Please try again.".into(),
            InvalidPollingCode => "The polling code is invalid or does not exist.".into(),
            PasskeyAuthenticationNotEnabled => "Passkey authentication is not enabled for this project.".into(),
            PasskeyRegistrationFailed(m) | PasskeyAuthenticationFailed(m) => m.clone(),
            UntrustedRedirect { url, project } => format!(
                "This sign-in link wants to send you on to {url}, which is not a trusted domain of {project}. Sign in from the app's own link instead."
            ),
            AnalyticsNotEnabled => "Analytics is not enabled for this project.".into(),
            AnalyticsQueryError(m) => m.clone(),
            AnalyticsQueryTimeout(ms) => format!("The query timed out. Please try again with a shorter query or increase the timeout. Timeout was {ms}ms."),
            RouteNotFound { method, path } => format!("No route matches {method} {path}. Check the method and path against the API reference."),
            Internal(_) => "Something went wrong on our side. The error has been logged; please try again later.".into(),
        }
    }

    pub fn details(&self) -> Option<Value> {
        use Error::*;
        Some(match self {
            Schema(lines) => json!({ "message": lines.join("\n") }),
            ItemNotFound(id) => json!({ "item_id": id }),
            ItemCustomerTypeDoesNotMatch {
                item_id,
                customer_id,
                item_customer_type,
                actual_customer_type,
            } => json!({
                "item_id": item_id,
                "customer_id": customer_id,
                "item_customer_type": item_customer_type,
                "actual_customer_type": actual_customer_type,
            }),
            ItemQuantityInsufficientAmount {
                item_id,
                customer_id,
                quantity,
            } => json!({ "item_id": item_id, "customer_id": customer_id, "quantity": quantity }),
            ProductDoesNotExist {
                product_id,
                context,
            } => {
                json!({ "product_id": product_id, "context": context })
            }
            ProductCustomerTypeDoesNotMatch {
                product_id,
                customer_id,
                product_customer_type,
                actual_customer_type,
            } => json!({
                "product_id": product_id,
                "customer_id": customer_id,
                "product_customer_type": product_customer_type,
                "actual_customer_type": actual_customer_type,
            }),
            ProductAlreadyGranted {
                product_id,
                customer_id,
            } => {
                json!({ "product_id": product_id, "customer_id": customer_id })
            }
            OneTimePurchaseNotFound(id) | OneTimePurchaseAlreadyRefunded(id) => {
                json!({ "one_time_purchase_id": id })
            }
            SubscriptionInvoiceNotFound(id) => json!({ "subscription_invoice_id": id }),
            SubscriptionAlreadyRefunded(id) => json!({ "subscription_id": id }),
            SchemaMessage(m) => json!({ "message": m }),
            AnalyticsQueryError(m) => json!({ "error": m }),
            AnalyticsQueryTimeout(ms) => json!({ "timeout_ms": ms }),
            InvalidAccessType(t) => json!({ "accessType": t }),
            AccessTypeWithoutProjectId(t) => json!({ "request_type": t }),
            InsufficientAccessType { actual, allowed } => {
                json!({ "actual_access_type": actual, "allowed_access_types": allowed })
            }
            InvalidPublishableClientKey(p)
            | InvalidSecretServerKey(p)
            | InvalidSuperSecretAdminKey(p)
            | PublishableClientKeyRequiredForProject(p)
            | ProjectNotFound(p)
            | CurrentProjectNotFound(p) => json!({ "project_id": p }),
            AdminAccessTokenExpired(at) => json!({ "expired_at_millis": at }),
            AccessTokenExpired {
                expired_at_millis,
                project_id,
                user_id,
                refresh_token_id,
            } => json!({
                "expired_at_millis": expired_at_millis, "project_id": project_id, "user_id": user_id, "refresh_token_id": refresh_token_id,
            }),
            InvalidProjectForAccessToken { expected, actual } => {
                json!({ "expected_project_id": expected, "actual_project_id": actual })
            }
            UserEmailAlreadyExists(e) => {
                json!({ "email": e, "would_work_if_email_was_verified": false })
            }
            UserEmailAlreadyExistsUnverified(e) => {
                json!({ "email": e, "would_work_if_email_was_verified": true })
            }
            UserIdDoesNotExist(id) => json!({ "user_id": id }),
            SignUpRejected(_) => json!({ "message": self.message() }),
            EmailNotEditable { id, status } => json!({ "email_id": id, "status": status }),
            RestrictedUserNotAllowed(reason) => json!({ "restricted_reason": { "type": reason } }),
            EmailIsNotPrimaryEmail { email, primary } => {
                json!({ "email": email, "primary_email": primary })
            }
            ContactChannelAlreadyUsedForAuthBySomeoneElse {
                value,
                would_work_if_email_was_verified,
            } => json!({
                "type": "email",
                "contact_channel_value": value,
                "would_work_if_email_was_verified": would_work_if_email_was_verified,
            }),
            PasswordTooShort(n) => json!({ "min_length": n }),
            MultiFactorAuthenticationRequired(code) => json!({ "attempt_code": code }),
            InvalidOAuthClientIdOrSecret(id) => json!({ "client_id": id }),
            OAuthAccessTokenNotAvailable { provider, details } => {
                json!({ "provider": provider, "details": details })
            }
            PasswordTooLong(n) => json!({ "maxLength": n }),
            PasswordRequirementsNotMet(m) | BotChallengeFailed(m) => json!({ "message": m }),
            TeamNotFound(t) => json!({ "team_id": t }),
            WrongApiKeyType { expected, actual } => {
                json!({ "expected_type": expected, "actual_type": actual })
            }
            TeamMembershipNotFound { team_id, user_id } => {
                json!({ "team_id": team_id, "user_id": user_id })
            }
            TeamPermissionRequired {
                team_id,
                user_id,
                permission_id,
            }
            | TeamPermissionNotFound {
                team_id,
                user_id,
                permission_id,
            } => {
                json!({ "team_id": team_id, "user_id": user_id, "permission_id": permission_id })
            }
            PermissionNotFound(p)
            | PermissionIdAlreadyExists(p)
            | ContainedPermissionNotFound(p) => {
                json!({ "permission_id": p })
            }
            PermissionScopeMismatch {
                permission_id,
                expected,
                actual,
            } => {
                json!({ "permission_id": permission_id, "expected_scope": expected, "actual_scope": actual })
            }
            TeamInvitationRestrictedUserNotAllowed(r) => {
                json!({ "restricted_reason": { "type": r } })
            }
            _ => return None,
        })
    }

    /// The JSON body Stack sends for a known error: `{code, details?, error}`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({ "error": self.message() });
        if let Some(code) = self.code() {
            body["code"] = json!(code);
        }
        if let Some(details) = self.details() {
            body["details"] = details;
        }
        body
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal(format!("database: {e}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::internal(format!("migration: {e}"))
    }
}

/// Where a count of attempts stands, for the `RateLimit-*` headers (see `crate::rate_limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset_s: u64,
    pub window_s: u32,
}

/// A refusal for too many attempts, or a locked account: where the count stands, and the
/// sentence that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub quota: Quota,
    pub message: String,
}

/// The longest wait a 429 states in `Retry-After`. Stack's SDK sleeps for `Retry-After` and
/// tries again, up to five times: fine for a minute, not for a quarter of an hour of lockout.
/// Longer waits are stated in `RateLimit-Reset` and in the message, and the SDK gives up after
/// its few quick retries.
pub const RETRY_AFTER_MAX_S: u64 = 60;

impl Exceeded {
    /// `Retry-After`, when the wait is short enough for a client to sleep through.
    pub fn retry_after_s(&self) -> Option<u64> {
        let wait = self.quota.reset_s.max(1);
        (wait <= RETRY_AFTER_MAX_S).then_some(wait)
    }
}
