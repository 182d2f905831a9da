//! The machine-name rules: a name becomes a folder, a hostname and part of a certificate.

use crate::StoreError;

/// docker-machine's rule, kept so that names users already have stay valid.
pub const NAME_RULE: &str = "a name has letters, digits, '-' and '.', starts with a letter or digit, and is at most 63 characters long";

/// What a new machine's name must also be: its hostname (RFC 1123), which berth sets on the
/// host and puts in the engine's certificate.
pub const HOSTNAME_RULE: &str = "a new machine's name is also its hostname: labels of letters, digits and '-' separated by single dots, none starting or ending with '-', at most 63 characters in all";

/// Names of the store's own entries under its root. `.locks` and `.removing-*` start with a
/// dot, which [`NAME_RULE`] already refuses; `plugins` does not, so it is refused by name (in
/// any case: on a case-insensitive file system `Plugins` is the same folder).
const RESERVED: [&str; 1] = ["plugins"];

/// Checks a machine name against [`NAME_RULE`], and that the store does not use it itself.
///
/// This is the rule for names that may already exist (lookups, `rm`, `ls`): docker-machine's,
/// so an imported store keeps working. A name for a new machine must also pass
/// [`validate_new_name`].
///
/// The name becomes a folder name, a hostname and part of a certificate, so anything that
/// could escape the storage folder ('/', '..') or confuse a shell is refused up front.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !(first_ok && rest_ok && name.len() <= 63) {
        return Err(StoreError::InvalidName {
            name: name.to_owned(),
            rule: NAME_RULE,
        });
    }
    if is_reserved(name) {
        return Err(StoreError::ReservedName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Checks the name of a machine about to be made: [`validate_name`] and [`HOSTNAME_RULE`], so
/// that `web-` or `a..b` is refused before any driver or host is asked to do anything with it.
pub fn validate_new_name(name: &str) -> Result<(), StoreError> {
    validate_name(name)?;
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if name.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            name: name.to_owned(),
            rule: HOSTNAME_RULE,
        })
    }
}

/// Whether `name` is one the store uses for itself.
pub(crate) fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_docker_machine_names() {
        for name in ["web1", "a", "1host", "my-host.example", "A-b.C"] {
            assert!(validate_name(name).is_ok(), "{name}");
            assert!(validate_new_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_names_that_break_the_rule() {
        let long = "a".repeat(64);
        for name in [
            "",
            "-x",
            ".x",
            "bad name!",
            "a/b",
            "a_b",
            "..",
            "ü",
            long.as_str(),
        ] {
            let err = validate_name(name).expect_err(name);
            assert!(
                err.to_string().contains("starts with a letter or digit"),
                "{err}"
            );
        }
    }

    #[test]
    fn refuses_the_stores_own_names() {
        for name in ["plugins", "Plugins", "PLUGINS"] {
            let err = validate_name(name).expect_err(name);
            assert!(matches!(err, StoreError::ReservedName { .. }), "{err}");
        }
        assert!(validate_name("plugins2").is_ok());
    }

    #[test]
    fn new_names_must_be_hostnames_while_old_ones_still_resolve() {
        for name in ["web-", "a..b", "web.", "a.-b", "a-.b"] {
            assert!(validate_name(name).is_ok(), "{name} is an existing name");
            let err = validate_new_name(name).expect_err(name);
            assert!(err.to_string().contains("hostname"), "{err}");
        }
    }
}
