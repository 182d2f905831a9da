//! The Go types that travel on the wire, as gob sees them: net/rpc's request and response
//! headers (`net/rpc/server.go`), libmachine's flag declarations (`libmachine/mcnflag`) and the
//! flag values it sends (`rpcdriver.RPCFlags`), under the names libmachine registers them with
//! (`libmachine/drivers/rpc/server_driver.go`, `init`).

use std::collections::BTreeMap;
use std::sync::Arc;

use gobwire::{Gob, Interface, Type, Value};

/// net/rpc's `Request` header.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Request")]
pub(crate) struct RequestHeader {
    #[gob(name = "ServiceMethod")]
    pub(crate) service_method: String,
    #[gob(name = "Seq")]
    pub(crate) seq: u64,
}

/// net/rpc's `Response` header; `error` is empty on success.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "Response")]
pub(crate) struct ResponseHeader {
    #[gob(name = "ServiceMethod")]
    pub(crate) service_method: String,
    #[gob(name = "Seq")]
    pub(crate) seq: u64,
    #[gob(name = "Error")]
    pub(crate) error: String,
}

/// Go's `struct{}`: the argument of every call that takes none.
#[derive(Gob, Debug, Default, Clone, PartialEq)]
#[gob(name = "")]
pub(crate) struct Empty {}

/// The kinds of flag declaration libmachine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoFlagKind {
    /// `*mcnflag.StringFlag`.
    String,
    /// `*mcnflag.IntFlag`.
    Int,
    /// `*mcnflag.BoolFlag` (no default: false).
    Bool,
    /// `*mcnflag.StringSliceFlag`.
    StringSlice,
}

/// A flag value as docker-machine sends it in `RPCFlags.Values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoValue {
    /// Go `string`.
    String(String),
    /// Go `int`.
    Int(i64),
    /// Go `bool`.
    Bool(bool),
    /// Go `[]string`.
    StringSlice(Vec<String>),
}

impl GoValue {
    /// The value as an interface, under the name Go registers its type with.
    pub(crate) fn to_interface(&self) -> Interface {
        match self {
            GoValue::String(s) => Interface::string(s.clone()),
            GoValue::Int(i) => Interface::int(*i),
            GoValue::Bool(b) => Interface::bool(*b),
            GoValue::StringSlice(items) => Interface {
                name: gobwire::names::STRINGS.to_owned(),
                ty: Type::Slice(Arc::new(Type::String)),
                value: Value::Slice(items.iter().cloned().map(Value::String).collect()),
            },
        }
    }
}

/// One flag a driver declares (`GetCreateFlags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFlag {
    /// Its kind.
    pub kind: GoFlagKind,
    /// The long name without dashes (`amazonec2-access-key`).
    pub name: String,
    /// One line of help.
    pub usage: String,
    /// The environment variable docker-machine reads it from (`AWS_ACCESS_KEY_ID`); may be empty.
    pub env_var: String,
    /// The default, as docker-machine sends it when the flag is not given (`false` for bools).
    pub default: GoValue,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "StringFlag")]
struct StringFlag {
    #[gob(name = "Name")]
    name: String,
    #[gob(name = "Usage")]
    usage: String,
    #[gob(name = "EnvVar")]
    env_var: String,
    #[gob(name = "Value")]
    value: String,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "IntFlag")]
struct IntFlag {
    #[gob(name = "Name")]
    name: String,
    #[gob(name = "Usage")]
    usage: String,
    #[gob(name = "EnvVar")]
    env_var: String,
    #[gob(name = "Value")]
    value: i64,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "BoolFlag")]
struct BoolFlag {
    #[gob(name = "Name")]
    name: String,
    #[gob(name = "Usage")]
    usage: String,
    #[gob(name = "EnvVar")]
    env_var: String,
}

#[derive(Gob, Debug, Default)]
#[gob(name = "StringSliceFlag")]
struct StringSliceFlag {
    #[gob(name = "Name")]
    name: String,
    #[gob(name = "Usage")]
    usage: String,
    #[gob(name = "EnvVar")]
    env_var: String,
    #[gob(name = "Value")]
    value: Vec<String>,
}

/// `rpcdriver.RPCFlags`, sent as `*rpcdriver.RPCFlags` in an interface.
#[derive(Gob, Debug, Default)]
#[gob(name = "RPCFlags")]
struct RpcFlags {
    #[gob(name = "Values")]
    values: BTreeMap<String, Option<Interface>>,
}

/// The registered name of the flag values' type (`gob.Register(new(RPCFlags))`).
pub(crate) const RPC_FLAGS_NAME: &str = "*rpcdriver.RPCFlags";

/// `SetConfigFromFlags`' argument: a `drivers.DriverOptions` interface holding RPCFlags.
pub(crate) fn rpc_flags(values: &BTreeMap<String, GoValue>) -> Result<Option<Interface>, String> {
    let flags = RpcFlags {
        values: values
            .iter()
            .map(|(k, v)| (k.clone(), Some(v.to_interface())))
            .collect(),
    };
    Interface::new(RPC_FLAGS_NAME, &flags)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The flags in `GetCreateFlags`' answer (`[]mcnflag.Flag`), or why they cannot be read.
pub(crate) fn flags(items: Vec<Option<Interface>>) -> Result<Vec<GoFlag>, String> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Some(item) = item else {
            return Err("a nil flag in the list".to_owned());
        };
        let bad = |e: gobwire::Error| format!("a {} that does not decode ({e})", item.name);
        let flag = match item.name.as_str() {
            "*mcnflag.StringFlag" => {
                let f: StringFlag = item.downcast().map_err(bad)?;
                GoFlag {
                    kind: GoFlagKind::String,
                    name: f.name,
                    usage: f.usage,
                    env_var: f.env_var,
                    default: GoValue::String(f.value),
                }
            }
            "*mcnflag.IntFlag" => {
                let f: IntFlag = item.downcast().map_err(bad)?;
                GoFlag {
                    kind: GoFlagKind::Int,
                    name: f.name,
                    usage: f.usage,
                    env_var: f.env_var,
                    default: GoValue::Int(f.value),
                }
            }
            "*mcnflag.BoolFlag" => {
                let f: BoolFlag = item.downcast().map_err(bad)?;
                GoFlag {
                    kind: GoFlagKind::Bool,
                    name: f.name,
                    usage: f.usage,
                    env_var: f.env_var,
                    default: GoValue::Bool(false),
                }
            }
            "*mcnflag.StringSliceFlag" => {
                let f: StringSliceFlag = item.downcast().map_err(bad)?;
                GoFlag {
                    kind: GoFlagKind::StringSlice,
                    name: f.name,
                    usage: f.usage,
                    env_var: f.env_var,
                    default: GoValue::StringSlice(f.value),
                }
            }
            other => {
                return Err(format!(
                    "a flag of type {other:?}, which is none of libmachine's four"
                ));
            }
        };
        out.push(flag);
    }
    Ok(out)
}
