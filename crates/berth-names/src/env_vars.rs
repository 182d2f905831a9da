//! The environment variables berth reads or sets.

/// Every environment variable berth reads, sets or removes, by who defines it.
///
/// A variable berth only passes through untouched (a driver flag's env twin such as
/// `GENERIC_IP_ADDRESS`, named after the flag at run time) is not listed here.
#[derive(Debug)]
pub struct EnvVars;

/// The docker CLI's variables: `berth env` prints them and `berth ls`, `active` and `use`
/// read them, because the docker CLI decides with them which engine it talks to.
impl EnvVars {
    /// The engine's address (`tcp://HOST:2376`); the docker CLI lets it win over any context.
    /// `berth env` sets it; `ls` and `active` read it to mark the machine the shell points at.
    pub const DOCKER_HOST: &'static str = "DOCKER_HOST";

    /// `1` makes the docker CLI use TLS and check the engine's certificate against
    /// `DOCKER_CERT_PATH/ca.pem`; `berth env` sets it.
    pub const DOCKER_TLS_VERIFY: &'static str = "DOCKER_TLS_VERIFY";

    /// The folder where the docker CLI finds `ca.pem`, `cert.pem` and `key.pem`; `berth env`
    /// points it at the machine's folder.
    pub const DOCKER_CERT_PATH: &'static str = "DOCKER_CERT_PATH";

    /// docker-machine's marker of the machine a shell points at (read by its prompt helpers
    /// and by `active`); `berth env` sets it, `berth active` prefers it among equal hosts.
    pub const DOCKER_MACHINE_NAME: &'static str = "DOCKER_MACHINE_NAME";

    /// The docker CLI's selected context, which wins over `config.json`'s `currentContext`;
    /// `berth ls` reads it to find the active machine, `berth use` warns when it is set.
    pub const DOCKER_CONTEXT: &'static str = "DOCKER_CONTEXT";

    /// The docker CLI's configuration folder (default `~/.docker`): its `config.json` and
    /// context store, which berth keeps a context per machine in; also where berth's default
    /// storage folder lives.
    pub const DOCKER_CONFIG: &'static str = "DOCKER_CONFIG";

    /// Hosts a proxy is not used for, read by the docker CLI and most HTTP clients;
    /// `berth env --no-proxy` adds the machine's host to it.
    pub const NO_PROXY: &'static str = "NO_PROXY";

    /// The lower-case spelling of [`EnvVars::NO_PROXY`]; when a user set this one,
    /// `berth env --no-proxy` extends it instead, as docker-machine did.
    pub const NO_PROXY_LOWER: &'static str = "no_proxy";
}

/// berth's own variables.
impl EnvVars {
    /// Moves berth's storage folder (the flag `--storage-path` wins over it); read by the
    /// binary, set by test sandboxes to keep each test in its own folder.
    pub const BERTH_STORAGE_PATH: &'static str = "BERTH_STORAGE_PATH";

    /// Any value turns on `--debug` (berth's steps, remote commands, plugins' stderr).
    pub const BERTH_DEBUG: &'static str = "BERTH_DEBUG";

    /// A tracing `EnvFilter` for the libraries under berth (`BERTH_LOG=debug`).
    pub const BERTH_LOG: &'static str = "BERTH_LOG";

    /// Set by the completion script a shell registered: `berth` then prints candidates for
    /// the words typed so far instead of running a command; its value names the shell.
    pub const BERTH_COMPLETE: &'static str = "BERTH_COMPLETE";

    /// The Debian mirror the nspawn driver bootstraps its images from (default
    /// `http://deb.debian.org/debian`), for sites with a local mirror.
    pub const BERTH_DEBIAN_MIRROR: &'static str = "BERTH_DEBIAN_MIRROR";

    /// Internal to the nspawn driver: the cgroup `cgroup.procs` files its launcher script
    /// moves itself into before it starts the container.
    pub const BERTH_CGROUP_PROCS: &'static str = "BERTH_CGROUP_PROCS";
}

/// docker-machine's variables, read when berth speaks its dialect or talks to its plugins.
impl EnvVars {
    /// docker-machine's storage folder (machines under `machines/`); `berth import` reads
    /// from it by default, and berth's storage falls back to it.
    pub const MACHINE_STORAGE_PATH: &'static str = "MACHINE_STORAGE_PATH";

    /// The driver of `create` when `-d` is not given, as docker-machine read it.
    pub const MACHINE_DRIVER: &'static str = "MACHINE_DRIVER";

    /// docker-machine's switch to its built-in SSH client; berth's `--native-ssh` reads it.
    pub const MACHINE_NATIVE_SSH: &'static str = "MACHINE_NATIVE_SSH";

    /// docker-machine's shared CA certificate (`--tls-ca-cert`); taken so its scripts parse,
    /// unused because berth keeps a CA per machine.
    pub const MACHINE_TLS_CA_CERT: &'static str = "MACHINE_TLS_CA_CERT";

    /// docker-machine's shared CA key (`--tls-ca-key`); taken and unused, as above.
    pub const MACHINE_TLS_CA_KEY: &'static str = "MACHINE_TLS_CA_KEY";

    /// docker-machine's shared client certificate (`--tls-client-cert`); taken and unused.
    pub const MACHINE_TLS_CLIENT_CERT: &'static str = "MACHINE_TLS_CLIENT_CERT";

    /// docker-machine's shared client key (`--tls-client-key`); taken and unused.
    pub const MACHINE_TLS_CLIENT_KEY: &'static str = "MACHINE_TLS_CLIENT_KEY";

    /// docker-machine's GitHub token for release lookups (`--github-api-token`); taken and
    /// unused.
    pub const MACHINE_GITHUB_API_TOKEN: &'static str = "MACHINE_GITHUB_API_TOKEN";

    /// docker-machine's crash-report key (`--bugsnag-api-token`); taken and unused, berth
    /// reports to no service.
    pub const MACHINE_BUGSNAG_API_TOKEN: &'static str = "MACHINE_BUGSNAG_API_TOKEN";

    /// Set (to `42`) when berth starts a docker-machine driver plugin: without it the plugin
    /// binary refuses to serve (libmachine's `localbinary/plugin.go`).
    pub const MACHINE_PLUGIN_TOKEN: &'static str = "MACHINE_PLUGIN_TOKEN";

    /// Which driver a multi-driver binary (`docker-machine` itself) is to serve.
    pub const MACHINE_PLUGIN_DRIVER_NAME: &'static str = "MACHINE_PLUGIN_DRIVER_NAME";
}

/// Variables of the user's system that berth reads.
impl EnvVars {
    /// The user's login shell; `berth env` picks the syntax of its exports from it.
    pub const SHELL: &'static str = "SHELL";

    /// The user's home folder: where `~/.ssh` keys and docker-machine's default store are.
    pub const HOME: &'static str = "HOME";

    /// Where plugins and helper programs (ssh, sshfs, docker-machine) are looked for.
    pub const PATH: &'static str = "PATH";

    /// `dumb` turns off progress bars and colour.
    pub const TERM: &'static str = "TERM";

    /// Any value turns colour off (<https://no-color.org>).
    pub const NO_COLOR: &'static str = "NO_COLOR";

    /// The SSH agent's socket; when set, berth asks the agent for keys first, as `ssh` does.
    pub const SSH_AUTH_SOCK: &'static str = "SSH_AUTH_SOCK";
}
