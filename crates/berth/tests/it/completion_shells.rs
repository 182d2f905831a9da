//! `berth completion SHELL` through the real shells' own completion machinery, against a store
//! with machines: bash calls the registered function as readline would (COMP_WORDS, COMP_CWORD),
//! zsh completes a line typed into an interactive zsh on a pseudo-terminal (zpty) after
//! compinit, fish answers `complete -C`. The names come from the store at the moment of the Tab:
//! a machine made after the script was loaded is offered too.

use std::path::Path;
use std::process::{Command, Output};

use berth_names::EnvVars;
use berth_testkit::{Sandbox, require, stderr, stdout};

const URL: &str = "tcp://127.0.0.7:2376";

/// A store with web1, web2 and db, a folder that is not a machine, and a plugin `zoo`.
fn store() -> Sandbox {
    let sb = Sandbox::new(crate::BERTH);
    for name in ["web1", "web2", "db"] {
        sb.add_machine(name, URL);
    }
    std::fs::create_dir_all(sb.root.join("not-a-machine")).unwrap();
    let plugins = sb.root.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let plugin = plugins.join("berth-driver-zoo");
    std::fs::write(&plugin, "#!/bin/sh\nexit 1\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb
}

fn shell(sb: &Sandbox, program: &str, package: &str, args: &[&str]) -> Output {
    let program = require(program, package);
    let out = Command::new("timeout")
        .arg("60")
        .arg(program)
        .args(args)
        .env(EnvVars::BERTH_STORAGE_PATH, &sb.root)
        .env(EnvVars::HOME, sb.root.parent().unwrap())
        .env("XDG_CONFIG_HOME", sb.root.parent().unwrap().join("config"))
        .env("BERTH", env!("CARGO_BIN_EXE_berth"))
        .env_remove(EnvVars::BERTH_COMPLETE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    out
}

/// What bash's completion function offers (readline's word splitting imitated) for the words of `line` (the last one being
/// completed; a line ending in a space completes a new, empty word), as readline calls it:
/// the function is the one `complete -p` names for the command.
fn bash_candidates(sb: &Sandbox, command: &str, berth: &str, line: &str) -> Vec<String> {
    let script = format!(
        r#"source <("{berth}" completion bash) || exit 1
spec=$(complete -p {command}) || exit 1
func=$(sed -E 's/.* -F ([^ ]+) .*/\1/' <<<"$spec")
line={line:?}
# readline breaks words at COMP_WORDBREAKS' `:` and `=` too, each its own word.
read -r -a COMP_WORDS <<<"$(sed -E 's/([=:])/ \1 /g' <<<"$line")"
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE=$line; COMP_POINT=${{#line}}; COMP_TYPE=9
"$func" {command} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    let out = shell(
        sb,
        "bash",
        "bash",
        &["--norc", "--noprofile", "-c", &script],
    );
    // An empty word is offered the flags too, after the values; the values are what is tested.
    // (`printf` prints one empty line for an empty COMPREPLY.)
    let all: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if line.ends_with(' ') {
        all.into_iter().filter(|c| !c.starts_with('-')).collect()
    } else {
        all
    }
}

#[test]
fn bash_completes_machine_and_driver_names_from_the_store() {
    let sb = store();
    let berth = env!("CARGO_BIN_EXE_berth");
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth ssh we"),
        ["web1", "web2"]
    );
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth env "),
        ["db", "web1", "web2"]
    );
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth rm -y web1 d"),
        ["db"]
    );
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth mount w"),
        ["web1:", "web2:"]
    );
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth swarm join --manager d"),
        ["db"]
    );
    let drivers = bash_candidates(&sb, "berth", berth, "berth create -d ");
    for driver in ["generic", "none", "zoo"] {
        assert!(drivers.contains(&driver.to_owned()), "{drivers:?}");
    }
    // A new machine's name is not one of the store's: create offers none.
    assert!(bash_candidates(&sb, "berth", berth, "berth create -d generic w").is_empty());
    // Subcommands and flags still come from the command line's definition.
    assert_eq!(bash_candidates(&sb, "berth", berth, "berth mou"), ["mount"]);
    assert!(bash_candidates(&sb, "berth", berth, "berth ls --f").contains(&"--filter".to_owned()));
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth ls --filter state=Ru"),
        ["Running"]
    );

    // Read at the Tab, not when the script was made: a machine added later is offered.
    sb.add_machine("web3", URL);
    assert_eq!(
        bash_candidates(&sb, "berth", berth, "berth ssh web"),
        ["web1", "web2", "web3"]
    );

    // -s on the line names the store the names come from.
    let other = Sandbox::new(crate::BERTH);
    other.add_machine("elsewhere", URL);
    let line = format!("berth -s {} ssh ", other.root.display());
    assert_eq!(bash_candidates(&sb, "berth", berth, &line), ["elsewhere"]);
}

#[test]
fn bash_completes_for_docker_machine_through_its_symlink() {
    let sb = store();
    let links = tempfile::tempdir().unwrap();
    let link = links.path().join("docker-machine");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_berth"), &link).unwrap();
    let link = link.to_string_lossy().into_owned();
    assert_eq!(
        bash_candidates(&sb, "docker-machine", &link, "docker-machine ssh we"),
        ["web1", "web2"]
    );
}

#[test]
fn fish_completes_machine_names_from_the_store() {
    let sb = store();
    let run = |line: &str| -> Vec<String> {
        let script = format!(r#""$BERTH" completion fish | source; complete -C {line:?}"#);
        let out = shell(&sb, "fish", "fish", &["--no-config", "-c", &script]);
        // An empty word is offered the flags too (with their help after a tab); the names are
        // what matters here.
        stdout(&out)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .filter(|l| !l.starts_with('-'))
            .collect()
    };
    assert_eq!(run("berth ssh we"), ["web1", "web2"]);
    assert_eq!(run("berth stop "), ["db", "web1", "web2"]);
    let drivers = run("berth create --driver ");
    assert!(drivers.contains(&"zoo".to_owned()), "{drivers:?}");
}

/// Drives an interactive `shell` on a pseudo-terminal (Python's pty module): runs `setup`,
/// then for each step types its keys and waits (up to 20 s) until the terminal shows its text.
/// A shell's line editor is where completion happens, so this is what a user's Tab does.
fn on_a_terminal(sb: &Sandbox, shell: &[&str], setup: &str, steps: &[(&str, &str)]) {
    let harness = r#"
import json, os, pty, select, sys, time
argv = json.loads(os.environ["PTY_ARGV"])
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM="dumb", PS1="$ ")
    os.execvp(argv[0], argv)
seen = b""
def wait_for(text, seconds=20):
    global seen
    deadline = time.time() + seconds
    while text not in seen:
        left = deadline - time.time()
        if left <= 0:
            sys.exit("no %r on the terminal; it showed %r" % (text, seen))
        if select.select([fd], [], [], left)[0]:
            seen += os.read(fd, 4096)
    seen = seen[seen.index(text) + len(text):]
os.write(fd, os.environ["PTY_SETUP"].encode() + b" && echo READY-$((40+2))\n")
wait_for(b"READY-42")
for keys, shown in json.loads(os.environ["PTY_STEPS"]):
    os.write(fd, keys.encode())
    wait_for(shown.encode())
    print("shown:", shown)
"#;
    let program = require(shell[0], shell[0]);
    let mut argv = vec![program.to_string_lossy().into_owned()];
    argv.extend(shell[1..].iter().map(|a| (*a).to_owned()));
    let out = Command::new("timeout")
        .arg("120")
        .arg(require("python3", "python3"))
        .args(["-c", harness])
        .env("PTY_ARGV", serde_json::to_string(&argv).unwrap())
        .env("PTY_SETUP", setup)
        .env("PTY_STEPS", serde_json::to_string(steps).unwrap())
        .env(EnvVars::BERTH_STORAGE_PATH, &sb.root)
        .env(EnvVars::HOME, sb.root.parent().unwrap())
        .env("BERTH", env!("CARGO_BIN_EXE_berth"))
        .env_remove(EnvVars::BERTH_COMPLETE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell:?} on a terminal: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
}

/// zsh after compinit: one candidate is completed on the line (^A and `echo LINE:` then turn
/// the line into an echo of itself); several are first cut to their common part, then listed
/// under the line at the second Tab.
#[test]
fn zsh_completes_machine_names_in_its_line_editor() {
    let sb = store();
    on_a_terminal(
        &sb,
        &["zsh", "-f", "-i"],
        r#"autoload -U compinit && compinit -u -D && source <("$BERTH" completion zsh)"#,
        &[
            ("berth ssh d\t", "berth ssh db"),
            ("\x01echo LINE:\n", "\r\nLINE:berth ssh db"),
            ("berth start w\t", "berth start web"),
            ("\t", "web1  web2"),
            ("\x15", ""),
            ("berth create -d zo\t", "berth create -d zoo"),
            ("\x01echo LINE:\n", "\r\nLINE:berth create -d zoo"),
        ],
    );
}

/// bash's real readline: the words it breaks at `:` and `=` still complete
/// (`ls --filter state=…`, `mount NAME:PATH DIR`, `scp NAME:PATH NAME:`).
#[test]
fn bash_readline_completes_across_colons_and_equals() {
    let sb = store();
    let mut steps = Vec::new();
    for (typed, completed) in [
        (
            "berth ls --filter state=Ru",
            "berth ls --filter state=Running",
        ),
        ("berth mount web1:/srv /tm", "berth mount web1:/srv /tmp/"),
        ("berth scp web2:/x d", "berth scp web2:/x db:"),
        ("berth env d", "berth env db"),
    ] {
        steps.push((format!("{typed}\t"), completed.to_owned()));
        steps.push((
            "\x01echo LINE:\n".to_owned(),
            format!("\r\nLINE:{completed}"),
        ));
    }
    let steps: Vec<(&str, &str)> = steps
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    on_a_terminal(
        &sb,
        &["bash", "--norc", "--noprofile", "-i"],
        r#"source <("$BERTH" completion bash)"#,
        &steps,
    );
}

#[test]
fn the_scripts_name_the_command_and_this_berth() {
    let sb = Sandbox::new(crate::BERTH);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sb.run(&["completion", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("BERTH_COMPLETE"), "{shell}: {script}");
        assert!(
            script.contains(env!("CARGO_BIN_EXE_berth")),
            "{shell}: {script}"
        );
    }
    assert!(!Path::new(&sb.root).exists(), "completion touches no store");
}
