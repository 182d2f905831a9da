//! TCP reachability, the only state a driver that did not make its host can
//! observe.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::types::MachineState;

/// How long a reachability probe waits for each address. Short, because
/// `berth ls` probes every machine and a dead host must not stall it.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `Running` when something accepts TCP connections at `host:port`,
/// `Stopped` when the host refuses, does not answer or cannot be routed to,
/// `Error` when the name does not resolve (a typo is not a power state).
pub fn tcp_state(host: &str, port: u16, timeout: Duration) -> MachineState {
    let addrs = match (host, port).to_socket_addrs() {
        Ok(addrs) => addrs.collect::<Vec<_>>(),
        Err(_) => return MachineState::Error,
    };
    if addrs.is_empty() {
        return MachineState::Error;
    }
    let mut last: Option<io::Error> = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return MachineState::Running,
            Err(e) => last = Some(e),
        }
    }
    tracing::debug!(host, port, error = ?last, "TCP probe found nothing listening");
    MachineState::Stopped
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn listener_is_running_and_closed_port_is_stopped() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert_eq!(
            tcp_state("127.0.0.1", port, PROBE_TIMEOUT),
            MachineState::Running
        );
        drop(l);
        assert_eq!(
            tcp_state("127.0.0.1", port, PROBE_TIMEOUT),
            MachineState::Stopped
        );
    }
}
