//! A complete berth driver plugin in a few lines, built with the SDK.
//!
//! It makes no real hosts: a "machine" is a file in the machine's folder
//! holding its power state, and its SSH endpoint comes from a flag. That is
//! enough to exercise every protocol method end to end, which is what the
//! crate's integration tests use it for; copy it to start a real driver.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use berth_plugin::{
    CreateRequest, Created, Driver, DriverError, FlagKind, FlagSpec, MachineRef, MachineState,
    Operation, SshEndpoint, sdk,
};

const NAME: &str = "example";

struct Example;

fn state_file(dir: &Path) -> PathBuf {
    dir.join("example-state")
}

fn failed(op: &str, e: &std::io::Error, path: &Path) -> DriverError {
    DriverError::Failed {
        driver: NAME.into(),
        operation: op.into(),
        message: format!("{}: {e}", path.display()),
    }
}

fn set_state(m: &MachineRef, op: &str, state: MachineState) -> Result<(), DriverError> {
    let file = state_file(&m.machine_dir);
    if !file.exists() {
        return Err(DriverError::MachineNotFound {
            driver: NAME.into(),
            machine: m.name.clone(),
            detail: format!("{} does not exist", file.display()),
        });
    }
    std::fs::write(&file, state.as_str()).map_err(|e| failed(op, &e, &file))
}

impl Driver for Example {
    fn name(&self) -> &str {
        NAME
    }

    fn supports(&self, _: Operation) -> bool {
        true
    }

    fn create_flags(&self) -> Result<Vec<FlagSpec>, DriverError> {
        Ok(vec![
            FlagSpec::new(
                "example-host",
                FlagKind::String,
                "Address the machine claims to have",
                Some("127.0.0.1"),
            ),
            FlagSpec::new(
                "example-steps",
                FlagKind::Int,
                "How many progress messages create sends",
                Some("3"),
            ),
            FlagSpec::new(
                "example-fail",
                FlagKind::Bool,
                "Make create fail, to test error paths",
                None,
            ),
            FlagSpec::new(
                "example-panic",
                FlagKind::Bool,
                "Make create panic, to test error paths",
                None,
            ),
        ])
    }

    fn create(&self, req: &CreateRequest, progress: &dyn Fn(&str)) -> Result<Created, DriverError> {
        if req.bool_flag(NAME, "example-panic")?.unwrap_or(false) {
            panic!("asked to panic by --example-panic");
        }
        if req.bool_flag(NAME, "example-fail")?.unwrap_or(false) {
            return Err(DriverError::Failed {
                driver: NAME.into(),
                operation: "create".into(),
                message: "asked to fail by --example-fail".into(),
            });
        }
        let host = req
            .string_flag(NAME, "example-host")?
            .unwrap_or_else(|| "127.0.0.1".into());
        let steps = req.int_flag(NAME, "example-steps")?.unwrap_or(3);
        for i in 1..=steps {
            progress(&format!("step {i} of {steps}"));
        }
        sdk::log(&format!(
            "creating {} in {}",
            req.machine,
            req.machine_dir.display()
        ));
        let file = state_file(&req.machine_dir);
        std::fs::create_dir_all(&req.machine_dir)
            .map_err(|e| failed("create", &e, &req.machine_dir))?;
        std::fs::write(&file, MachineState::Running.as_str())
            .map_err(|e| failed("create", &e, &file))?;
        let ssh = SshEndpoint {
            host: host.clone(),
            port: 22,
            user: "root".into(),
            key_path: None,
        };
        Ok(Created {
            ssh: Some(ssh),
            engine_url: None,
            engine_port: None,
            boot_pending: None,
            data: serde_json::json!({ "host": host }),
        })
    }

    fn start(&self, m: &MachineRef, progress: &dyn Fn(&str)) -> Result<(), DriverError> {
        progress("powering on");
        set_state(m, "start", MachineState::Running)
    }

    fn stop(&self, m: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        set_state(m, "stop", MachineState::Stopped)
    }

    fn kill(&self, m: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        set_state(m, "kill", MachineState::Stopped)
    }

    fn remove(&self, m: &MachineRef, _: &dyn Fn(&str)) -> Result<(), DriverError> {
        let file = state_file(&m.machine_dir);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(failed("remove", &e, &file)),
            _ => Ok(()),
        }
    }

    fn state(&self, m: &MachineRef) -> Result<MachineState, DriverError> {
        Ok(
            match std::fs::read_to_string(state_file(&m.machine_dir)).as_deref() {
                Ok("Running") => MachineState::Running,
                Ok("Stopped") => MachineState::Stopped,
                Ok(_) => MachineState::Error,
                Err(_) => MachineState::NotFound,
            },
        )
    }

    fn ssh_endpoint(&self, m: &MachineRef) -> Result<SshEndpoint, DriverError> {
        let host = m.data.get("host").and_then(|h| h.as_str()).ok_or_else(|| {
            DriverError::InvalidData {
                driver: NAME.into(),
                machine: m.name.clone(),
                reason: "the field \"host\" is missing".into(),
            }
        })?;
        Ok(SshEndpoint {
            host: host.into(),
            port: 22,
            user: "root".into(),
            key_path: None,
        })
    }
}

fn main() -> ExitCode {
    sdk::serve(Example)
}
