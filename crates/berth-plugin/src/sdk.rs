//! The plugin side: turn any [`Driver`] into a `berth-driver-<name>`
//! executable.
//!
//! ```no_run
//! # use berth_plugin::{Driver, sdk};
//! # fn my_driver() -> Box<dyn Driver> { unimplemented!() }
//! fn main() -> std::process::ExitCode {
//!     sdk::serve(my_driver())
//! }
//! ```
//!
//! `serve` answers berth's requests on stdin/stdout one at a time, sends the
//! driver's progress messages as notifications, and returns when berth
//! closes stdin. Anything the plugin wants to log goes to stderr ([`log`]).

use std::io::{self, BufRead, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::driver::Driver;
use crate::error::DriverError;
use crate::protocol::{
    self, ActivateResult, AddressResult, Capabilities, CreateFlagsResult, ProgressParams, RpcError,
    StateResult, codes,
};
use crate::types::{CreateRequest, MachineRef, Operation, StartRequest};

/// Serve `driver` on this process's stdin and stdout until berth closes
/// stdin. Returns failure only when the pipes themselves fail.
pub fn serve(driver: impl Driver) -> ExitCode {
    let stdin = io::stdin().lock();
    match serve_io(&driver, stdin, io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(&format!(
                "berth-driver SDK: the connection to berth failed: {e}"
            ));
            ExitCode::FAILURE
        }
    }
}

/// Write one line to stderr, which berth shows with `--debug` and quotes
/// when the plugin fails. stdout belongs to the protocol.
pub fn log(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// Serve `driver` on any reader and writer (tests use in-memory pipes).
pub fn serve_io(driver: &dyn Driver, input: impl BufRead, output: impl Write) -> io::Result<()> {
    let out = Mutex::new(output);
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(reply) = handle_line(driver, &line, &out) {
            send(&out, &reply)?;
        }
    }
    Ok(())
}

fn send<W: Write>(out: &Mutex<W>, message: &Value) -> io::Result<()> {
    let mut line = message.to_string();
    line.push('\n');
    let mut w = out
        .lock()
        .map_err(|_| io::Error::other("stdout lock poisoned"))?;
    w.write_all(line.as_bytes())?;
    w.flush()
}

/// The reply to one request line, or `None` for a notification.
fn handle_line<W: Write>(driver: &dyn Driver, line: &str, out: &Mutex<W>) -> Option<Value> {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return Some(protocol::error_response(
                &Value::Null,
                &rpc(codes::PARSE_ERROR, format!("not JSON: {e}")),
            ));
        }
    };
    let id = request.get("id").cloned();
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return Some(protocol::error_response(
            &id.unwrap_or(Value::Null),
            &rpc(
                codes::INVALID_REQUEST,
                "a request needs a method".to_owned(),
            ),
        ));
    };
    // Notifications from berth (none are defined yet) need no answer.
    let id = id?;
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    let progress = |message: &str| {
        let note = protocol::notification(
            protocol::PROGRESS,
            &json!(ProgressParams {
                message: message.to_owned()
            }),
        );
        if let Err(e) = send(out, &note) {
            log(&format!("berth-driver SDK: could not send progress: {e}"));
        }
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        dispatch(driver, method, params, &progress)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Err(rpc(
            codes::INTERNAL_ERROR,
            format!("the driver panicked: {what}"),
        ))
    });
    Some(match outcome {
        Ok(result) => protocol::response(&id, &result),
        Err(error) => protocol::error_response(&id, &error),
    })
}

fn dispatch(
    driver: &dyn Driver,
    method: &str,
    params: Value,
    progress: &dyn Fn(&str),
) -> Result<Value, RpcError> {
    match method {
        protocol::ACTIVATE => {
            let operations = Operation::ALL
                .into_iter()
                .filter(|op| driver.supports(*op))
                .collect();
            encode(ActivateResult {
                protocol_version: protocol::PROTOCOL_VERSION,
                name: driver.name().to_owned(),
                implements: vec![protocol::DRIVER_INTERFACE.to_owned()],
                capabilities: Capabilities {
                    operations: Some(operations),
                },
            })
        }
        protocol::CREATE_FLAGS => encode(CreateFlagsResult {
            flags: driver.create_flags().map_err(to_rpc)?,
        }),
        "Driver.Create" => {
            let req: CreateRequest = decode(params)?;
            encode(driver.create(&req, progress).map_err(to_rpc)?)
        }
        "Driver.Start" => {
            let req: StartRequest = decode(params)?;
            unit(if req.files.is_empty() {
                driver.start(&req.machine, progress)
            } else {
                driver.start_with_files(&req.machine, &req.files, progress)
            })
        }
        "Driver.Stop" => unit(driver.stop(&decode(params)?, progress)),
        "Driver.Restart" => unit(driver.restart(&decode(params)?, progress)),
        "Driver.Kill" => unit(driver.kill(&decode(params)?, progress)),
        "Driver.Remove" => unit(driver.remove(&decode(params)?, progress)),
        "Driver.State" => {
            let m: MachineRef = decode(params)?;
            encode(StateResult {
                state: driver.state(&m).map_err(to_rpc)?,
            })
        }
        "Driver.Address" => {
            let m: MachineRef = decode(params)?;
            encode(AddressResult {
                ssh: driver.ssh_endpoint(&m).map_err(to_rpc)?,
            })
        }
        other => Err(rpc(
            codes::METHOD_NOT_FOUND,
            format!("this plugin does not know the method {other:?}"),
        )),
    }
}

fn unit(r: Result<(), DriverError>) -> Result<Value, RpcError> {
    r.map(|()| json!({})).map_err(to_rpc)
}

fn decode<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    serde_json::from_value(params)
        .map_err(|e| rpc(codes::INVALID_PARAMS, format!("bad params: {e}")))
}

fn encode<T: Serialize>(value: T) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| {
        rpc(
            codes::INTERNAL_ERROR,
            format!("could not encode the result: {e}"),
        )
    })
}

fn rpc(code: i64, message: String) -> RpcError {
    RpcError {
        code,
        message,
        data: None,
    }
}

/// The wire form of a driver's error; berth's host side maps it back to the
/// same [`DriverError`] variant.
pub fn to_rpc(e: DriverError) -> RpcError {
    match e {
        DriverError::Unsupported {
            operation, reason, ..
        } => RpcError {
            code: codes::UNSUPPORTED,
            message: reason,
            data: Some(json!({ "operation": operation })),
        },
        DriverError::InvalidFlag { flag, reason, .. } => RpcError {
            code: codes::INVALID_FLAG,
            message: reason,
            data: Some(json!({ "flag": flag })),
        },
        DriverError::MachineNotFound { detail, .. } => rpc(codes::NOT_FOUND, detail),
        DriverError::InvalidData { reason, .. } => rpc(codes::INVALID_DATA, reason),
        DriverError::Failed { message, .. } => rpc(codes::DRIVER_FAILED, message),
        other => rpc(codes::DRIVER_FAILED, other.to_string()),
    }
}
