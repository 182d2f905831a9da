//! The plugin protocol's wire shapes, shared by the host side and the SDK so
//! that the two cannot drift apart. docs/plugins.md is the prose version.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::{FlagSpec, MachineState, Operation, SshEndpoint};

/// The protocol version this berth speaks. It changes only when an old
/// plugin would be misunderstood; additions (new optional fields, new
/// methods announced in capabilities) keep it.
pub const PROTOCOL_VERSION: u64 = 1;

/// The handshake berth sends first.
pub const ACTIVATE: &str = "Plugin.Activate";
/// Asks for the driver's create flags.
pub const CREATE_FLAGS: &str = "Driver.CreateFlags";
/// The notification a plugin sends while it works.
pub const PROGRESS: &str = "$/progress";
/// What a plugin lists in `implements` to be a driver.
pub const DRIVER_INTERFACE: &str = "Driver";

/// Error codes a plugin returns; the -326xx ones are JSON-RPC's own.
pub mod codes {
    /// The request line was not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The request was JSON but not a JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The plugin does not know the method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The params lack fields or have wrong types.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The plugin broke (a panic, an exception).
    pub const INTERNAL_ERROR: i64 = -32603;
    /// The driver tried and failed; the message says why.
    pub const DRIVER_FAILED: i64 = -32000;
    /// The driver cannot do this operation at all.
    pub const UNSUPPORTED: i64 = -32001;
    /// The driver has no such machine.
    pub const NOT_FOUND: i64 = -32002;
    /// A create flag has a bad or missing value; `data.flag` names it.
    pub const INVALID_FLAG: i64 = -32003;
    /// The machine's `data` is not what the driver wrote at create.
    pub const INVALID_DATA: i64 = -32004;
}

/// `Plugin.Activate` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateParams {
    /// The protocol version berth speaks.
    pub protocol_version: u64,
    /// berth's own version, for the plugin's log.
    #[serde(default)]
    pub berth_version: String,
}

/// `Plugin.Activate` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateResult {
    /// The protocol version the plugin speaks.
    pub protocol_version: u64,
    /// The driver's name.
    pub name: String,
    /// Interfaces implemented; a driver lists "Driver".
    pub implements: Vec<String>,
    /// Optional features.
    #[serde(default)]
    pub capabilities: Capabilities,
}

/// What a plugin can do beyond the minimum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The operations the driver supports; absent means all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<Operation>>,
}

/// `Driver.CreateFlags` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateFlagsResult {
    /// The driver's flags.
    pub flags: Vec<FlagSpec>,
}

/// `Driver.State` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateResult {
    /// The machine's state.
    pub state: MachineState,
}

/// `Driver.Address` result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressResult {
    /// Where to reach the machine over SSH.
    pub ssh: SshEndpoint,
}

/// `$/progress` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressParams {
    /// One short sentence about what the plugin is doing now.
    pub message: String,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    /// One of [`codes`], or the plugin's own.
    pub code: i64,
    /// A sentence for the user.
    pub message: String,
    /// Extra detail, such as `{"flag": "..."}` for INVALID_FLAG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A request line, ready to write.
pub fn request(id: u64, method: &str, params: &Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// A notification line, ready to write.
pub fn notification(method: &str, params: &Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// A success response line, ready to write.
pub fn response(id: &Value, result: &Value) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// An error response line, ready to write.
pub fn error_response(id: &Value, error: &RpcError) -> Value {
    serde_json::json!({ "jsonrpc": "2.0", "id": id, "error": error })
}
