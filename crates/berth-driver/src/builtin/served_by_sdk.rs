//! The SDK serving a real driver (generic) over in-memory pipes: the handshake, progress
//! before a result, and error codes on the wire. Here rather than in berth-plugin because
//! berth-plugin has no driver of its own to serve.
#![allow(clippy::unwrap_used)]

use berth_plugin::protocol::codes;
use berth_plugin::sdk::serve_io;
use serde_json::{Value, json};

use crate::builtin::GenericDriver;

fn run(input: &str) -> Vec<Value> {
    let mut out = Vec::new();
    serve_io(&GenericDriver, input.as_bytes(), &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn activate_announces_version_name_and_operations() {
    let r = run(
        r#"{"jsonrpc":"2.0","id":1,"method":"Plugin.Activate","params":{"protocol_version":1}}"#,
    );
    assert_eq!(r[0]["id"], 1);
    assert_eq!(r[0]["result"]["protocol_version"], 1);
    assert_eq!(r[0]["result"]["name"], "generic");
    assert_eq!(r[0]["result"]["implements"], json!(["Driver"]));
    assert_eq!(
        r[0]["result"]["capabilities"]["operations"],
        json!(["create", "remove", "state", "address"])
    );
}

#[test]
fn create_sends_progress_then_the_result() {
    let r = run(concat!(
        r#"{"jsonrpc":"2.0","id":7,"method":"Driver.Create","params":"#,
        r#"{"machine":"m","machine_dir":"/tmp/m","flags":{"generic-ip-address":"10.1.2.3"}}}"#
    ));
    assert_eq!(r[0]["method"], "$/progress");
    assert_eq!(r[1]["id"], 7);
    assert_eq!(r[1]["result"]["ssh"]["host"], "10.1.2.3");
}

#[test]
fn errors_carry_codes() {
    let r = run(concat!(
        "garbage\n",
        r#"{"jsonrpc":"2.0","id":2,"method":"Driver.Fly","params":{}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":3,"method":"Driver.Stop","params":{"name":"m","machine_dir":"/m","data":{}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":4,"method":"Driver.Create","params":{"machine":"m","machine_dir":"/m","flags":{}}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","id":5,"method":"Driver.State","params":{"oops":1}}"#,
        "\n",
        r#"{"jsonrpc":"2.0","method":"$/cancel"}"#,
    ));
    let codes: Vec<i64> = r
        .iter()
        .map(|v| v["error"]["code"].as_i64().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            codes::PARSE_ERROR,
            codes::METHOD_NOT_FOUND,
            codes::UNSUPPORTED,
            codes::INVALID_FLAG,
            codes::INVALID_PARAMS
        ]
    );
    assert_eq!(r[3]["error"]["data"]["flag"], "generic-ip-address");
}
