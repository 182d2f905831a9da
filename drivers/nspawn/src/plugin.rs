//! The `nspawn` driver: berth's Driver trait over [`Machine`], served as the plugin executable
//! `berth-driver-nspawn` (src/bin). berth then provisions the machine over SSH like any host.

use sha2::Digest as _;
use std::path::Path;
use std::process::Command;

use berth_plugin::{
    CreateRequest, Created, Driver, DriverError, FlagKind, FlagSpec, GuestEngine, GuestFile,
    MachineRef, MachineState, Operation, SshEndpoint,
};
use serde::{Deserialize, Serialize};

use crate::{Config, Machine, State};

const NAME: &str = "nspawn";
const RELEASE: &str = "nspawn-release";
const SUBNET: &str = "nspawn-subnet";
/// The store's token for the machine, in berth's machine folder (see [`store_token`]).
const TOKEN_FILE: &str = "nspawn-owner";
/// The only release the cached root is built for today.
const SUPPORTED_RELEASE: &str = "bookworm";

/// Local Debian machines in systemd-nspawn.
#[derive(Debug, Default)]
pub struct NspawnDriver;

/// What berth keeps for the driver in the machine's record.
#[derive(Debug, Serialize, Deserialize)]
struct Data {
    /// The nspawn machine's name (berth names may hold characters nspawn names cannot).
    machine: String,
    /// The /24 the machine's address is in, as `a.b.c`.
    subnet: String,
}

fn failed(operation: &str, err: impl std::fmt::Display) -> DriverError {
    DriverError::Failed {
        driver: NAME.into(),
        operation: operation.into(),
        message: err.to_string(),
    }
}

fn invalid(flag: &str, reason: impl Into<String>) -> DriverError {
    DriverError::InvalidFlag {
        driver: NAME.into(),
        flag: flag.into(),
        reason: reason.into(),
    }
}

/// A machine name nspawn, network namespaces and interface names accept: lowercase letters,
/// digits and `-`, short. A name that had to change gets a hash so two berth names never meet.
fn nspawn_name(berth_name: &str) -> String {
    let clean: String = berth_name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let clean = clean.trim_matches('-').to_owned();
    if clean == berth_name && clean.len() <= 24 {
        return clean;
    }
    // A stable hash (not std's DefaultHasher, which may change between Rust releases): `rm` of
    // an interrupted create derives this name again, perhaps with a newer build.
    let digest = sha2::Sha256::digest(berth_name.as_bytes());
    let short: String = clean.chars().take(15).collect();
    format!(
        "{}-{:02x}{:02x}{:02x}{:02x}",
        short.trim_matches('-'),
        digest[0],
        digest[1],
        digest[2],
        digest[3]
    )
}

fn parse_subnet(text: &str) -> Result<[u8; 3], DriverError> {
    let mut parts: Vec<&str> = text.trim_end_matches("/24").split('.').collect();
    if parts.len() == 4 && parts[3] == "0" {
        parts.pop();
    }
    let octets: Option<Vec<u8>> = parts.iter().map(|p| p.parse().ok()).collect();
    match octets.as_deref() {
        Some([a, b, c])
            if *a == 10 || (*a == 172 && (16..32).contains(b)) || (*a == 192 && *b == 168) =>
        {
            if [*a, *b, *c] == [10, 88, 0] {
                return Err(invalid(
                    SUBNET,
                    "10.88.0.0/24 is used by other tooling on this machine; pick another /24",
                ));
            }
            Ok([*a, *b, *c])
        }
        _ => Err(invalid(
            SUBNET,
            format!("{text:?} is not the first three octets of a private /24, e.g. 10.213.0"),
        )),
    }
}

fn config_for(subnet: [u8; 3]) -> Config {
    let config = Config {
        engine_preinstalled: true,
        ..Config::default()
    };
    if subnet == config.subnet {
        return config;
    }
    // Another /24 is another network: its own bridge, so the two never share addresses.
    Config {
        subnet,
        bridge: format!("berth{}-{}", subnet[1], subnet[2]),
        ..config
    }
}

impl Data {
    fn from_ref(m: &MachineRef) -> Result<Self, DriverError> {
        serde_json::from_value(m.data.clone()).map_err(|e| DriverError::InvalidData {
            driver: NAME.into(),
            machine: m.name.clone(),
            reason: e.to_string(),
        })
    }

    /// The machine, if it belongs to the store asking (see [`Ownership`]); `operation` names
    /// what was asked, for the refusal.
    fn open(&self, m: &MachineRef, operation: &str) -> Result<Machine, DriverError> {
        let config = config_for(parse_subnet(&self.subnet)?);
        let machine =
            Machine::open(&config, &self.machine).map_err(|e| DriverError::MachineNotFound {
                driver: NAME.into(),
                machine: m.name.clone(),
                detail: e.to_string(),
            })?;
        match ownership(&machine, m) {
            // A machine from before owners were recorded: berth's own data named it.
            Ownership::Ours | Ownership::Unrecorded => Ok(machine),
            Ownership::Others => Err(not_ours(&machine, m, operation)),
        }
    }
}

/// Whose a local machine is. Machines of every berth store share one data folder
/// (/var/lib/berth/nspawn), so a name alone does not say: create records a random token in
/// both berth's machine folder and the nspawn machine's own, and only the store holding the
/// same token may touch the machine.
#[derive(Debug, PartialEq, Eq)]
enum Ownership {
    /// The tokens match.
    Ours,
    /// The machine records another owner, or the asking store has no token for it.
    Others,
    /// The machine records no owner (made before owners were recorded).
    Unrecorded,
}

fn ownership(machine: &Machine, m: &MachineRef) -> Ownership {
    let Some(owner) = machine.owner() else {
        return Ownership::Unrecorded;
    };
    match std::fs::read_to_string(m.machine_dir.join(TOKEN_FILE)) {
        Ok(token) if !token.trim().is_empty() && token.trim() == owner.trim() => Ownership::Ours,
        _ => Ownership::Others,
    }
}

fn not_ours(machine: &Machine, m: &MachineRef, operation: &str) -> DriverError {
    failed(
        operation,
        format!(
            "the local machine `{}` ({}) was made by another berth store, not the one holding {}; \
             berth does not touch it from here. Use the store that made it (--storage-path), or \
             `berth rm -f {}` to drop only this store's record",
            machine.name(),
            machine.dir().display(),
            m.machine_dir.display(),
            m.name
        ),
    )
}

/// This store's token for the machine being made in `dir`: the one a previous attempt wrote,
/// or a new random one (written 0600 with O_EXCL, so two processes agree on one).
fn store_token(dir: &Path) -> Result<String, DriverError> {
    use std::io::{Read as _, Write as _};
    use std::os::unix::fs::OpenOptionsExt as _;
    let path = dir.join(TOKEN_FILE);
    if let Ok(token) = std::fs::read_to_string(&path)
        && !token.trim().is_empty()
    {
        return Ok(token.trim().to_owned());
    }
    let mut raw = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .map_err(|e| {
            failed(
                "create",
                format!("cannot read /dev/urandom for the owner token: {e}"),
            )
        })?;
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| failed("create", format!("cannot write {}: {e}", path.display())))?;
    file.write_all(token.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| failed("create", format!("cannot write {}: {e}", path.display())))?;
    Ok(token)
}

/// Makes the machine's SSH key pair in its berth folder (the private key never leaves it).
fn make_key(dir: &Path) -> Result<String, DriverError> {
    let key = dir.join("id_ed25519");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(key.with_extension("pub"));
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "berth", "-f"])
        .arg(&key)
        .status()
        .map_err(|e| {
            failed(
                "create",
                format!(
                    "cannot run ssh-keygen ({e}); install it with `apt-get install openssh-client`"
                ),
            )
        })?;
    if !status.success() {
        return Err(failed(
            "create",
            format!("ssh-keygen failed ({status}) making {}", key.display()),
        ));
    }
    std::fs::read_to_string(key.with_extension("pub")).map_err(|e| failed("create", e))
}

impl Driver for NspawnDriver {
    fn name(&self) -> &str {
        NAME
    }

    fn supports(&self, _op: Operation) -> bool {
        true
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        let default_subnet = Config::default().subnet;
        Ok(vec![
            FlagSpec::new(
                RELEASE,
                FlagKind::String,
                "Debian release of the machine. Isolation: the guest has nspawn's default \
                 capabilities plus CAP_NET_ADMIN (no CAP_SYS_MODULE, SYS_RAWIO, SYS_TIME, BPF), \
                 read-only /proc/sys and /sys, and no user namespace: it keeps CAP_SYS_ADMIN and \
                 shares this computer's kernel, so whoever holds its client certificate is root \
                 in it and must be trusted like root here (docs/nspawn.md)",
                Some(SUPPORTED_RELEASE),
            ),
            FlagSpec::new(
                SUBNET,
                FlagKind::String,
                "The private /24 local machines get addresses in (first three octets)",
                Some(&format!(
                    "{}.{}.{}",
                    default_subnet[0], default_subnet[1], default_subnet[2]
                )),
            ),
        ])
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        let release = req
            .string_flag(NAME, RELEASE)?
            .unwrap_or_else(|| SUPPORTED_RELEASE.into());
        if release != SUPPORTED_RELEASE {
            return Err(invalid(
                RELEASE,
                format!("only {SUPPORTED_RELEASE} (Debian 12) is supported, not {release:?}"),
            ));
        }
        let subnet_text = req.string_flag(NAME, SUBNET)?.unwrap_or_default();
        let subnet = if subnet_text.is_empty() {
            Config::default().subnet
        } else {
            parse_subnet(&subnet_text)?
        };
        let config = config_for(subnet);
        crate::preflight().map_err(|e| failed("create", e))?;
        let public_key = make_key(&req.machine_dir)?;
        let token = store_token(&req.machine_dir)?;
        let name = nspawn_name(&req.machine);
        if !crate::image::engine_root_path(&config).is_dir() {
            progress("building the Debian root with the engine (first time only, a minute or two)");
        }
        let machine = Machine::create_owned(&config, &name, &public_key, Some(&token))
            .map_err(|e| failed("create", e))?;
        // berth can hand over the engine's files before the first boot: answer with the
        // engine's layout and boot in `start_with_files`, so the engine starts once, with TLS.
        let boot_pending = if req.preboot {
            machine
                .engine_layout()
                .map(|(dockerd_path, socket_activated)| GuestEngine {
                    dockerd_path,
                    socket_activated,
                })
        } else {
            None
        };
        // With `boot_pending`, `start_with_files` boots it; berth has its record by then.
        if boot_pending.is_none() {
            progress("booting");
            if let Err(err) = machine.start() {
                // Nothing half-made is left: berth would have no record of it to remove.
                let log = machine.log_tail();
                let _ = machine.remove();
                return Err(failed("create", format!("{err}\n{log}")));
            }
        }
        Ok(Created {
            ssh: Some(SshEndpoint {
                host: machine.address().to_string(),
                port: machine.ssh_port(),
                user: "root".into(),
                key_path: Some(req.machine_dir.join("id_ed25519")),
            }),
            engine_url: None,
            engine_port: None,
            boot_pending,
            data: serde_json::to_value(Data {
                machine: name,
                subnet: format!("{}.{}.{}", subnet[0], subnet[1], subnet[2]),
            })
            .map_err(|e| failed("create", e))?,
        })
    }

    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        let machine = Data::from_ref(m)?.open(m, "start")?;
        if machine.state() == State::Running {
            return Ok(());
        }
        progress("booting");
        machine.start().map_err(|e| failed("start", e))
    }

    fn start_with_files(
        &self,
        m: &MachineRef,
        files: &[GuestFile],
        progress: &dyn Fn(&str),
    ) -> Result<(), DriverError> {
        let machine = Data::from_ref(m)?.open(m, "start")?;
        if machine.state() == State::Running {
            return Ok(());
        }
        progress("booting");
        machine
            .start_with(files)
            .map_err(|e| failed("start", format!("{e}\n{}", machine.log_tail())))
    }

    fn stop(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        let machine = Data::from_ref(m)?.open(m, "stop")?;
        progress("powering off");
        machine.poweroff().map_err(|e| failed("stop", e))
    }

    fn kill(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        let machine = Data::from_ref(m)?.open(m, "kill")?;
        progress("pulling the plug");
        machine.kill().map_err(|e| failed("kill", e))
    }

    fn remove(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        let (data, derived) = match Data::from_ref(m) {
            Ok(data) => (data, false),
            // A create interrupted before it answered (or refused because the name was taken)
            // left no data: the machine, if it got that far, has the name create derives from
            // berth's, on the default network — and is this store's only if its owner says so.
            Err(_) if m.data.is_null() || m.data.as_object().is_some_and(|o| o.is_empty()) => {
                let [a, b, c] = Config::default().subnet;
                let data = Data {
                    machine: nspawn_name(&m.name),
                    subnet: format!("{a}.{b}.{c}"),
                };
                (data, true)
            }
            Err(e) => return Err(e),
        };
        let machine = if derived {
            let config = config_for(parse_subnet(&data.subnet)?);
            let Ok(machine) = Machine::open(&config, &data.machine) else {
                return Ok(());
            };
            if ownership(&machine, m) != Ownership::Ours {
                // Found by name only, and not made by this store: another store's machine.
                progress(&format!(
                    "the local machine `{}` belongs to another berth store; leaving it alone",
                    machine.name()
                ));
                return Ok(());
            }
            machine
        } else {
            match data.open(m, "remove") {
                Ok(machine) => machine,
                Err(DriverError::MachineNotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            }
        };
        progress("removing the machine");
        machine.remove().map_err(|e| failed("remove", e))
    }

    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        let data = Data::from_ref(m)?;
        match data.open(m, "read the state of") {
            Ok(machine) => Ok(match machine.state() {
                State::Running => MachineState::Running,
                State::Stopped => MachineState::Stopped,
            }),
            Err(DriverError::MachineNotFound { .. }) => Ok(MachineState::NotFound),
            Err(e) => Err(e),
        }
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        let machine = Data::from_ref(m)?.open(m, "reach")?;
        Ok(SshEndpoint {
            host: machine.address().to_string(),
            port: machine.ssh_port(),
            user: "root".into(),
            key_path: Some(m.machine_dir.join("id_ed25519")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berth_names_become_valid_nspawn_names() {
        assert_eq!(nspawn_name("demo"), "demo");
        for name in [
            "Web.1",
            "a.very-long-machine-name-that-goes-on.example.com",
            "UPPER",
        ] {
            let mapped = nspawn_name(name);
            assert!(
                crate::machine::validate_name(&mapped).is_ok(),
                "{name} -> {mapped}"
            );
        }
        assert_ne!(nspawn_name("web.1"), nspawn_name("web-1"));
    }

    #[test]
    fn a_machine_is_only_the_store_s_whose_token_it_records() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let config = Config {
            data_dir: tmp.path().join("data"),
            ..Config::default()
        };
        let dir = config.machine_dir("web");
        std::fs::create_dir_all(&dir).expect("machine folder");
        std::fs::write(dir.join("address"), "10.213.0.9").expect("address");
        std::fs::write(dir.join("lower"), "/nowhere").expect("lower");
        let machine = Machine::open(&config, "web").expect("open");
        let store = |name: &str, token: Option<&str>| {
            let machine_dir = tmp.path().join(name).join("web");
            std::fs::create_dir_all(&machine_dir).expect("store folder");
            if let Some(t) = token {
                std::fs::write(machine_dir.join(TOKEN_FILE), t).expect("token");
            }
            MachineRef {
                name: "web".into(),
                machine_dir,
                data: serde_json::Value::Null,
            }
        };
        let (a, b, none) = (
            store("a", Some("aaaa")),
            store("b", Some("bbbb")),
            store("c", None),
        );
        assert_eq!(ownership(&machine, &a), Ownership::Unrecorded);
        std::fs::write(dir.join("owner"), "aaaa").expect("owner");
        assert_eq!(ownership(&machine, &a), Ownership::Ours);
        assert_eq!(ownership(&machine, &b), Ownership::Others);
        assert_eq!(ownership(&machine, &none), Ownership::Others);
        let err = not_ours(&machine, &b, "remove").to_string();
        assert!(err.contains("another berth store"), "{err}");
        // A store's token, once written, is what every later attempt in that folder uses.
        let token = store_token(&none.machine_dir).expect("new token");
        assert_eq!(token.len(), 32);
        assert_eq!(store_token(&none.machine_dir).expect("same token"), token);
        assert_ne!(
            store_token(&store("d", None).machine_dir).expect("other"),
            token
        );
    }

    #[test]
    fn subnets_must_be_private_and_not_reserved() {
        assert_eq!(parse_subnet("10.213.0").expect("ok"), [10, 213, 0]);
        assert_eq!(parse_subnet("192.168.77.0/24").expect("ok"), [192, 168, 77]);
        assert!(parse_subnet("10.88.0").is_err());
        assert!(parse_subnet("8.8.8").is_err());
        assert!(parse_subnet("nonsense").is_err());
    }
}
