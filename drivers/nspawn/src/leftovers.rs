//! What a run of machines may leave behind on this machine, so a test can
//! assert that nothing is.

use std::fs;
use std::path::Path;

use crate::config::Config;
use crate::machine::mount_points;
use crate::network::{self, claims, netns_name};
use crate::process;

/// Everything found that belongs to machines whose names start with a prefix.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Leftovers {
    /// Network namespaces.
    pub netns: Vec<String>,
    /// veth ends on this machine.
    pub links: Vec<String>,
    /// Mounts under the machines' folders.
    pub mounts: Vec<String>,
    /// systemd-nspawn processes and guest processes in the machines' cgroups (`pid args`).
    pub processes: Vec<String>,
    /// The machines' own cgroups.
    pub cgroups: Vec<String>,
    /// Machine folders and address claims.
    pub records: Vec<String>,
    /// berth's iptables rules and the bridge, when no machine uses them any more.
    pub shared: Vec<String>,
}

impl Leftovers {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self == &Leftovers::default()
    }
}

/// Lists what remains of machines named `prefix…` (all machines for an empty prefix).
pub fn leftovers(config: &Config, prefix: &str) -> Leftovers {
    let mut found = Leftovers::default();
    let ns_prefix = netns_name(prefix);
    found.netns = fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&ns_prefix))
                .collect()
        })
        .unwrap_or_default();
    let claims = claims(config);
    found.links = fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("vbh"))
                .filter(|n| {
                    // A veth of another live machine is not ours; an unclaimed one is a leftover of someone.
                    match claims.iter().find(|(a, _)| network::veth_name(*a) == *n) {
                        Some((_, owner)) => owner.starts_with(prefix),
                        None => true,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let machines = config.machine_dir(prefix).to_string_lossy().into_owned();
    found.mounts = mount_points()
        .into_iter()
        .filter(|m| m.starts_with(&machines))
        .collect();
    for pid in process::all_pids() {
        if !process::running(pid) {
            continue;
        }
        let args = process::cmdline(pid);
        let is_ours_nspawn = args.first().is_some_and(|a| a.ends_with("systemd-nspawn"))
            && args
                .iter()
                .any(|a| a.starts_with(&format!("--machine={prefix}")))
            && args.iter().any(|a| a.contains(&*machines));
        if is_ours_nspawn || crate::cgroup::pid_in(pid, prefix, true) {
            found.processes.push(format!("{pid} {}", args.join(" ")));
        }
    }
    found.cgroups = crate::cgroup::leftovers(prefix);
    found.records = fs::read_dir(config.data_dir.join("machines"))
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().starts_with(&machines))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    found.records.extend(
        claims
            .iter()
            .filter(|(_, owner)| owner.starts_with(prefix))
            .map(|(addr, owner)| format!("address claim {addr} of {owner}")),
    );
    // Under the network lock: a machine half-way through attaching has the rules but no veth yet.
    let _lock = network::lock(config).ok();
    // Shared pieces belong to every machine of a subnet: a bridge (and the rules naming it) is
    // a leftover only when no machine is attached and no machine of its subnet exists, stopped
    // ones included. Other subnets' bridges (`--nspawn-subnet`) are judged the same way, so a
    // concurrent test's live network is never reported and a forgotten one always is.
    let in_use = |bridge: &str| bridge_in_use(bridge, &claims);
    found.shared = network::tagged_rules()
        .into_iter()
        .filter(|rule| {
            let words: Vec<&str> = rule.split_whitespace().collect();
            !words
                .windows(2)
                .any(|w| (w[0] == "-o" || w[0] == "-i") && in_use(w[1]))
        })
        .collect();
    let bridges = network::berth_bridges();
    found.shared.extend(
        bridges
            .into_iter()
            .filter(|b| !in_use(b))
            .map(|b| format!("bridge {b}")),
    );
    if network::forwarding_changed(config)
        && claims.is_empty()
        && network::berth_bridges().is_empty()
    {
        found
            .shared
            .push("net.ipv4.ip_forward left on by berth with no machine left".into());
    }
    found
}

/// Whether `bridge` has a machine attached, or a claimed address on its subnet (a stopped
/// machine keeps its bridge so that its address is never routed off this machine).
fn bridge_in_use(bridge: &str, claims: &[(std::net::Ipv4Addr, String)]) -> bool {
    let dir = Path::new("/sys/class/net").join(bridge);
    if fs::read_dir(dir.join("brif"))
        .map(|d| d.count() > 0)
        .unwrap_or(false)
    {
        return true;
    }
    let Ok(out) = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", bridge])
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let gateway = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok());
    gateway.is_some_and(|g| {
        claims
            .iter()
            .any(|(a, _)| a.octets()[..3] == g.octets()[..3])
    })
}
