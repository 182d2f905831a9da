//! The machine-name rule: a name becomes a folder, a hostname and part of a certificate.

use crate::StoreError;

/// docker-machine's rule, kept so that names users already have stay valid.
pub const NAME_RULE: &str = "a name has letters, digits, '-' and '.', starts with a letter or digit, and is at most 63 characters long";

/// Checks a machine name against [`NAME_RULE`].
///
/// The name becomes a folder name, a hostname and part of a certificate, so anything that
/// could escape the storage folder ('/', '..') or confuse a shell is refused up front.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(StoreError::InvalidName {
            name: name.to_owned(),
            rule: NAME_RULE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_docker_machine_names() {
        for name in ["web1", "a", "1host", "my-host.example", "A-b.C"] {
            assert!(validate_name(name).is_ok(), "{name}");
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
}
