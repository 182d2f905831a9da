//! A host and port, and the engine URL built from them.

use std::fmt;
use std::net::IpAddr;

/// The port berth's engines listen on (Docker's registered port for TLS).
pub const DEFAULT_ENGINE_PORT: u16 = 2376;

/// An address that cannot be read as `HOST:PORT` or `tcp://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    /// Nothing before the port, or nothing at all.
    #[error("`{given}` has no host; write it as tcp://HOST:PORT")]
    NoHost {
        /// The text as given.
        given: String,
    },
    /// The port is not a number from 1 to 65535.
    #[error("`{given}` has a port that is not a number from 1 to 65535")]
    BadPort {
        /// The text as given.
        given: String,
    },
    /// A scheme the engine is not reached with.
    #[error("`{given}` is not a tcp:// URL; an engine is reached at tcp://HOST:PORT")]
    BadScheme {
        /// The text as given.
        given: String,
    },
}

/// A host (IP address or DNS name, IPv6 without brackets) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host as users write it, without brackets.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl HostPort {
    /// `host` and `port`; brackets around an IPv6 host are dropped.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        let host = host.into();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => inner.to_owned(),
            None => host,
        };
        HostPort { host, port }
    }

    /// Reads `tcp://HOST:PORT`, `HOST:PORT`, `[V6]:PORT` (a trailing `/` is allowed);
    /// `default_port` where none is given.
    pub fn parse(text: &str, default_port: u16) -> Result<Self, AddrError> {
        let rest = match text.split_once("://") {
            Some(("tcp", rest)) => rest,
            Some(_) => {
                return Err(AddrError::BadScheme {
                    given: text.to_owned(),
                });
            }
            None => text,
        };
        let rest = rest.split('/').next().unwrap_or_default();
        let bad_port = || AddrError::BadPort {
            given: text.to_owned(),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| AddrError::NoHost {
                given: text.to_owned(),
            })?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad_port()),
            };
            (host, port)
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 address: no port can be told apart from it.
            (rest, None)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(AddrError::NoHost {
                given: text.to_owned(),
            });
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(bad_port)?,
            None => default_port,
        };
        Ok(HostPort::new(host, port))
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The engine URL clients dial: `tcp://HOST:PORT`, IPv6 in brackets.
    pub fn engine_url(&self) -> String {
        format!("tcp://{self}")
    }
}

/// `HOST:PORT`, with an IPv6 host in brackets, as users and URLs write it.
impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_urls_and_addresses_of_every_shape() {
        for (text, host, port) in [
            ("tcp://203.0.113.7:2376", "203.0.113.7", 2376),
            ("tcp://203.0.113.7:2376/", "203.0.113.7", 2376),
            ("tcp://[2001:db8::1]:2377", "2001:db8::1", 2377),
            ("docker.example.com:12", "docker.example.com", 12),
            ("docker.example.com", "docker.example.com", 2376),
            ("2001:db8::1", "2001:db8::1", 2376),
            ("[2001:db8::1]", "2001:db8::1", 2376),
        ] {
            let hp = HostPort::parse(text, DEFAULT_ENGINE_PORT).unwrap();
            assert_eq!((hp.host.as_str(), hp.port), (host, port), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        assert!(matches!(
            HostPort::parse("tcp://:2376", 2376),
            Err(AddrError::NoHost { .. })
        ));
        assert!(matches!(
            HostPort::parse("tcp://h:99999", 2376),
            Err(AddrError::BadPort { .. })
        ));
        assert!(matches!(
            HostPort::parse("unix:///var/run/docker.sock", 2376),
            Err(AddrError::BadScheme { .. })
        ));
    }

    #[test]
    fn ipv6_gets_brackets_in_one_place() {
        assert_eq!(
            HostPort::new("2001:db8::1", 2376).engine_url(),
            "tcp://[2001:db8::1]:2376"
        );
        assert_eq!(HostPort::new("[::1]", 22).to_string(), "[::1]:22");
        assert_eq!(
            HostPort::new("10.0.0.1", 2376).engine_url(),
            "tcp://10.0.0.1:2376"
        );
    }
}
