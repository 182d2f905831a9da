//! Each machine's own network: a namespace, a veth pair whose outer end joins
//! the shared bridge, an address claimed so that concurrent processes never
//! hand out the same one, and NAT so that apt inside reaches the mirror.
//!
//! The bridge and its iptables rules are shared by every machine: they are
//! added with the first machine and removed with the last, under one lock
//! file, so two processes never race on them.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::Ipv4Addr;
use std::path::Path;

use crate::cmd::{run, succeeds};
use crate::config::Config;
use crate::error::NspawnError;

/// The comment that marks every iptables rule berth adds, so leftovers can be found.
pub const RULE_COMMENT: &str = "berth-nspawn";

/// The network namespace of a machine (a file under /run/netns).
pub fn netns_name(name: &str) -> String {
    format!("berth-{name}")
}

/// The outer veth end of the machine at `addr`: the whole address in hex, so machines on
/// different subnets (`--nspawn-subnet`) never share a name (interface names hold 15 bytes).
pub fn veth_name(addr: Ipv4Addr) -> String {
    format!("vbh{:08x}", u32::from(addr))
}

/// Claims a free address for `name`: the first `addresses/<ip>` file created
/// with O_EXCL wins, which is atomic across processes.
pub(crate) fn claim_address(config: &Config, name: &str) -> Result<Ipv4Addr, NspawnError> {
    let dir = config.registry_dir();
    fs::create_dir_all(&dir).map_err(NspawnError::io("could not create", &dir))?;
    let [a, b, c] = config.subnet;
    for last in 2..=254u8 {
        let addr = Ipv4Addr::new(a, b, c, last);
        let path = dir.join(addr.to_string());
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(name.as_bytes())
                    .map_err(NspawnError::io("could not write", &path))?;
                return Ok(addr);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(NspawnError::io("could not create", &path)(e)),
        }
    }
    Err(NspawnError::NoFreeAddress {
        subnet: config.cidr(),
        registry: dir,
    })
}

/// Gives the address back (only if `name` holds it).
pub(crate) fn release_address(
    config: &Config,
    name: &str,
    addr: Ipv4Addr,
) -> Result<(), NspawnError> {
    let path = config.registry_dir().join(addr.to_string());
    match fs::read_to_string(&path) {
        Ok(owner) if owner == name => {
            fs::remove_file(&path).map_err(NspawnError::io("could not remove", &path))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NspawnError::io("could not read", &path)(e)),
    }
}

/// Who holds each claimed address.
pub(crate) fn claims(config: &Config) -> Vec<(Ipv4Addr, String)> {
    let Ok(entries) = fs::read_dir(config.registry_dir()) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let addr = e.file_name().to_string_lossy().parse().ok()?;
            let owner = fs::read_to_string(e.path()).ok()?;
            Some((addr, owner))
        })
        .collect()
}

/// Holds the network lock while alive.
pub(crate) struct NetLock(#[allow(dead_code)] fs::File);

/// Takes the lock that guards the bridge, its rules and every veth change.
pub(crate) fn lock(config: &Config) -> Result<NetLock, NspawnError> {
    fs::create_dir_all(&config.data_dir)
        .map_err(NspawnError::io("could not create", &config.data_dir))?;
    let path = config.data_dir.join("network.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(NspawnError::io("could not open", &path))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| NspawnError::io("could not lock", &path)(e.into()))?;
    Ok(NetLock(file))
}

/// The iptables rules (table, chain, rule) that give the subnet NAT.
fn nat_rules(config: &Config) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let tag = |mut v: Vec<String>| {
        v.extend(["-m", "comment", "--comment", RULE_COMMENT].map(String::from));
        v
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let br = config.bridge.as_str();
    vec![
        (
            "nat",
            "POSTROUTING",
            tag(s(&["-s", &config.cidr(), "!", "-o", br]))
                .into_iter()
                .chain(s(&["-j", "MASQUERADE"]))
                .collect(),
        ),
        (
            "filter",
            "FORWARD",
            tag(s(&["-i", br]))
                .into_iter()
                .chain(s(&["-j", "ACCEPT"]))
                .collect(),
        ),
        (
            "filter",
            "FORWARD",
            tag(s(&["-o", br]))
                .into_iter()
                .chain(s(&["-j", "ACCEPT"]))
                .collect(),
        ),
    ]
}

fn iptables(table: &str, op: &str, chain: &str, rule: &[String]) -> Vec<String> {
    let mut args = vec![
        "-w".to_string(),
        "-t".into(),
        table.into(),
        op.into(),
        chain.into(),
    ];
    if op == "-I" {
        // First in the chain: a FORWARD policy of DROP (an engine on this machine sets one) must not win.
        args.push("1".into());
    }
    args.extend(rule.iter().cloned());
    args
}

fn run_iptables(args: &[String]) -> Result<String, NspawnError> {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run("iptables", &refs)
}

fn iptables_ok(args: &[String]) -> bool {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    succeeds("iptables", &refs)
}

/// Makes the bridge, forwarding and NAT exist (idempotent; caller holds the lock).
fn ensure_bridge(config: &Config) -> Result<(), NspawnError> {
    let br = config.bridge.as_str();
    if !Path::new("/sys/class/net").join(br).exists() {
        run("ip", &["link", "add", br, "type", "bridge"])?;
        run(
            "ip",
            &[
                "addr",
                "add",
                &format!("{}/24", config.gateway()),
                "dev",
                br,
            ],
        )?;
    }
    run("ip", &["link", "set", br, "up"])?;
    fs::write("/proc/sys/net/ipv4/ip_forward", "1").map_err(NspawnError::io(
        "could not enable forwarding in",
        "/proc/sys/net/ipv4/ip_forward",
    ))?;
    for (table, chain, rule) in nat_rules(config) {
        if !iptables_ok(&iptables(table, "-C", chain, &rule)) {
            run_iptables(&iptables(table, "-I", chain, &rule))?;
        }
    }
    Ok(())
}

/// Removes the bridge and its rules when no machine is attached and none is left at all
/// (caller holds the lock).
///
/// A stopped machine keeps the bridge: with the bridge gone, its address would be routed by
/// the default route, and a client still pointed at it (`docker` after `berth stop`) would send
/// its traffic off this machine instead of getting "no route to host" here.
fn drop_bridge_if_unused(config: &Config) -> Result<(), NspawnError> {
    let br = config.bridge.as_str();
    let brif = Path::new("/sys/class/net").join(br).join("brif");
    let members = fs::read_dir(&brif).map(|d| d.count()).unwrap_or(0);
    let [a, b, c] = config.subnet;
    let on_this_bridge = |addr: &Ipv4Addr| addr.octets()[..3] == [a, b, c];
    if members > 0 || claims(config).iter().any(|(addr, _)| on_this_bridge(addr)) {
        return Ok(());
    }
    for (table, chain, rule) in nat_rules(config) {
        while iptables_ok(&iptables(table, "-C", chain, &rule)) {
            run_iptables(&iptables(table, "-D", chain, &rule))?;
        }
    }
    if Path::new("/sys/class/net").join(br).exists() {
        run("ip", &["link", "del", br])?;
    }
    Ok(())
}

/// Creates the machine's namespace and veth, with `addr` inside and a default route via the bridge.
pub(crate) fn attach(config: &Config, name: &str, addr: Ipv4Addr) -> Result<(), NspawnError> {
    let _lock = lock(config)?;
    ensure_bridge(config)?;
    let ns = netns_name(name);
    let veth = veth_name(addr);
    remove_links(&ns, &veth)?;
    forget_neighbour(config, addr);
    run("ip", &["netns", "add", &ns])?;
    let setup = || -> Result<(), NspawnError> {
        run(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        run(
            "ip",
            &["link", "set", &veth, "master", &config.bridge, "up"],
        )?;
        run(
            "ip",
            &[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ],
        )?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        run(
            "ip",
            &[
                "-n",
                &ns,
                "route",
                "add",
                "default",
                "via",
                &config.gateway().to_string(),
            ],
        )?;
        Ok(())
    };
    setup().inspect_err(|_| {
        let _ = remove_links(&ns, &veth);
    })
}

/// Removes the machine's namespace and veth, and the shared bridge with the last machine.
pub(crate) fn detach(config: &Config, name: &str, addr: Ipv4Addr) -> Result<(), NspawnError> {
    let _lock = lock(config)?;
    remove_links(&netns_name(name), &veth_name(addr))?;
    forget_neighbour(config, addr);
    drop_bridge_if_unused(config)
}

/// Gives the address back and drops the bridge if it was the last machine.
pub(crate) fn release(config: &Config, name: &str, addr: Ipv4Addr) -> Result<(), NspawnError> {
    let _lock = lock(config)?;
    release_address(config, name, addr)?;
    drop_bridge_if_unused(config)
}

/// Drops this machine's ARP entry for `addr`. A reused address would
/// otherwise be sent to the previous machine's MAC until the stale entry
/// times out (10-20 s of a new host not answering).
fn forget_neighbour(config: &Config, addr: Ipv4Addr) {
    if Path::new("/sys/class/net").join(&config.bridge).exists() {
        let _ = run(
            "ip",
            &[
                "neigh",
                "flush",
                "to",
                &addr.to_string(),
                "dev",
                &config.bridge,
            ],
        );
    }
}

fn remove_links(ns: &str, veth: &str) -> Result<(), NspawnError> {
    if Path::new("/sys/class/net").join(veth).exists() {
        run("ip", &["link", "del", veth])?;
    }
    if Path::new("/run/netns").join(ns).exists() {
        run("ip", &["netns", "del", ns])?;
    }
    Ok(())
}

/// Takes the machine off the network (its veth down): packets to it vanish, as with a pulled cable.
pub(crate) fn cut(addr: Ipv4Addr) -> Result<(), NspawnError> {
    run("ip", &["link", "set", &veth_name(addr), "down"]).map(drop)
}

/// Puts the machine back on the network.
pub(crate) fn restore(addr: Ipv4Addr) -> Result<(), NspawnError> {
    run("ip", &["link", "set", &veth_name(addr), "up"]).map(drop)
}

/// Every iptables rule that carries berth's comment (as `iptables -S` prints them).
pub fn tagged_rules() -> Vec<String> {
    ["filter", "nat"]
        .iter()
        .filter_map(|t| run("iptables", &["-w", "-t", t, "-S"]).ok())
        .flat_map(|out| out.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains(RULE_COMMENT))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_interface_limits() {
        assert_eq!(veth_name(Ipv4Addr::new(10, 213, 0, 254)), "vbh0ad500fe");
        assert_ne!(
            veth_name(Ipv4Addr::new(10, 214, 7, 2)),
            veth_name(Ipv4Addr::new(10, 213, 0, 2))
        );
        assert!(veth_name(Ipv4Addr::new(255, 255, 255, 255)).len() <= 15);
        assert_eq!(netns_name("web1"), "berth-web1");
    }

    #[test]
    fn claims_are_exclusive_and_released_by_owner_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: dir.path().into(),
            ..Config::default()
        };
        let a = claim_address(&config, "a").expect("first claim");
        let b = claim_address(&config, "b").expect("second claim");
        assert_ne!(a, b);
        assert_eq!(a, Ipv4Addr::new(10, 213, 0, 2));
        release_address(&config, "b", a).expect("not b's: no-op");
        assert_eq!(claims(&config).len(), 2);
        release_address(&config, "a", a).expect("release");
        assert_eq!(claim_address(&config, "c").expect("reuse"), a);
    }

    #[test]
    fn nat_rules_are_tagged_and_scoped_to_the_bridge() {
        let rules = nat_rules(&Config::default());
        assert_eq!(rules.len(), 3);
        for (_, _, r) in &rules {
            assert!(r.contains(&RULE_COMMENT.to_string()));
            assert!(r.contains(&"berthbr0".to_string()));
        }
        let args = iptables("filter", "-I", "FORWARD", &rules[1].2);
        assert_eq!(&args[..6], ["-w", "-t", "filter", "-I", "FORWARD", "1"]);
    }
}
