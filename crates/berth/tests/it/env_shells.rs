//! `berth env` output evaluated by the real shells, with a storage path that has spaces,
//! quotes, a `$` and a backslash in it: the variables must come back exactly.

use std::process::Command;

use berth_names::EnvVars;
use berth_testkit::{Sandbox, require, stderr};

const ODD_ROOT: &str = "my  machines 'single' \"double\" $HOME \\back";
const URL: &str = "tcp://127.0.0.7:2376";

/// Runs `script` (which evaluates berth's output) in `shell` and returns what printenv saw.
fn evaluate(sb: &Sandbox, shell: &str, package: &str, flag: &str, script: &str) -> Vec<String> {
    let program = require(shell, package);
    let berth = env!("CARGO_BIN_EXE_berth");
    let script = script.replace("BERTH", berth)
        + "; printenv DOCKER_TLS_VERIFY; printenv DOCKER_HOST; printenv DOCKER_CERT_PATH; printenv DOCKER_MACHINE_NAME; printenv NO_PROXY";
    let out = Command::new(program)
        .arg(flag)
        .arg(&script)
        .env(EnvVars::BERTH_STORAGE_PATH, &sb.root)
        .env("NO_PROXY", "localhost")
        .env_remove(EnvVars::DOCKER_HOST)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty() || out.status.success(),
        "{shell}: {}",
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn expected(sb: &Sandbox) -> Vec<String> {
    vec![
        "1".into(),
        URL.into(),
        sb.root.join("web1").to_string_lossy().into_owned(),
        "web1".into(),
        "localhost,127.0.0.7".into(),
    ]
}

fn check(shell: &str, package: &str, flag: &str, script: &str) {
    let sb = Sandbox::with_root_name(crate::BERTH, ODD_ROOT);
    sb.add_machine("web1", URL);
    let got = evaluate(&sb, shell, package, flag, script);
    assert_eq!(got, expected(&sb), "{shell} read back different values");
}

#[test]
fn bash_evaluates_the_output_exactly() {
    check(
        "bash",
        "bash",
        "-c",
        r#"eval "$(BERTH env --shell bash --no-proxy web1)""#,
    );
}

#[test]
fn zsh_evaluates_the_output_exactly() {
    check(
        "zsh",
        "zsh",
        "-c",
        r#"eval "$(BERTH env --shell zsh --no-proxy web1)""#,
    );
}

#[test]
fn dash_evaluates_the_output_exactly() {
    check(
        "dash",
        "dash",
        "-c",
        r#"eval "$(BERTH env --shell sh --no-proxy web1)""#,
    );
}

#[test]
fn fish_evaluates_the_output_exactly() {
    check(
        "fish",
        "fish",
        "-c",
        "BERTH env --shell fish --no-proxy web1 | source",
    );
}

#[test]
fn tcsh_evaluates_the_output_exactly() {
    check(
        "tcsh",
        "tcsh",
        "-c",
        "eval \"`BERTH env --shell tcsh --no-proxy web1`\"",
    );
}

#[test]
fn the_shell_comes_from_dollar_shell_and_defaults_to_posix() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", URL);
    let fish = sb
        .berth()
        .args(["env", "web1"])
        .env("SHELL", "/usr/bin/fish")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&fish.stdout).starts_with("set -gx DOCKER_TLS_VERIFY '1';"));
    let posix = sb
        .berth()
        .args(["env", "web1"])
        .env_remove("SHELL")
        .output()
        .unwrap();
    assert!(posix.status.success());
    assert!(String::from_utf8_lossy(&posix.stdout).starts_with("export DOCKER_TLS_VERIFY='1'"));
}

#[test]
fn unset_removes_the_variables_in_bash_and_fish() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", URL);
    for (shell, script) in [
        (
            "bash",
            r#"eval "$(BERTH env --shell bash web1)"; eval "$(BERTH env --shell bash --unset)""#,
        ),
        (
            "fish",
            "BERTH env --shell fish web1 | source; BERTH env --shell fish --unset | source",
        ),
        (
            "tcsh",
            "eval \"`BERTH env --shell tcsh web1`\"; eval \"`BERTH env --shell tcsh --unset`\"",
        ),
    ] {
        let got = evaluate(&sb, shell, shell, "-c", script);
        assert_eq!(
            got,
            vec!["localhost".to_owned()],
            "{shell} kept variables after --unset"
        );
    }
}

#[test]
fn every_listed_shell_has_output() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", URL);
    for (shell, first) in [
        ("powershell", "$Env:DOCKER_TLS_VERIFY = '1'"),
        ("cmd", "SET \"DOCKER_TLS_VERIFY=1\""),
        ("emacs", "(setenv \"DOCKER_TLS_VERIFY\" \"1\")"),
        ("nu", "{"),
    ] {
        let out = sb.run(&["env", "--shell", shell, "web1"]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(first),
            "{shell}"
        );
    }
    let nu = sb.run(&["env", "--shell", "nu", "web1"]);
    let record: serde_json::Value = serde_json::from_slice(&nu.stdout).unwrap();
    assert_eq!(record["DOCKER_HOST"], URL);
}

/// Called as docker-machine, `env` prints docker-machine's tcsh form (`setenv K "V";`), in
/// which a backquote runs a command. A URL planted in a record (an imported store's) with
/// one must not run when the user types docker-machine's own hint, ``eval `docker-machine env
/// NAME` ``: berth refuses the value with a sentence naming it, and tcsh runs nothing.
#[test]
fn docker_machines_tcsh_form_runs_no_backquote_from_a_planted_url() {
    let tcsh = require("tcsh", "tcsh");
    let sb = Sandbox::new(crate::BERTH);
    let marker = sb.root.with_file_name("planted-ran");
    let planted = format!("tcp://127.0.0.7:2376`touch {}`", marker.display());
    sb.add_machine("web1", URL);
    let record = sb.root.join("web1/config.toml");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(
        &record,
        text.replace(
            &format!("url = \"{URL}\""),
            &format!("url = {}", toml_string(&planted)),
        ),
    )
    .unwrap();
    let bin = sb.root.with_file_name("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_berth"), bin.join("docker-machine")).unwrap();
    let out = Command::new(tcsh)
        .arg("-c")
        .arg("eval `docker-machine env --shell tcsh web1`; echo evaluated")
        .env(EnvVars::PATH, format!("{}:/usr/bin:/bin", bin.display()))
        .env("MACHINE_STORAGE_PATH", sb.root.parent().unwrap())
        .env_remove(EnvVars::BERTH_STORAGE_PATH)
        .env(EnvVars::NO_COLOR, "1")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        !marker.exists(),
        "tcsh ran the backquoted command of the planted URL; stderr: {err}"
    );
    // The typed record refuses such a URL when it is read; the env renderer's own check is
    // the second line of defence. Either way berth names the value and prints no script.
    assert!(
        (err.contains("DOCKER_HOST") && err.contains("backquote"))
            || (err.contains("url \"") && err.contains("an engine URL is tcp://HOST:PORT")),
        "berth should refuse the value naming it: {err}"
    );
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
