//! What a new password must be: Stack's length rules, and not one of the passwords attackers
//! try first (NIST SP 800-63B §5.1.1.2: refuse values known to be commonly used or
//! compromised). The list ships in the binary: the 17,950 passwords of 8 to 70 characters in
//! zxcvbn-ts's common-password dictionary (`@zxcvbn-ts/language-common` 4.1.3, MIT; see
//! `passwords/common-LICENSE.txt`), drawn from breach corpora, lower-cased and sorted so a
//! lookup is a binary search over the text itself (no table is built, nothing is allocated).
//! A project turns the list off with `security.refuseCommonPasswords: false`.

use crate::config::ProjectConfig;
use crate::error::{Error, Result};

pub const PASSWORD_MIN_LENGTH: usize = 8;
pub const PASSWORD_MAX_LENGTH: usize = 70;

static COMMON: &str = include_str!("passwords/common.txt");

/// Checks a password someone chooses (sign-up, reset, change, set by a server), in Stack's
/// order: too short, too long, then too common.
pub fn check_new_password(config: &ProjectConfig, password: &str) -> Result<()> {
    check_length(password)?;
    if config.refuse_common_passwords && is_common(password) {
        return Err(Error::PasswordRequirementsNotMet(
            "This password is one of the most common passwords, the first an attacker tries. \
             Choose a password that is harder to guess."
                .into(),
        ));
    }
    Ok(())
}

/// Stack's length rules; the length counts characters, as people do.
pub fn check_length(password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < PASSWORD_MIN_LENGTH {
        return Err(Error::PasswordTooShort(PASSWORD_MIN_LENGTH));
    }
    if len > PASSWORD_MAX_LENGTH {
        return Err(Error::PasswordTooLong(PASSWORD_MAX_LENGTH));
    }
    Ok(())
}

/// Whether `password`, ignoring case, is on the list.
pub fn is_common(password: &str) -> bool {
    let wanted = password.to_lowercase();
    let bytes = COMMON.as_bytes();
    let (mut lo, mut hi) = (0, bytes.len());
    // Binary search by byte offset: land anywhere, back up to the start of that line.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes[..mid]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let end = start
            + bytes[start..]
                .iter()
                .position(|b| *b == b'\n')
                .unwrap_or(bytes.len() - start);
        match COMMON[start..end].cmp(wanted.as_str()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters() {
        assert!(matches!(
            check_length("short"),
            Err(Error::PasswordTooShort(8))
        ));
        assert!(check_length("éééééééé").is_ok());
        assert!(matches!(
            check_length(&"x".repeat(71)),
            Err(Error::PasswordTooLong(70))
        ));
    }

    #[test]
    fn the_list_is_sorted_and_found_from_either_end() {
        let lines: Vec<&str> = COMMON.lines().collect();
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert_eq!(lines.len(), 17_950);
        for p in &lines {
            assert!(is_common(p), "{p}");
        }
        for p in [
            "password",
            "Password",
            "PASSWORD1",
            "iloveyou",
            "qwertyuiop",
        ] {
            assert!(is_common(p), "{p}");
        }
        for p in [
            "correct horse battery staple",
            "",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "0",
        ] {
            assert!(!is_common(p), "{p}");
        }
    }
}
