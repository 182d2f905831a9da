//! "Resolve, then connect to the first address that answers", with one deadline per address:
//! a name with an IPv6 and an IPv4 address still works where only one of them is routed.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::HostPort;

/// Why no connection could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The name did not resolve (or resolved to nothing).
    #[error("could not resolve {address}: {source}")]
    Resolve {
        /// host:port.
        address: String,
        /// The resolver's words.
        #[source]
        source: io::Error,
    },
    /// Something answered with a refusal: nothing listens there.
    #[error("connection to {address} was refused")]
    Refused {
        /// host:port.
        address: String,
    },
    /// No address answered within the deadline.
    #[error("no answer from {address} within {timeout:?}")]
    Timeout {
        /// host:port.
        address: String,
        /// The limit per address.
        timeout: Duration,
    },
    /// Any other failure of the last address tried.
    #[error("cannot connect to {address}: {source}")]
    Io {
        /// host:port.
        address: String,
        /// The system's words.
        #[source]
        source: io::Error,
    },
}

impl ConnectError {
    /// The error for `address` once every one of its resolved addresses failed, `last` being
    /// the last one's failure (None: it resolved to nothing).
    pub fn from_last(address: &HostPort, timeout: Duration, last: Option<io::Error>) -> Self {
        let address_text = address.to_string();
        match last {
            None => ConnectError::Resolve {
                address: address_text,
                source: io::Error::new(io::ErrorKind::NotFound, "no address found"),
            },
            Some(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => ConnectError::Refused {
                    address: address_text,
                },
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ConnectError::Timeout {
                    address: address_text,
                    timeout,
                },
                _ => ConnectError::Io {
                    address: address_text,
                    source: e,
                },
            },
        }
    }
}

fn resolve(address: &HostPort) -> Result<Vec<SocketAddr>, ConnectError> {
    (address.host.as_str(), address.port)
        .to_socket_addrs()
        .map(Iterator::collect)
        .map_err(|source| ConnectError::Resolve {
            address: address.to_string(),
            source,
        })
}

/// Connects (blocking) to the first resolved address of `address` that answers within `timeout`.
pub fn connect_first(address: &HostPort, timeout: Duration) -> Result<TcpStream, ConnectError> {
    let mut last = None;
    for addr in resolve(address)? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    Err(ConnectError::from_last(address, timeout, last))
}

#[cfg(feature = "async")]
/// Connects (on tokio) to the first resolved address of `address` that answers within `timeout`.
pub async fn connect_first_async(
    address: &HostPort,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, ConnectError> {
    let addrs = match address.ip() {
        Some(ip) => vec![SocketAddr::new(ip, address.port)],
        None => tokio::net::lookup_host((address.host.as_str(), address.port))
            .await
            .map(Iterator::collect)
            .map_err(|source| ConnectError::Resolve {
                address: address.to_string(),
                source,
            })?,
    };
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => return Ok(tcp),
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        }
    }
    Err(ConnectError::from_last(address, timeout, last))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn connects_or_says_refused() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = HostPort::new("127.0.0.1", l.local_addr().unwrap().port());
        connect_first(&addr, Duration::from_secs(2)).unwrap();
        drop(l);
        assert!(matches!(
            connect_first(&addr, Duration::from_secs(2)),
            Err(ConnectError::Refused { .. })
        ));
    }
}
