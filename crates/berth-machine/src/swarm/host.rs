//! What berth checks on a node's host over SSH before and after it takes part in a cluster:
//! whether it reaches its managers' TCP ports, and whether its kernel has IPVS.

use std::net::IpAddr;

use berth_ssh::Session;

use crate::error::{Context as _, MachineError};
use crate::handle::MachineHandle;

/// The TCP ports a joining node must reach on each manager: the cluster's API (Raft, the
/// dispatcher) and the gossip of the network control plane. 7946/udp and 4789/udp (VXLAN) cannot
/// be checked this way: UDP has no handshake, and a silent drop looks like a working port.
pub const MANAGER_TCP_PORTS: [u16; 2] = [2377, 7946];

/// Seconds each TCP check may take.
const CHECK_SECONDS: u32 = 3;

/// An SSH session to the machine's host, with its pinned key. `None` for machines berth has no
/// SSH access to (the none driver).
pub(super) fn session(machine: &MachineHandle) -> Result<Option<Session>, MachineError> {
    if machine.record().ssh.is_none() {
        return Ok(None);
    }
    let target = machine.ssh_target(None)?;
    let session = Session::connect(&target)
        .with_context(|| format!("cannot reach '{}' over SSH to check it", machine.name()))?;
    Ok(Some(session))
}

/// Which of `endpoints` the host cannot open a TCP connection to (bash's `/dev/tcp`, each
/// bounded by `timeout`). The endpoints are IP addresses, quoted for the shell all the same.
pub(super) fn unreachable_tcp(
    session: &Session,
    endpoints: &[(IpAddr, u16)],
) -> Result<Vec<(IpAddr, u16)>, MachineError> {
    if endpoints.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = endpoints
        .iter()
        .map(|(ip, port)| format!("'{ip}/{port}'"))
        .collect();
    let script = format!(
        "command -v bash >/dev/null || {{ echo 'no bash'; exit 3; }}; \
         for e in {}; do timeout {CHECK_SECONDS} bash -c \"exec 3<>/dev/tcp/$e\" 2>/dev/null || echo \"$e\"; done",
        list.join(" ")
    );
    let out = session
        .exec(&format!("sh -c {}", sh_quote(&script)))
        .context("cannot run the port check over SSH")?;
    if out.status == 3 {
        return Err(MachineError::msg(
            "the host has no bash, which the port check uses (`/dev/tcp`); install bash there",
        ));
    }
    let failed = out.stdout_str();
    Ok(endpoints
        .iter()
        .filter(|(ip, port)| failed.lines().any(|l| l.trim() == format!("{ip}/{port}")))
        .copied()
        .collect())
}

/// Whether the host's kernel has IPVS, which service virtual IPs and the ingress routing mesh
/// need. Loads the module first where it exists and berth is root there (docker would load it
/// too); without it `/proc/net/ip_vs` is absent.
pub(super) fn has_ipvs(session: &Session) -> Result<bool, MachineError> {
    let out = session
        .exec(
            "test -e /proc/net/ip_vs || { [ \"$(id -u)\" = 0 ] && modprobe -q ip_vs 2>/dev/null; }; test -e /proc/net/ip_vs",
        )
        .context("cannot check for IPVS over SSH")?;
    Ok(out.status == 0)
}

/// The sentence for a node without IPVS.
pub(super) fn no_ipvs_warning(name: &str) -> String {
    format!(
        "'{name}' has no IPVS in its kernel (/proc/net/ip_vs is absent): service virtual IPs and the ingress routing mesh will not work there; create services with `--endpoint-mode dnsrr` and publish ports with `mode=host`"
    )
}

fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
