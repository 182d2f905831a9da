//! Issue 12: a typical docker-machine script, unchanged, against a real test host through a
//! symlink named `docker-machine`, with only docker-machine's variables set
//! (MACHINE_STORAGE_PATH, GENERIC_*): create, env eval (bash and fish; powershell, cmd and
//! emacs lines checked as printed), docker ps, ssh without
//! `--` and with an OpenSSH option first, --native-ssh, inspect -f, ls with a template and a
//! filter, regenerate-certs -f, version NAME, upgrade, rm.

use std::process::Command;

use berth_e2e::Fleet;
use berth_names::EnvVars;

use crate::cli::berth_bin;

/// The script as a docker-machine user has it; every line must work as it did there.
const SCRIPT: &str = r#"
set -euo pipefail
docker-machine create -d generic web1
eval $(docker-machine env web1)
docker ps
test "$DOCKER_MACHINE_NAME" = web1
test "$(docker-machine ssh web1 uname -s)" = Linux
test "$(docker-machine ssh web1 -C echo foo)" = foo
test "$(docker-machine --native-ssh ssh web1 echo native)" = native
test "$(docker-machine inspect -f '{{.DriverName}}' web1)" = generic
test "$(docker-machine inspect --format '{{.Driver.IPAddress}}' web1)" = "$GENERIC_IP_ADDRESS"
test "$(docker-machine ip web1)" = "$GENERIC_IP_ADDRESS"
test "$(docker-machine url web1)" = "tcp://$GENERIC_IP_ADDRESS:2376"
docker-machine ls
test "$(docker-machine ls -q --filter name=web1)" = web1
docker-machine ls --format '{{.Name}} {{.State}} {{.DockerVersion}}' | grep -q '^web1 Running v'
docker $(docker-machine config web1) info --format '{{.ServerVersion}}'
fish -c 'docker-machine env --shell fish web1 | source; docker ps'
# No PowerShell, cmd or Emacs here to evaluate them: their lines, as docker-machine prints them.
docker-machine env --shell powershell web1 | grep -qxF "\$Env:DOCKER_HOST = \"tcp://$GENERIC_IP_ADDRESS:2376\""
docker-machine env --shell cmd web1 | grep -qxF "SET DOCKER_HOST=tcp://$GENERIC_IP_ADDRESS:2376"
docker-machine env --shell emacs web1 | grep -qxF "(setenv \"DOCKER_HOST\" \"tcp://$GENERIC_IP_ADDRESS:2376\")"
version=$(docker-machine version web1)
test -n "$version"
docker version --format '{{.Server.Version}}' | grep -qxF "$version"
docker-machine regenerate-certs -f web1
docker ps
docker-machine upgrade web1 2>&1 | tee upgrade.log
grep -Eq 'is up to date|upgraded docker.io from' upgrade.log
docker ps
docker-machine status web1 | grep -qx Running
docker-machine rm -y web1
! docker-machine inspect web1 2> missing.log
grep -qxF 'Docker machine "web1" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.' missing.log
"#;

#[test]
fn a_docker_machine_script_runs_unchanged_against_a_real_host() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(berth_bin(), bin.join("docker-machine")).unwrap();
    let storage = work.path().join("machine");
    let out = Command::new("bash")
        .arg("-c")
        .arg(SCRIPT)
        .current_dir(work.path())
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                bin.display()
            ),
        )
        .env("MACHINE_STORAGE_PATH", &storage)
        .env("GENERIC_IP_ADDRESS", host.address().to_string())
        .env("GENERIC_SSH_KEY", host.key_path())
        .env("GENERIC_SSH_USER", "root")
        .env("GENERIC_SSH_PORT", host.port().to_string())
        .env("NO_COLOR", "1")
        .env_remove(EnvVars::BERTH_STORAGE_PATH)
        .env_remove(EnvVars::DOCKER_HOST)
        .env_remove(EnvVars::DOCKER_CERT_PATH)
        .env_remove(EnvVars::DOCKER_TLS_VERIFY)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("running bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the docker-machine script failed ({:?}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    // The machine lived where docker-machine keeps machines: <MACHINE_STORAGE_PATH>/machines.
    assert!(storage.join("machines").is_dir());
    assert!(!storage.join("machines/web1").exists(), "rm removed it");
    assert!(
        stdout.contains("NAME   ACTIVE   DRIVER    STATE     URL"),
        "docker-machine's ls header: {stdout}"
    );
}
