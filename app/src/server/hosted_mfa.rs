//! Two-factor authentication on the hosted pages: the second step of a sign-in, enrolment with
//! a QR code, recovery codes, turning it off (see the core's `mfa`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// Where a sign-in goes when the user has a second factor: the page that asks for it.
pub fn second_factor_url(project_id: &str, attempt: &str, return_to: Option<&str>) -> String {
    let back = return_to
        .map(|t| format!("&after_auth_return_to={}", crate::text::url_encode(t)))
        .unwrap_or_default();
    format!("/handler/{project_id}/mfa?attempt={attempt}{back}")
}

/// An authenticator app to set up: the secret (base64, sent back with the first code), the key
/// to type by hand, and the QR code of its `otpauth://` URI as SVG.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Enrolment {
    pub secret: String,
    pub key: String,
    pub qr_svg: String,
}

/// The signed-in user's two-factor state, for the account page.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MfaStatus {
    pub enabled: bool,
    pub recovery_codes_left: i64,
}

#[server(prefix = "/_sfn")]
pub async fn mfa_state(project_id: String) -> Result<Option<MfaStatus>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(None);
    };
    let left = ssr::core()
        .recovery_codes_left(&user)
        .await
        .map_err(ssr::shown)?;
    Ok(Some(MfaStatus {
        enabled: user.totp_secret.is_some(),
        recovery_codes_left: left,
    }))
}

/// A fresh secret to set up, drawn for the signed-in user.
#[server(prefix = "/_sfn")]
pub async fn mfa_enrolment(project_id: String) -> Result<Enrolment, ServerFnError> {
    use gatehouse_core::mfa;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let secret = mfa::new_secret_base64();
    let bytes = mfa::decode_secret(&secret, "secret").map_err(ssr::shown)?;
    let account = user
        .primary_email
        .clone()
        .or(user.display_name.clone())
        .unwrap_or(user.id.clone());
    let uri = mfa::otpauth_uri(&project.display_name, &account, &bytes);
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| ServerFnError::new(e.to_string()))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        secret,
        key: mfa::base32(&bytes),
        qr_svg,
    })
}

/// Turns TOTP on once the first code proves the app has the secret; on to the page that shows
/// the recovery codes once.
#[server(prefix = "/_sfn")]
pub async fn enable_mfa(
    project_id: String,
    secret: String,
    code: String,
) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let codes = ssr::core()
        .enable_totp(&project, &user, &secret, &code)
        .await
        .map_err(ssr::shown)?;
    show_codes(&project_id, &user.id, codes);
    Ok(())
}

/// A new set of recovery codes (the old ones void), shown once.
#[server(prefix = "/_sfn")]
pub async fn new_recovery_codes(project_id: String) -> Result<(), ServerFnError> {
    let (_, user) = ssr::signed_in(&project_id).await?;
    let codes = ssr::core()
        .new_recovery_codes(&user)
        .await
        .map_err(ssr::shown)?;
    show_codes(&project_id, &user.id, codes);
    Ok(())
}

#[cfg(feature = "ssr")]
fn show_codes(project_id: &str, user_id: &str, codes: Vec<String>) {
    let flash = ssr::flash(user_id, ssr::Flash::RecoveryCodes(codes));
    leptos_axum::redirect(&format!("/handler/{project_id}/mfa-setup?codes={flash}"));
}

/// The recovery codes just made, once, to the user who made them.
#[server(prefix = "/_sfn")]
pub async fn take_recovery_codes(
    project_id: String,
    flash: String,
) -> Result<Option<Vec<String>>, ServerFnError> {
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(None);
    };
    Ok(match ssr::take_flash(&user.id, &flash) {
        Some(ssr::Flash::RecoveryCodes(codes)) => Some(codes),
        _ => None,
    })
}

/// Turns TOTP off after a current code from the app.
#[server(prefix = "/_sfn")]
pub async fn disable_mfa(project_id: String, code: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let who = gatehouse_core::events::Who::User(user.id.clone());
    ssr::core()
        .disable_totp(&project, &user, Some(&code), &who)
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done=mfa-off"
    ));
    Ok(())
}

/// The second step of a sign-in: a code from the app, or (with `recovery_code`) one of the
/// user's recovery codes.
#[server(prefix = "/_sfn")]
pub async fn second_factor(
    project_id: String,
    attempt: String,
    totp: Option<String>,
    recovery_code: Option<String>,
    after_auth_return_to: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::mfa::{MfaSignIn, RecoverySignIn};
    let project = ssr::project(&project_id).await?;
    ssr::limit(&project, gatehouse_core::rate_limits::Action::Mfa).await?;
    let target = ssr::return_target(&project, after_auth_return_to)?;
    let core = ssr::core();
    let signed = match recovery_code.filter(|c| !c.trim().is_empty()) {
        Some(recovery_code) => {
            let input = RecoverySignIn {
                recovery_code,
                code: attempt,
            };
            core.mfa_recovery_sign_in(&project, input).await
        }
        None => {
            let input = MfaSignIn {
                kind: "totp".into(),
                totp: totp.unwrap_or_default(),
                code: attempt,
            };
            core.mfa_sign_in(&project, input).await
        }
    };
    ssr::finish_sign_in(&project.id, signed.map(|(tokens, _)| tokens), &target)
}
