//! The settings against abuse, read once from the rendered tree: the limits
//! (`security.rateLimits`, `security.lockout`) into [`Limits`], which `crate::rate_limits`
//! counts against, and the sign-up's bot challenge (`security.botChallenge`) into
//! [`BotChallengeMode`], which `crate::bot_challenge` runs.

use serde_json::Value;

/// What is limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SignIn,
    SignUp,
    SendCode,
    VerifyCode,
    Mfa,
    ApiKeyCheck,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::SignIn,
        Action::SignUp,
        Action::SendCode,
        Action::VerifyCode,
        Action::Mfa,
        Action::ApiKeyCheck,
    ];

    /// The action's name in the config tree.
    pub fn key(self) -> &'static str {
        match self {
            Action::SignIn => "signIn",
            Action::SignUp => "signUp",
            Action::SendCode => "sendCode",
            Action::VerifyCode => "verifyCode",
            Action::Mfa => "mfa",
            Action::ApiKeyCheck => "apiKeyCheck",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            Action::SignIn => "sign-in attempts",
            Action::SignUp => "sign-ups",
            Action::SendCode => "emails with codes requested",
            Action::VerifyCode => "codes tried",
            Action::Mfa => "second-factor codes tried",
            Action::ApiKeyCheck => "failed API key checks",
        }
    }

    /// The defaults: (per IP, per account); `None` where the action has no account to count by.
    pub(crate) fn defaults(self) -> (Limit, Option<Limit>) {
        let l = |max, window_s| Limit { max, window_s };
        match self {
            Action::SignIn => (l(60, 60), Some(l(30, 600))),
            Action::SignUp => (l(20, 60), None),
            Action::SendCode => (l(10, 60), Some(l(5, 600))),
            Action::VerifyCode => (l(60, 60), None),
            Action::Mfa => (l(30, 60), Some(l(10, 600))),
            // Failed checks only: a key that checks out never touches the count.
            Action::ApiKeyCheck => (l(100, 60), None),
        }
    }
}

/// At most `max` attempts per window of `window_s` seconds; `max == 0`: no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window_s: u32,
}

/// Locks an account's password sign-in for `cool_down_s` after `max_failures` failures within
/// that time; `max_failures == 0`: never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    pub max_failures: u32,
    pub cool_down_s: u32,
}

/// A project's limits, read from its config tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    per_ip: [Limit; 6],
    per_account: [Option<Limit>; 6],
    pub lockout: Lockout,
}

impl Limits {
    pub fn from_tree(tree: &Value) -> Limits {
        let at = &tree["security"];
        let read = |v: &Value, d: Limit| Limit {
            max: v["max"]
                .as_u64()
                .map_or(d.max, |n| n.min(u32::MAX as u64) as u32),
            window_s: v["windowSeconds"]
                .as_u64()
                .filter(|n| *n > 0)
                .map_or(d.window_s, |n| n.min(u32::MAX as u64) as u32),
        };
        let per_ip = Action::ALL.map(|a| read(&at["rateLimits"][a.key()]["perIp"], a.defaults().0));
        let per_account = Action::ALL.map(|a| {
            a.defaults()
                .1
                .map(|d| read(&at["rateLimits"][a.key()]["perAccount"], d))
        });
        let lockout = &at["lockout"];
        Limits {
            per_ip,
            per_account,
            lockout: Lockout {
                max_failures: lockout["maxFailures"].as_u64().unwrap_or(10) as u32,
                cool_down_s: lockout["coolDownSeconds"]
                    .as_u64()
                    .filter(|n| *n > 0)
                    .unwrap_or(900) as u32,
            },
        }
    }

    /// The limit on `action` per address (`per_account == false`) or per account; `None`: no
    /// limit.
    pub fn of(&self, action: Action, per_account: bool) -> Option<Limit> {
        let i = Action::ALL.iter().position(|a| *a == action)?;
        let limit = if per_account {
            self.per_account[i]
        } else {
            Some(self.per_ip[i])
        };
        limit.filter(|l| l.max > 0)
    }
}

/// The bot challenge a sign-up must pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BotChallengeMode {
    Off,
    /// Gatehouse's own puzzle: this many leading zero bits.
    ProofOfWork {
        bits: u32,
    },
    /// Cloudflare Turnstile with the project's keys (both set, or the mode is off).
    Turnstile {
        site_key: String,
        secret_key: String,
    },
}

/// The proof-of-work difficulty by default: about 260,000 hashes, a fraction of a second in a
/// browser, and the same again for every sign-up a script makes.
pub const DEFAULT_PROOF_OF_WORK_BITS: u32 = 18;

impl BotChallengeMode {
    pub fn from_tree(tree: &Value) -> BotChallengeMode {
        let at = &tree["security"]["botChallenge"];
        let key = |name: &str| {
            at[name]
                .as_str()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string)
        };
        match at["mode"].as_str() {
            Some("proofOfWork") => BotChallengeMode::ProofOfWork {
                bits: at["proofOfWorkBits"]
                    .as_u64()
                    .map_or(DEFAULT_PROOF_OF_WORK_BITS, |b| b.clamp(1, 32) as u32),
            },
            Some("turnstile") => match (key("turnstileSiteKey"), key("turnstileSecretKey")) {
                (Some(site_key), Some(secret_key)) => BotChallengeMode::Turnstile {
                    site_key,
                    secret_key,
                },
                _ => BotChallengeMode::Off,
            },
            _ => BotChallengeMode::Off,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_from_the_tree_with_defaults() {
        let tree = serde_json::json!({ "security": { "rateLimits": {
            "signUp": { "perIp": { "max": 3, "windowSeconds": 60 } },
            "signIn": { "perAccount": { "max": 0 } },
        }, "lockout": { "maxFailures": 5 } } });
        let l = Limits::from_tree(&tree);
        assert_eq!(
            l.of(Action::SignUp, false),
            Some(Limit {
                max: 3,
                window_s: 60
            })
        );
        assert_eq!(
            l.of(Action::SignIn, false),
            Some(Limit {
                max: 60,
                window_s: 60
            })
        );
        assert_eq!(l.of(Action::SignIn, true), None);
        assert_eq!(l.of(Action::SignUp, true), None);
        assert_eq!(
            l.lockout,
            Lockout {
                max_failures: 5,
                cool_down_s: 900
            }
        );
    }
}
