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

/// The iptables rules (table, chain, rule) that give the subnet NAT and let the machines'
/// traffic through FORWARD — only theirs: what leaves the bridge from the subnet's own
/// addresses, and what comes back to it on connections they opened (conntrack
/// RELATED,ESTABLISHED). Nothing from elsewhere may open a connection to a machine through
/// these rules; whatever the host's own policy says about that still decides.
fn nat_rules(config: &Config) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let tag = |mut v: Vec<String>| {
        v.extend(["-m", "comment", "--comment", RULE_COMMENT].map(String::from));
        v
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let br = config.bridge.as_str();
    let cidr = config.cidr();
    vec![
        (
            "nat",
            "POSTROUTING",
            tag(s(&["-s", &cidr, "!", "-o", br]))
                .into_iter()
                .chain(s(&["-j", "MASQUERADE"]))
                .collect(),
        ),
        (
            "filter",
            "FORWARD",
            tag(s(&["-i", br, "-s", &cidr]))
                .into_iter()
                .chain(s(&["-j", "ACCEPT"]))
                .collect(),
        ),
        (
            "filter",
            "FORWARD",
            tag(s(&[
                "-o",
                br,
                "-d",
                &cidr,
                "-m",
                "conntrack",
                "--ctstate",
                "RELATED,ESTABLISHED",
            ]))
            .into_iter()
            .chain(s(&["-j", "ACCEPT"]))
            .collect(),
        ),
    ]
}

/// FORWARD rules an earlier berth added (accepting everything to and from the bridge,
/// whatever the state): removed wherever the current rules are added or dropped.
fn legacy_rules(config: &Config) -> Vec<Vec<String>> {
    let br = config.bridge.as_str();
    ["-i", "-o"]
        .into_iter()
        .map(|dir| {
            [
                dir,
                br,
                "-m",
                "comment",
                "--comment",
                RULE_COMMENT,
                "-j",
                "ACCEPT",
            ]
            .map(String::from)
            .to_vec()
        })
        .collect()
}

fn drop_legacy_rules(config: &Config) -> Result<(), NspawnError> {
    for rule in legacy_rules(config) {
        while iptables_ok(&iptables("filter", "-C", "FORWARD", &rule)) {
            run_iptables(&iptables("filter", "-D", "FORWARD", &rule))?;
        }
    }
    Ok(())
}

/// iptables arguments for `op` on `rule`; an insert (`-I`) goes to `position`.
fn iptables_at(
    table: &str,
    op: &str,
    chain: &str,
    rule: &[String],
    position: usize,
) -> Vec<String> {
    let mut args = vec![
        "-w".to_string(),
        "-t".into(),
        table.into(),
        op.into(),
        chain.into(),
    ];
    if op == "-I" {
        args.push(position.to_string());
    }
    args.extend(rule.iter().cloned());
    args
}

fn iptables(table: &str, op: &str, chain: &str, rule: &[String]) -> Vec<String> {
    iptables_at(table, op, chain, rule, 1)
}

/// Where berth's FORWARD rules go: right after the jump to DOCKER-USER if there is one (the
/// chain where an administrator restricts forwarding on a Docker host keeps the first word),
/// else first, so that a FORWARD policy of DROP (a Docker engine on this machine sets one)
/// does not cut the machines off. `listing` is `iptables -S FORWARD`.
fn forward_position(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| l.starts_with("-A FORWARD"))
        .position(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .ends_with(&["-j", "DOCKER-USER"])
        })
        .map_or(1, |i| i + 2)
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
    }
    // The gateway address is checked on its own, not only when the bridge is new: a process
    // killed between making the bridge and giving it its address (or anyone flushing it) would
    // otherwise leave every later machine booted but unreachable.
    let gateway = format!("{}/24", config.gateway());
    let addrs = run("ip", &["-4", "-o", "addr", "show", "dev", br])?;
    if !has_address(&addrs, &gateway) {
        run("ip", &["addr", "add", &gateway, "dev", br])?;
    }
    run("ip", &["link", "set", br, "up"])?;
    enable_forwarding(config)?;
    drop_legacy_rules(config)?;
    for (table, chain, rule) in nat_rules(config) {
        if !iptables_ok(&iptables(table, "-C", chain, &rule)) {
            let position = if chain == "FORWARD" {
                forward_position(&run("iptables", &["-w", "-t", table, "-S", chain])?)
            } else {
                1
            };
            run_iptables(&iptables_at(table, "-I", chain, &rule, position))?;
        }
    }
    Ok(())
}

/// Whether `ip -4 -o addr show` output lists `cidr` (`10.213.0.1/24`).
fn has_address(ip_output: &str, cidr: &str) -> bool {
    ip_output
        .lines()
        .any(|line| line.split_whitespace().any(|word| word == cidr))
}

const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// The record that berth turned forwarding on (it was off): `<data_dir>/ip_forward.berth`.
fn forwarding_record(config: &Config) -> std::path::PathBuf {
    config.data_dir.join("ip_forward.berth")
}

/// Turns IPv4 forwarding on, recording that berth did if it was off, so that the last machine
/// can turn it off again (caller holds the lock).
fn enable_forwarding(config: &Config) -> Result<(), NspawnError> {
    let was =
        fs::read_to_string(IP_FORWARD).map_err(NspawnError::io("could not read", IP_FORWARD))?;
    if was.trim() == "1" {
        return Ok(());
    }
    let record = forwarding_record(config);
    fs::write(&record, "0\n").map_err(NspawnError::io("could not write", &record))?;
    fs::write(IP_FORWARD, "1").map_err(NspawnError::io(
        "could not enable forwarding in",
        IP_FORWARD,
    ))
}

/// Turns forwarding off again if berth turned it on and no machine of any subnet is left
/// (every address claim gone, no berth bridge left); caller holds the lock.
fn restore_forwarding_if_unused(config: &Config) -> Result<(), NspawnError> {
    let record = forwarding_record(config);
    if !record.exists() || !claims(config).is_empty() || !berth_bridges().is_empty() {
        return Ok(());
    }
    fs::write(IP_FORWARD, "0").map_err(NspawnError::io("could not restore", IP_FORWARD))?;
    fs::remove_file(&record).map_err(NspawnError::io("could not remove", &record))
}

/// Whether berth turned forwarding on and has not turned it off again (for [`crate::leftovers`]).
pub(crate) fn forwarding_changed(config: &Config) -> bool {
    forwarding_record(config).exists()
}

/// The bridges berth made (`berth*` with a bridge/ folder).
pub(crate) fn berth_bridges() -> Vec<String> {
    let mut bridges: Vec<String> = fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with("berth") && Path::new("/sys/class/net").join(n).join("bridge").exists()
        })
        .collect();
    bridges.sort();
    bridges
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
    drop_legacy_rules(config)?;
    if Path::new("/sys/class/net").join(br).exists() {
        run("ip", &["link", "del", br])?;
    }
    restore_forwarding_if_unused(config)
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
        // The nested engine's containers reach out through the machine: forwarding on in the
        // machine's own namespace (it starts with the host's value), set from here because the
        // guest's /proc/sys is read-only (Isolation::Engine). The host's own setting is untouched.
        run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sh",
                "-c",
                "echo 1 > /proc/sys/net/ipv4/ip_forward",
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
    fn the_gateway_address_is_found_in_ip_output() {
        let out = "251: berthbr0    inet 10.213.0.1/24 scope global berthbr0\\       valid_lft forever preferred_lft forever\n";
        assert!(has_address(out, "10.213.0.1/24"));
        assert!(!has_address(out, "10.213.0.11/24"));
        assert!(!has_address("", "10.213.0.1/24"));
    }

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
            // Every rule names the machines' own subnet: nothing else is let through.
            assert!(r.contains(&"10.213.0.0/24".to_string()), "{r:?}");
        }
        // Back in only on connections the machines opened.
        assert!(
            rules[2]
                .2
                .join(" ")
                .contains("--ctstate RELATED,ESTABLISHED")
        );
        let args = iptables_at("filter", "-I", "FORWARD", &rules[1].2, 3);
        assert_eq!(&args[..6], ["-w", "-t", "filter", "-I", "FORWARD", "3"]);
    }

    #[test]
    fn forward_rules_go_after_docker_user() {
        assert_eq!(forward_position("-P FORWARD ACCEPT\n"), 1);
        let docker = "-P FORWARD DROP\n-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-FORWARD\n";
        assert_eq!(forward_position(docker), 2);
        let later = "-P FORWARD DROP\n-A FORWARD -i x -j ACCEPT\n-A FORWARD -j DOCKER-USER\n";
        assert_eq!(forward_position(later), 3);
    }

    /// Runs the test `name` again in a network and mount namespace of its own (with its own
    /// /sys and /run), where bridges, iptables rules and net.ipv4.ip_forward are private to it:
    /// true in that copy, false (after asserting it passed) in the caller.
    fn in_private_network(name: &str) -> bool {
        if std::env::var_os("BERTH_PRIVATE_NETWORK").is_some() {
            return true;
        }
        assert!(
            rustix::process::geteuid().is_root(),
            "{name} needs root: it makes a bridge, veths and iptables rules (in a network namespace of its own)"
        );
        let exe = std::env::current_exe().expect("the test binary");
        let status = std::process::Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(r#"mount -t sysfs sysfs /sys && mount -t tmpfs tmpfs /run && exec "$0" --exact "$1" --nocapture --test-threads=1"#)
            .arg(exe)
            .arg(name)
            .env("BERTH_PRIVATE_NETWORK", "1")
            .status()
            .expect("unshare (util-linux) runs");
        assert!(
            status.success(),
            "{name} failed in its own network namespace"
        );
        false
    }

    fn sh(script: &str) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs")
    }

    fn forwarding() -> String {
        fs::read_to_string(IP_FORWARD)
            .expect("ip_forward")
            .trim()
            .to_owned()
    }

    /// A one-connection TCP listener in netns `ns` on port 7777, started once it listens.
    fn listen(ns: &str) -> std::process::Child {
        use std::io::BufRead;
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "python3", "-c"])
            .arg("import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',7777))\ns.listen()\nprint('ready',flush=True)\ns.accept()")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("listener says ready");
        assert_eq!(line.trim(), "ready");
        child
    }

    /// Whether a TCP connection from netns `ns` to `addr`:7777 opens within 2 s.
    fn connects(ns: &str, addr: &str) -> bool {
        sh(&format!(
            "ip netns exec {ns} timeout 2 bash -c 'exec 3<>/dev/tcp/{addr}/7777'"
        ))
        .status
        .success()
    }

    #[test]
    fn only_the_machines_own_traffic_is_forwarded_and_forwarding_is_restored() {
        let name =
            "network::tests::only_the_machines_own_traffic_is_forwarded_and_forwarding_is_restored";
        if !in_private_network(name) {
            return;
        }
        let tmp = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: tmp.path().into(),
            bridge: "berthtest0".into(),
            subnet: [10, 213, 250],
            ..Config::default()
        };
        // A new namespace starts with the host's value: begin where berth has to turn it on.
        fs::write(IP_FORWARD, "0").expect("forwarding off");
        // An administrator's chain that must keep the first word, and a policy that drops.
        for cmd in [
            "iptables -N DOCKER-USER",
            "iptables -A FORWARD -j DOCKER-USER",
            "iptables -P FORWARD DROP",
            // A neighbour outside the machines' network, routed through this machine.
            "ip netns add out",
            "ip link add vout type veth peer name eth0 netns out",
            "ip addr add 192.0.2.1/24 dev vout && ip link set vout up",
            "ip -n out addr add 192.0.2.2/24 dev eth0 && ip -n out link set eth0 up && ip -n out link set lo up",
            "ip -n out route add 10.213.250.0/24 via 192.0.2.1",
        ] {
            assert!(sh(cmd).status.success(), "{cmd}");
        }

        let addr = claim_address(&config, "m1").expect("claim");
        attach(&config, "m1", addr).expect("attach");
        assert_eq!(forwarding(), "1");
        let listing = String::from_utf8_lossy(&sh("iptables -S FORWARD").stdout).into_owned();
        assert!(
            listing
                .lines()
                .nth(1)
                .is_some_and(|l| l.ends_with("-j DOCKER-USER")),
            "berth's rules went ahead of DOCKER-USER:\n{listing}"
        );

        // The neighbour cannot open a connection to the machine...
        let mut machine = listen(&netns_name("m1"));
        assert!(
            !connects("out", &addr.to_string()),
            "a connection from outside was forwarded to the machine:\n{listing}"
        );
        let _ = machine.kill();
        let _ = machine.wait();
        // ...but the machine reaches the neighbour, and the replies come back.
        let mut neighbour = listen("out");
        assert!(
            connects(&netns_name("m1"), "192.0.2.2"),
            "the machine's own connection out was not forwarded:\n{listing}"
        );
        let _ = neighbour.kill();
        let _ = neighbour.wait();

        detach(&config, "m1", addr).expect("detach");
        assert_eq!(
            forwarding(),
            "1",
            "forwarding went off while a (stopped) machine exists"
        );
        release(&config, "m1", addr).expect("release");
        assert_eq!(
            forwarding(),
            "0",
            "forwarding was left on after the last machine"
        );
        assert!(tagged_rules().is_empty(), "{:?}", tagged_rules());
        assert!(!forwarding_changed(&config));

        // Forwarding someone else turned on stays on.
        fs::write(IP_FORWARD, "1").expect("enable");
        let addr = claim_address(&config, "m2").expect("claim");
        attach(&config, "m2", addr).expect("attach");
        detach(&config, "m2", addr).expect("detach");
        release(&config, "m2", addr).expect("release");
        assert_eq!(
            forwarding(),
            "1",
            "berth turned off forwarding it had not turned on"
        );
    }
}
