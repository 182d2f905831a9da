//! `berth env` for shells that cannot carry every value: a record's URL cannot make the
//! output run a second command in tcsh or cmd.

use berth_names::EnvVars;
use berth_testkit::{Sandbox, require, stderr, stdout};

/// Writes a record of machine `name` whose engine URL is `url`, whatever characters it holds.
fn odd_record(sb: &Sandbox, name: &str, url: &str) {
    sb.write_record(
        name,
        &format!(
            "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\n\
             url = {}\ncreated_at = \"2026-11-23T12:00:00Z\"\n",
            toml_string(url)
        ),
    );
}

fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[test]
fn tcsh_output_cannot_be_made_to_run_a_second_command() {
    let tcsh = require("tcsh", "tcsh");
    let sb = Sandbox::new(crate::BERTH);
    odd_record(&sb, "web", "tcp://127.0.0.1:2376\nsetenv EVIL 1");
    let out = sb.run(&["env", "--shell", "tcsh", "web"]);
    if out.status.success() {
        // Whatever it printed, evaluating it must not set EVIL.
        let script = format!(
            "eval \"`{} env --shell tcsh web`\"; printenv EVIL",
            env!("CARGO_BIN_EXE_berth")
        );
        let run = std::process::Command::new(tcsh)
            .args(["-f", "-c", &script])
            .env(EnvVars::BERTH_STORAGE_PATH, &sb.root)
            .output()
            .unwrap();
        assert_eq!(stdout(&run), "", "tcsh ran the injected command");
    } else {
        // Refused for tcsh, or (since the record is typed) already when the record is read,
        // naming the field, for every shell.
        let err = stderr(&out);
        assert!(err.contains("tcsh") || err.contains("url \""), "{err}");
    }
    assert!(
        !stdout(&out).lines().any(|l| l.starts_with("setenv EVIL")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn cmd_output_cannot_be_made_to_run_a_second_command() {
    let sb = Sandbox::new(crate::BERTH);
    for (name, url) in [
        ("quote", "tcp://127.0.0.1:2376\"&calc.exe&\""),
        ("newline", "tcp://127.0.0.1:2376\r\ncalc.exe"),
    ] {
        odd_record(&sb, name, url);
        let out = sb.run(&["env", "--shell", "cmd", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        // Refused for cmd, or (since the record is typed) already when the record is read,
        // naming the field, for every shell.
        let err = stderr(&out);
        assert!(
            err.contains("cmd") || err.contains("url \""),
            "{name}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{name}: {}", stdout(&out));
    }
}
