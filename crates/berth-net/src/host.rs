//! Whether a string is a host berth may connect to and hand to OpenSSH or a shell: the one rule
//! for the record's SSH host and engine URL, a docker-machine store's addresses at import, and
//! a Go driver's SSH host.

use std::net::IpAddr;

/// An IP address literal (IPv6 without brackets), or a DNS name of 1 to 253 characters with
/// one optional trailing dot, whose dot-separated labels are 1 to 63 ASCII letters, digits, `-`
/// and `_`, none starting with `-`.
///
/// `_` and a label ending in `-` are allowed, though RFC 1123 forbids them, because records
/// berth wrote hold such names (cloud and `/etc/hosts` names do) and every store that loads
/// must keep loading. What matters for safety holds: no space, no control character, no `%`
/// (an ssh_config token), no shell metacharacter, and no leading `-` that OpenSSH or a shell
/// would read as an option.
pub fn is_host(text: &str) -> bool {
    text.parse::<IpAddr>().is_ok() || is_dns_name(text)
}

fn is_dns_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_dns_names_are_hosts() {
        let label63 = "a".repeat(63);
        let long = format!("{label63}.{label63}.{label63}.{}", "d".repeat(61));
        assert_eq!(long.len(), 253);
        let long_dot = format!("{long}.");
        for good in [
            "203.0.113.7",
            "2001:db8::1",
            "::1",
            "host_name",
            "example.com.",
            "web1.example.com",
            "ip-10-0-0-1",
            "web-.example.com",
            label63.as_str(),
            long.as_str(),
            long_dot.as_str(),
        ] {
            assert!(is_host(good), "{good}");
        }
    }

    #[test]
    fn what_openssh_or_a_shell_could_misread_is_not_a_host() {
        let label64 = "a".repeat(64);
        let too_long = format!("{}.{}", "a".repeat(63), "b".repeat(190));
        assert_eq!(too_long.len(), 254);
        for bad in [
            "",
            ".",
            "-oProxyCommand",
            "-oProxyCommand=x",
            "a b",
            "a;b",
            "%h",
            "a..b",
            "host.-x",
            "example.com..",
            "h\nProxyCommand x",
            "$(id)",
            "`id`",
            "[::1]",
            "h:22",
            "user@h",
            label64.as_str(),
            too_long.as_str(),
        ] {
            assert!(!is_host(bad), "{bad:?}");
        }
    }
}
