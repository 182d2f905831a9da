//! A fake host for testing the provisioning flow: it recognises berth's
//! scripts in the commands it is sent and applies their effects to an
//! in-memory host, recording every command. The scripts themselves are tested
//! in a real shell in `scripts_tests.rs`; this checks the flow around them.

#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::facts::DETECT_SCRIPT;
use crate::flow::{CONFIGURE_SCRIPT, HOSTNAME_SCRIPT, INSTALL_SCRIPT, WRITE_FILES_SCRIPT};
use crate::remote::{Output, Remote, RemoteError};

pub(crate) const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";

/// One command as the host received it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub sudo: bool,
    pub script: &'static str,
    pub args: Vec<String>,
}

pub(crate) struct FakeHost {
    pub user: String,
    pub uid: u32,
    pub sudo_ok: bool,
    pub os_release: String,
    pub systemd: bool,
    pub hostname: RefCell<String>,
    pub hosts_line: RefCell<String>,
    pub dockerd: RefCell<Option<String>>,
    /// Whether the engine package ships docker.socket (Debian's docker.io does); the unit
    /// exists only once the engine is installed.
    pub socket: bool,
    pub active: Cell<bool>,
    pub files: RefCell<BTreeMap<String, (String, Vec<u8>)>>,
    pub restarts: Cell<u32>,
    /// Starts of a stopped engine with nothing changed (configure.sh's `systemctl start`).
    pub starts: Cell<u32>,
    pub install_fails: bool,
    pub start_fails: bool,
    pub sent: RefCell<Vec<Sent>>,
    /// More detection lines (other drop-ins).
    pub extra_detect: String,
    /// Whether `ss` shows dockerd listening on 2376 to everyone.
    pub listening: Cell<bool>,
    /// How many seconds the host's clock is off this computer's.
    pub clock_offset: Cell<i64>,
}

impl FakeHost {
    /// A Debian 12 host reached as root, with or without docker.io installed.
    pub(crate) fn debian(engine: bool) -> Self {
        Self {
            user: "root".into(),
            uid: 0,
            sudo_ok: true,
            os_release: DEBIAN_12.into(),
            systemd: true,
            hostname: RefCell::new("debian".into()),
            hosts_line: RefCell::new("127.0.1.1\tdebian".into()),
            dockerd: RefCell::new(engine.then(|| "/usr/sbin/dockerd".to_owned())),
            socket: true,
            active: Cell::new(engine),
            files: RefCell::new(BTreeMap::new()),
            restarts: Cell::new(0),
            starts: Cell::new(0),
            install_fails: false,
            start_fails: false,
            sent: RefCell::new(Vec::new()),
            extra_detect: String::new(),
            listening: Cell::new(false),
            clock_offset: Cell::new(0),
        }
    }

    pub(crate) fn scripts(&self) -> Vec<&'static str> {
        self.sent.borrow().iter().map(|s| s.script).collect()
    }

    pub(crate) fn file(&self, path: &str) -> Option<(String, String)> {
        self.files
            .borrow()
            .get(path)
            .map(|(mode, bytes)| (mode.clone(), String::from_utf8(bytes.clone()).unwrap()))
    }

    fn ok(stdout: String) -> Output {
        Output {
            status: 0,
            stdout: stdout.into_bytes(),
            stderr: Vec::new(),
        }
    }

    fn detect(&self) -> Output {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut out = format!("uid={}\nnow={}\n", self.uid, now + self.clock_offset.get());
        for line in self.os_release.lines() {
            out.push_str(&format!("os.{line}\n"));
        }
        let engine = self.dockerd.borrow().is_some();
        out.push_str(&format!(
            "systemd={}\nhostname={}\naddress=eth0 10.0.0.5\naddress=eth0 fd00::5\ndockerd={}\nsocket={}\nservice={}\nactive={}\ncloud_init=0\nhosts={}\n",
            u8::from(self.systemd),
            self.hostname.borrow(),
            self.dockerd.borrow().clone().unwrap_or_default(),
            u8::from(self.socket && engine),
            u8::from(engine),
            u8::from(self.active.get()),
            self.hosts_line.borrow(),
        ));
        if self.uid != 0 {
            out.push_str(&format!("sudo={}\n", u8::from(self.sudo_ok)));
        }
        out.push_str(&self.extra_detect);
        let files = self.files.borrow();
        if let Some((_, dropin)) = files.get(crate::DROPIN_PATH) {
            for line in String::from_utf8_lossy(dropin).lines() {
                if let Some(hosts) = line.strip_prefix("# hosts from daemon.json: ") {
                    out.push_str(&format!("moved_hosts={hosts}\n"));
                }
            }
        }
        if let Some((_, json)) = files.get(crate::DAEMON_JSON_PATH) {
            out.push_str("--- daemon.json\n");
            out.push_str(&String::from_utf8_lossy(json));
        }
        Self::ok(out)
    }

    fn write_files(&self, args: &[String], stdin: &[u8]) -> Output {
        let mut changed = false;
        let mut offset = 0;
        for triple in args.chunks(3) {
            let size: usize = triple[2].parse().unwrap();
            let bytes = stdin[offset..offset + size].to_vec();
            offset += size;
            let mut files = self.files.borrow_mut();
            let old = files.insert(triple[0].clone(), (triple[1].clone(), bytes.clone()));
            changed |= old.is_none_or(|(_, b)| b != bytes);
        }
        Self::ok(format!("changed={}\n", u8::from(changed)))
    }

    fn configure(&self, args: &[String], stdin: &[u8]) -> Output {
        let path = &args[0];
        let certs_changed = args[2] == "1";
        let size: usize = args[1].parse().unwrap();
        let (stdin, daemon) = stdin.split_at(size);
        let mut files = self.files.borrow_mut();
        let mut daemon_changed = false;
        // configure.sh's arguments: drop-in path, size, certs changed, mode, daemon.json path, size.
        if args[5] != "-" {
            let old = files.get(&args[4]).map(|(_, b)| b.clone());
            if old.as_deref() != Some(daemon) {
                files.insert(args[4].clone(), ("0644".into(), daemon.to_vec()));
                daemon_changed = true;
            }
        }
        let old = files.get(path).cloned();
        let changed = old.as_ref().is_none_or(|(_, b)| b != stdin);
        if changed {
            if let Some(old) = old.clone() {
                files.insert(format!("{path}.previous"), old);
            }
            files.insert(path.clone(), (args[3].clone(), stdin.to_vec()));
        }
        let mut restarted = false;
        let restart = changed || daemon_changed || certs_changed;
        if restart || !self.active.get() {
            if self.start_fails {
                // As configure.sh does: the previous drop-in back, the old engine started again.
                match old {
                    Some(old) => files.insert(path.clone(), old),
                    None => files.remove(path),
                };
                let was_active = self.active.get();
                return Output {
                    status: 42,
                    stdout: format!(
                        "docker.service - Docker Application Container Engine\n   Active: failed\nunknown flag: --bogus\nrollback={}\n",
                        if was_active { "running" } else { "stopped" }
                    )
                    .into_bytes(),
                    stderr: Vec::new(),
                };
            }
            self.active.set(true);
            // As configure.sh does: a stopped engine with nothing changed is started, which
            // stops nothing and is no restart.
            if restart {
                self.restarts.set(self.restarts.get() + 1);
                restarted = true;
            } else {
                self.starts.set(self.starts.get() + 1);
            }
        }
        Self::ok(format!(
            "changed={}\nrestarted={}\n",
            u8::from(changed),
            u8::from(restarted)
        ))
    }

    fn handle(&self, cmd: &str, stdin: &[u8]) -> Output {
        let mut words = shlex::split(cmd).unwrap();
        let sudo = words.first().is_some_and(|w| w == "sudo");
        if sudo {
            assert_eq!(words[1], "-n", "sudo must never prompt");
            assert!(self.sudo_ok, "sudo used without passwordless sudo");
            words.drain(..2);
        }
        if words.first().is_some_and(|w| w == "systemctl") {
            return Output {
                status: if self.active.get() { 0 } else { 3 },
                ..Output::default()
            };
        }
        assert_eq!(&words[..2], ["sh", "-c"], "{cmd}");
        assert_eq!(words[3], "berth");
        let body = words[2].clone();
        let args: Vec<String> = words[4..].to_vec();
        let known: [&'static str; 5] = [
            DETECT_SCRIPT,
            HOSTNAME_SCRIPT,
            INSTALL_SCRIPT,
            WRITE_FILES_SCRIPT,
            CONFIGURE_SCRIPT,
        ];
        let script = known
            .into_iter()
            .find(|s| body.ends_with(s))
            .unwrap_or("other");
        self.sent.borrow_mut().push(Sent {
            sudo,
            script,
            args: args.clone(),
        });
        if script == DETECT_SCRIPT {
            self.detect()
        } else if script == HOSTNAME_SCRIPT {
            *self.hostname.borrow_mut() = args[0].clone();
            *self.hosts_line.borrow_mut() = format!("127.0.1.1\t{}", args[0]);
            Self::ok(String::new())
        } else if script == INSTALL_SCRIPT {
            if self.install_fails {
                return Output {
                    status: 100,
                    stdout: b"Reading package lists...\nBuilding dependency tree...\n".to_vec(),
                    stderr: b"E: Unable to locate package docker.io\n".to_vec(),
                };
            }
            *self.dockerd.borrow_mut() = Some("/usr/sbin/dockerd".into());
            self.active.set(true);
            Self::ok("Setting up docker.io (20.10.24+dfsg1-1+b3) ...\n".into())
        } else if script == WRITE_FILES_SCRIPT {
            self.write_files(&args, stdin)
        } else if script == CONFIGURE_SCRIPT {
            self.configure(&args, stdin)
        } else if body.contains("ss -Hltn") {
            assert_eq!(args, ["2376"]);
            Self::ok(if self.listening.get() {
                "LISTEN 0.0.0.0:2376\n".into()
            } else {
                String::new()
            })
        } else if body.contains("journalctl") {
            Self::ok("dockerd[42]: API listen on [::]:2376\n".into())
        } else {
            panic!("unexpected command: {cmd}")
        }
    }
}

impl Remote for FakeHost {
    fn user(&self) -> &str {
        &self.user
    }

    fn run(&self, cmd: &str) -> Result<Output, RemoteError> {
        Ok(self.handle(cmd, &[]))
    }

    fn run_with_stdin(&self, cmd: &str, stdin: &[u8]) -> Result<Output, RemoteError> {
        Ok(self.handle(cmd, stdin))
    }
}
