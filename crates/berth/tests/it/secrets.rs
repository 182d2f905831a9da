//! Secrets a record holds (engine environment values, driver credentials) stay out of what
//! `inspect` prints unless asked for (issue 18). Each test failed before its fix.

use berth_testkit::{Sandbox, stderr, stdout};

const RECORD: &str = r#"version = 1
name = "web1"
driver = "generic"
state = "Running"
url = "tcp://127.0.0.1:1"
created_at = "2026-11-23T12:00:00Z"

[ssh]
host = "127.0.0.1"
port = 1
user = "root"

[engine]
port = 2376

[engine.env]
HTTPS_PROXY = "http://proxyuser:s3cr3tpw@proxy.example:3128"

[driver_data]
ip_address = "127.0.0.1"
ssh_user = "root"
ssh_port = 1
api_token = "tok-123456"
"#;

fn sandbox() -> Sandbox {
    let sb = Sandbox::new(crate::BERTH);
    sb.write_record("web1", RECORD);
    sb
}

#[test]
fn inspect_redacts_engine_env_values_and_driver_credentials() {
    let sb = sandbox();
    for args in [
        &["inspect", "web1"][..],
        &["inspect", "--format", "{{json .}}", "web1"],
        &[
            "inspect",
            "--format",
            "{{json .HostOptions.EngineOptions.Env}}",
            "web1",
        ],
    ] {
        let out = sb.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains("s3cr3tpw"), "{args:?}: {text}");
        assert!(!text.contains("tok-123456"), "{args:?}: {text}");
        assert!(text.contains("<redacted>"), "{args:?}: {text}");
    }
    let out = sb.run(&[
        "inspect",
        "--format",
        "{{json .HostOptions.EngineOptions.Env}}",
        "web1",
    ]);
    assert_eq!(stdout(&out).trim(), r#"["HTTPS_PROXY=<redacted>"]"#);
    // What is not a secret is still there for scripts.
    let out = sb.run(&["inspect", "--format", "{{.Driver.IPAddress}}", "web1"]);
    assert_eq!(stdout(&out), "127.0.0.1\n");
}

#[test]
fn inspect_show_secrets_prints_them_as_they_are() {
    let sb = sandbox();
    let out = sb.run(&["inspect", "--show-secrets", "web1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("s3cr3tpw"), "{}", stdout(&out));
    assert!(stdout(&out).contains("tok-123456"), "{}", stdout(&out));
}
