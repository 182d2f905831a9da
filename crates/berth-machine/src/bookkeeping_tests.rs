//! The bookkeeping of create, provision and remove, step by step, with a fake driver and a fake
//! remote and no host: whatever step fails, the record on disk says what happened (state and
//! error) and the next command can finish or remove the machine; nothing half-made is lost.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use berth_plugin::{
    Capabilities, CreateRequest, Created, Driver, DriverError, FlagSpec, MachineRef,
    MachineState as DriverState, Operation, SshEndpoint,
};
use berth_store::Store;

use crate::create::{CreateSpec, create};
use crate::driver::Machines;
use crate::event::Event;
use crate::record::{ContextSettings, MachineRecord, MachineState};
use crate::remove::{Removed, remove};

/// What the fake driver's `create` answers.
#[derive(Clone)]
enum Answer {
    /// A host reachable over SSH at this port of 127.0.0.1.
    SshAt(u16),
    /// An SSH host that no shell or OpenSSH must receive.
    UnsafeHost,
    /// Only an engine URL (as `none` answers).
    EngineOnly(&'static str),
    /// The driver's own failure.
    Fails,
    /// The driver refused a flag.
    RefusesFlag,
}

/// A driver that owns its hosts, answers `create` as told, and logs every call.
#[derive(Clone)]
struct FakeDriver {
    answer: Answer,
    remove_fails: bool,
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakeDriver {
    fn new(answer: Answer) -> Self {
        FakeDriver {
            answer,
            remove_fails: false,
            calls: Arc::default(),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn log(&self, call: &str) {
        self.calls.lock().unwrap().push(call.to_owned());
    }

    fn failed(&self, operation: &str) -> DriverError {
        DriverError::Failed {
            driver: "fake".into(),
            operation: operation.into(),
            message: "the fake cloud said no".into(),
        }
    }
}

impl Driver for FakeDriver {
    fn name(&self) -> &str {
        "fake"
    }
    fn supports(&self, _op: Operation) -> bool {
        true
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            owns_host: true,
            has_ssh: true,
            reboots_over_ssh: false,
        }
    }
    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        Ok(Vec::new())
    }
    fn create(&self, req: &CreateRequest, _p: &dyn Fn(&str)) -> Result<Created, DriverError> {
        self.log(&format!("create {}", req.machine));
        let ssh = |host: &str, port: u16| SshEndpoint {
            host: host.into(),
            port,
            user: "root".into(),
            key_path: None,
        };
        let created = |ssh: Option<SshEndpoint>, url: Option<&str>| Created {
            ssh,
            engine_url: url.map(str::to_owned),
            engine_port: None,
            data: serde_json::json!({ "instance": "i-123" }),
            boot_pending: None,
        };
        match &self.answer {
            Answer::SshAt(port) => Ok(created(Some(ssh("127.0.0.1", *port)), None)),
            Answer::UnsafeHost => Ok(created(
                Some(ssh("127.0.0.1\n  ProxyCommand touch /tmp/x", 22)),
                None,
            )),
            Answer::EngineOnly(url) => Ok(created(None, Some(url))),
            Answer::Fails => Err(self.failed("create")),
            Answer::RefusesFlag => Err(DriverError::InvalidFlag {
                driver: "fake".into(),
                flag: "fake-size".into(),
                reason: "no such size".into(),
            }),
        }
    }
    fn start(&self, _m: &MachineRef, _p: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.log("start");
        Ok(())
    }
    fn stop(&self, _m: &MachineRef, _p: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.log("stop");
        Ok(())
    }
    fn kill(&self, _m: &MachineRef, _p: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.log("kill");
        Ok(())
    }
    fn remove(&self, m: &MachineRef, _p: &dyn Fn(&str)) -> Result<(), DriverError> {
        self.log(&format!("remove {}", m.name));
        if self.remove_fails {
            return Err(self.failed("remove"));
        }
        Ok(())
    }
    fn state(&self, _m: &MachineRef) -> Result<DriverState, DriverError> {
        Ok(DriverState::Running)
    }
    fn ssh_endpoint(&self, _m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        Err(self.failed("say where"))
    }
}

/// A store in a temporary folder whose every driver is `driver`.
fn machines_with(driver: &FakeDriver) -> (tempfile::TempDir, Machines) {
    let dir = tempfile::tempdir().unwrap();
    let mut machines = Machines::new(Store::new(dir.path().join("machines")));
    let fake = driver.clone();
    machines.fake_driver = Some(crate::driver::FakeOpener(Arc::new(move || {
        Box::new(fake.clone()) as Box<dyn Driver>
    })));
    (dir, machines)
}

fn spec() -> CreateSpec {
    CreateSpec {
        flags: BTreeMap::new(),
        engine: Default::default(),
        algorithm: Default::default(),
        tls_sans: Vec::new(),
        host_key: None,
        // No docker CLI folder is touched by these tests.
        context: ContextSettings {
            name: None,
            disabled: true,
        },
    }
}

fn record_of(machines: &Machines, name: &str) -> MachineRecord {
    machines
        .load(name)
        .expect("the record is kept and loads")
        .record()
        .clone()
}

fn quiet(_: Event<'_>) {}

#[test]
fn a_driver_failure_keeps_the_machine_in_state_error_for_rm() {
    let driver = FakeDriver::new(Answer::Fails);
    let (_dir, machines) = machines_with(&driver);
    let err = create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap_err();
    assert!(err.full_message().contains("`berth rm web1`"), "{err}");
    let record = record_of(&machines, "web1");
    assert_eq!(record.state, MachineState::Error);
    assert!(
        record
            .error
            .as_deref()
            .unwrap()
            .contains("the fake driver could not create the host"),
        "{:?}",
        record.error
    );
    assert!(record.driver_data.is_empty());

    // rm asks the driver (it may find what it made by name) and the record goes.
    assert_eq!(
        remove(&machines, "web1", false, &mut quiet).unwrap(),
        Removed::Everything
    );
    assert!(machines.load("web1").is_err());
    assert_eq!(driver.calls(), ["create web1", "remove web1"]);
}

#[test]
fn a_refused_flag_leaves_nothing_so_the_same_create_can_run_again() {
    let driver = FakeDriver::new(Answer::RefusesFlag);
    let (_dir, machines) = machines_with(&driver);
    let err = create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap_err();
    assert!(err.full_message().contains("--fake-size"), "{err}");
    assert!(machines.list().unwrap().is_empty(), "a record was left");
}

#[test]
fn an_unsafe_answer_is_not_recorded_and_the_machine_waits_in_state_error() {
    let driver = FakeDriver::new(Answer::UnsafeHost);
    let (_dir, machines) = machines_with(&driver);
    let err = create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap_err();
    assert!(
        err.full_message()
            .contains("answered something berth cannot use"),
        "{err}"
    );
    let record = record_of(&machines, "web1");
    assert_eq!(record.state, MachineState::Error);
    assert!(record.ssh.is_none(), "the unsafe host was recorded");
}

#[test]
fn a_failed_provision_keeps_the_driver_s_data_and_says_how_to_finish() {
    // The fake remote: a port that accepts and says nothing an SSH client can use.
    let remote = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = remote.local_addr().unwrap().port();
    let talker = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = remote.accept() {
            use std::io::Write as _;
            let _ = stream.write_all(b"not an ssh server\r\n");
        }
    });
    let driver = FakeDriver::new(Answer::SshAt(port));
    let (_dir, machines) = machines_with(&driver);
    let mut steps = Vec::new();
    let err = create(&machines, &driver, "web1", &spec(), &mut |e| {
        if let Event::Step(step) = e {
            steps.push(step.to_owned());
        }
    })
    .unwrap_err();
    talker.join().unwrap();
    let message = err.full_message();
    assert!(
        message.contains("`berth provision web1` finishes it"),
        "{message}"
    );
    let record = record_of(&machines, "web1");
    assert_eq!(record.state, MachineState::Error);
    assert!(record.error.is_some());
    // What the driver made is on record, so that rm removes it and provision finishes it.
    assert_eq!(
        record.driver_data.as_map().get("instance"),
        Some(&serde_json::json!("i-123"))
    );
    let ssh = record.ssh.as_ref().expect("the SSH endpoint is recorded");
    assert_eq!((ssh.host.as_str(), ssh.port), ("127.0.0.1", port));
    assert!(
        steps.iter().any(|s| s.contains("creating the host")),
        "{steps:?}"
    );

    assert_eq!(
        remove(&machines, "web1", false, &mut quiet).unwrap(),
        Removed::Everything
    );
    assert_eq!(driver.calls(), ["create web1", "remove web1"]);
}

#[test]
fn an_engine_only_machine_is_running_at_once() {
    let driver = FakeDriver::new(Answer::EngineOnly("tcp://203.0.113.7:2376"));
    let (_dir, machines) = machines_with(&driver);
    create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap();
    let record = record_of(&machines, "web1");
    assert_eq!(record.state, MachineState::Running);
    assert_eq!(
        record.url.as_ref().map(ToString::to_string).as_deref(),
        Some("tcp://203.0.113.7:2376")
    );
    assert!(record.error.is_none());
}

#[test]
fn a_driver_that_cannot_remove_keeps_the_record_unless_forced() {
    let mut driver = FakeDriver::new(Answer::EngineOnly("tcp://203.0.113.7:2376"));
    driver.remove_fails = true;
    let (_dir, machines) = machines_with(&driver);
    create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap();

    let err = remove(&machines, "web1", false, &mut quiet).unwrap_err();
    assert!(err.full_message().contains("nothing was removed"), "{err}");
    assert!(err.full_message().contains("`berth rm -f web1`"), "{err}");
    assert_eq!(record_of(&machines, "web1").state, MachineState::Running);

    let mut warnings = Vec::new();
    let removed = remove(&machines, "web1", true, &mut |e| {
        if let Event::Warn(w) = e {
            warnings.push(w.to_owned());
        }
    })
    .unwrap();
    assert_eq!(removed, Removed::Everything);
    assert!(machines.load("web1").is_err());
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("removing berth's record anyway")),
        "{warnings:?}"
    );
}

#[test]
fn an_interrupted_create_makes_nothing() {
    let driver = FakeDriver::new(Answer::Fails);
    let (_dir, machines) = machines_with(&driver);
    machines.interrupt().trigger();
    let err = create(&machines, &driver, "web1", &spec(), &mut quiet).unwrap_err();
    assert!(err.is_interrupted(), "{err}");
    assert!(machines.list().unwrap().is_empty());
    assert!(driver.calls().is_empty(), "{:?}", driver.calls());
}
