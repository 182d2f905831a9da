//! TCP reachability, the only state a driver that did not make its host can
//! observe.

use std::time::Duration;

use berth_plugin::MachineState;

/// How long a reachability probe waits for each address. Short, because
/// `berth ls` probes every machine and a dead host must not stall it.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `Running` when something accepts TCP connections at `host:port`,
/// `Stopped` when the host refuses, does not answer or cannot be routed to,
/// `Error` when the name does not resolve (a typo is not a power state).
pub fn tcp_state(host: &str, port: u16, timeout: Duration) -> MachineState {
    match berth_net::connect_first(&berth_net::HostPort::new(host, port), timeout) {
        Ok(_) => MachineState::Running,
        Err(berth_net::ConnectError::Resolve { .. }) => MachineState::Error,
        Err(error) => {
            tracing::debug!(host, port, %error, "TCP probe found nothing listening");
            MachineState::Stopped
        }
    }
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
