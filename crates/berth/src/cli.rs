//! The command line, and nothing else: parsing lives here, behaviour in `commands`.

use std::path::PathBuf;

use berth_names::EnvVars;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::dialect::{self, Dialect};

/// The command line of the dialect in use: named `docker-machine` when called so, so that
/// usage lines and help speak of the command the user typed.
pub(crate) fn command(dialect: Dialect) -> clap::Command {
    let command = Cli::command();
    match dialect {
        Dialect::Berth => command,
        Dialect::DockerMachine => command
            .name(dialect::DOCKER_MACHINE)
            .bin_name(dialect::DOCKER_MACHINE)
            .version(dialect::DOCKER_MACHINE_VERSION),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "berth",
    version,
    about = "Turn machines into Docker hosts whose engine listens only behind mutual TLS",
    long_about = "berth reaches a machine over SSH (or makes one through a driver), installs the Docker \
engine, puts its API on port 2376 behind mutual TLS with a CA of the machine's own, and keeps everything a \
client needs under ~/.docker/machines/<name>. `eval \"$(berth env NAME)\"` then points the docker CLI at it.",
    propagate_version = true
)]
pub(crate) struct Cli {
    /// The storage folder (default: ~/.docker/machines, or $DOCKER_CONFIG/machines; also
    /// BERTH_STORAGE_PATH). Called as docker-machine, the folder that holds `machines/`, as
    /// docker-machine's -s and MACHINE_STORAGE_PATH.
    #[arg(long, short = 's', global = true, value_name = "PATH")]
    pub storage_path: Option<PathBuf>,

    /// Print berth's steps: each remote command with its output and timing, plugins' stderr.
    ///
    /// Of the libraries under berth only their warnings show; BERTH_LOG=debug (tracing's
    /// EnvFilter syntax) adds their own debug lines.
    #[arg(long, short = 'D', global = true, env = EnvVars::BERTH_DEBUG)]
    pub debug: bool,

    /// Use berth's own SSH client (libssh2) instead of the system's OpenSSH for `ssh`.
    #[arg(long, global = true, env = EnvVars::MACHINE_NATIVE_SSH)]
    pub native_ssh: bool,

    /// docker-machine's shared-certificate and service flags, taken so that its scripts
    /// parse; berth keeps a CA per machine and reports to no service, so they change nothing.
    #[command(flatten)]
    pub legacy: LegacyGlobals,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create machines: make or reach the hosts, install the engine, lock it behind TLS.
    Create(Box<CreateArgs>),
    /// Print the exports that point the docker CLI at a machine.
    Env(EnvArgs),
    /// Open a shell on a machine, or run one command there.
    Ssh(SshArgs),
    /// Copy files between this computer and machines (NAME:path).
    Scp(ScpArgs),
    /// Mount a folder of a machine here with SSHFS, or unmount it (-u).
    Mount(MountArgs),
    /// List machines with their state, URL and engine version.
    Ls(LsArgs),
    /// Show everything berth knows about a machine, as JSON (or through a Go template).
    Inspect(InspectArgs),
    /// Show the state of a machine.
    Status(NameArg),
    /// Print the address of machines.
    Ip(NamesArg),
    /// Print the engine URL of a machine.
    Url(NameArg),
    /// Print the docker CLI flags that reach a machine.
    Config(NameArg),
    /// Start machines.
    Start(NamesArg),
    /// Stop machines.
    Stop(NamesArg),
    /// Restart machines.
    Restart(NamesArg),
    /// Kill machines (stop them without an orderly shutdown).
    Kill(NamesArg),
    /// Remove machines: their local state, and the host itself where the driver made it.
    Rm(RmArgs),
    /// Run the provisioning again: finishes a failed create, repairs a drifted host.
    Provision(ProvisionArgs),
    /// Make new certificates for machines and restart their engines with them.
    RegenerateCerts(RegenerateCertsArgs),
    /// Check addresses for exposed Docker engines: plain HTTP on 2375, TLS without client verification on 2376.
    Audit(AuditArgs),
    /// Swarm mode over machines: make a cluster, join, leave, list its nodes.
    #[command(subcommand)]
    Swarm(SwarmCommand),
    /// Print the name of the machine DOCKER_HOST points at.
    Active,
    /// Make a machine the docker CLI's current context (as `docker context use`).
    Use(UseArgs),
    /// Show when each machine's CA, server and client certificates expire.
    Certs(CertsArgs),
    /// Print berth's version, or a machine's engine version.
    Version(VersionArgs),
    /// Upgrade the engine of machines through their package manager.
    Upgrade(NamesArg),
    /// Bring docker-machine's machines into berth's store (copies; docker-machine's store is
    /// left as it was).
    Import(ImportArgs),
    /// Living beside docker-machine: the `docker-machine` symlink.
    #[command(subcommand)]
    Compat(CompatCommand),
    /// Print the script that completes commands and machine names in a shell.
    ///
    /// On each Tab the script asks this berth for the candidates: the commands and flags, and
    /// the machine and driver names of the store as it is then. Load it at each shell start:
    /// `source <(berth completion bash)` in ~/.bashrc, `source <(berth completion zsh)` in
    /// ~/.zshrc (after compinit), `berth completion fish | source` in
    /// ~/.config/fish/config.fish.
    Completion(CompletionArgs),
    /// Write manual pages for berth and each of its commands (groff, section 1).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct NameArg {
    /// The machine's name.
    pub name: String,
}

#[derive(Debug, Args)]
pub(crate) struct LegacyGlobals {
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_TLS_CA_CERT)]
    pub tls_ca_cert: Option<String>,
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_TLS_CA_KEY)]
    pub tls_ca_key: Option<String>,
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_TLS_CLIENT_CERT)]
    pub tls_client_cert: Option<String>,
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_TLS_CLIENT_KEY)]
    pub tls_client_key: Option<String>,
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_GITHUB_API_TOKEN)]
    pub github_api_token: Option<String>,
    #[arg(long, global = true, hide = true, env = EnvVars::MACHINE_BUGSNAG_API_TOKEN)]
    pub bugsnag_api_token: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A Go template over docker-machine's view of the machine, e.g. '{{.Driver.IPAddress}}'
    /// or '{{json .}}'.
    #[arg(long, short = 'f', value_name = "TEMPLATE")]
    pub format: Option<String>,
    /// Print secrets as they are: engine environment values (`--engine-env`, proxy passwords)
    /// and driver credentials are shown as `<redacted>` otherwise. docker-machine's inspect
    /// always printed them.
    #[arg(long)]
    pub show_secrets: bool,
    /// The machine's name.
    pub name: String,
}

#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    /// A machine: print its engine's version instead.
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompatCommand {
    /// Make a `docker-machine` symlink to this berth, so that docker-machine's scripts run
    /// unchanged (the same as `ln -s "$(command -v berth)" DIR/docker-machine`).
    InstallSymlink(InstallSymlinkArgs),
}

#[derive(Debug, Args)]
pub(crate) struct InstallSymlinkArgs {
    /// The folder for the symlink (default: the folder this berth is in).
    pub dir: Option<PathBuf>,
    /// Replace an existing docker-machine there.
    #[arg(long)]
    pub force: bool,
}

/// `provision`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct ProvisionArgs {
    /// The machines' names.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Do not ask before a provisioning that may restart an engine whose running containers
    /// would stop.
    #[arg(long, short = 'y', visible_alias = "force", visible_short_alias = 'f')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NamesArg {
    /// The machines' names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The driver that makes or reaches the host: generic, none, or a plugin's name.
    ///
    /// Each driver adds its own flags (`berth create -d DRIVER --help` lists them), and each
    /// of those flags can also be set by an environment variable named after it
    /// (--generic-ip-address: GENERIC_IP_ADDRESS); the command line wins over the variable.
    #[arg(long, short = 'd', default_value = "generic", env = EnvVars::MACHINE_DRIVER)]
    pub driver: String,

    #[command(flatten)]
    pub engine: EngineArgs,

    /// Extra names or addresses for the server certificate (repeatable).
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,

    /// Key algorithm of the certificates: ecdsa-p256, or rsa-2048 for old engines.
    #[arg(long, value_name = "ALGORITHM", default_value = "ecdsa-p256")]
    pub tls_algorithm: String,

    /// The SHA256 fingerprint of the host's SSH key, if known; pins it up front instead of trusting the first contact.
    #[arg(long, value_name = "SHA256:…")]
    pub ssh_host_key_fingerprint: Option<String>,

    /// The name of the machine's docker context (default: the machine's name).
    #[arg(long, value_name = "NAME", conflicts_with = "no_context")]
    pub context_name: Option<String>,

    /// Make no docker context for the machine (`berth env` still points docker at it).
    #[arg(long)]
    pub no_context: bool,

    /// Join the new machines to the swarm that this machine manages (`berth swarm join`).
    #[arg(long, value_name = "MANAGER")]
    pub swarm_join: Option<String>,

    /// The new machines' role in that swarm.
    #[arg(long, value_enum, default_value = "worker", requires = "swarm_join")]
    pub swarm_role: SwarmRole,

    /// The machines' names (several make several machines at once).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SwarmCommand {
    /// Start Swarm mode on a machine, which becomes the first manager of a new cluster.
    Init(SwarmInitArgs),
    /// Join machines to the cluster a manager manages (all at once).
    Join(SwarmJoinArgs),
    /// Take machines out of their cluster: drain, demote a manager, leave, remove the node.
    Leave(SwarmLeaveArgs),
    /// List the nodes of a cluster with the berth machine each one is.
    Ls(SwarmLsArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SwarmRole {
    Worker,
    Manager,
}

#[derive(Debug, Args)]
pub(crate) struct SwarmInitArgs {
    /// The address the other nodes reach this one at (an IP or an interface name, with an
    /// optional :PORT); default: the machine's own address, as berth reaches it.
    #[arg(long, value_name = "ADDR")]
    pub advertise_addr: Option<String>,
    /// The machine that becomes the manager.
    pub manager: String,
}

#[derive(Debug, Args)]
pub(crate) struct SwarmJoinArgs {
    /// A manager of the cluster (a berth machine); the join tokens come from its engine.
    #[arg(long, value_name = "MANAGER")]
    pub manager: String,
    /// The role of the joining machines.
    #[arg(long, value_enum, default_value = "worker")]
    pub role: SwarmRole,
    /// The machines that join.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SwarmLeaveArgs {
    /// Leave even when the cluster loses its quorum, or ends (the last manager).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The machines that leave.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SwarmLsArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: TableFormat,
    /// A manager to ask; default: the first of berth's machines that answers as one.
    pub manager: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct EngineArgs {
    /// A get.docker.com-style install script; default: the distribution's own engine package.
    #[arg(long, value_name = "URL")]
    pub engine_install_url: Option<String>,
    /// A dockerd flag, as key=value or key (repeatable).
    #[arg(long = "engine-opt", value_name = "KEY=VALUE")]
    pub engine_opt: Vec<String>,
    /// An engine label (repeatable).
    #[arg(long = "engine-label", value_name = "LABEL")]
    pub engine_label: Vec<String>,
    /// A registry the engine may reach without TLS (repeatable).
    #[arg(long = "engine-insecure-registry", value_name = "HOST")]
    pub engine_insecure_registry: Vec<String>,
    /// A registry mirror (repeatable).
    #[arg(long = "engine-registry-mirror", value_name = "URL")]
    pub engine_registry_mirror: Vec<String>,
    /// The engine's storage driver.
    #[arg(long, value_name = "DRIVER")]
    pub engine_storage_driver: Option<String>,
    /// An environment variable for the engine, KEY=VALUE (repeatable).
    #[arg(long = "engine-env", value_name = "KEY=VALUE")]
    pub engine_env: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShellKind {
    Bash,
    Zsh,
    Sh,
    Fish,
    Tcsh,
    Powershell,
    Cmd,
    Nu,
    Emacs,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// The shell to print for; default: detected from $SHELL (POSIX when unset).
    #[arg(long, value_enum)]
    pub shell: Option<ShellKind>,
    /// Print the commands that unset the variables instead.
    #[arg(long, short = 'u')]
    pub unset: bool,
    /// Add the machine's address to NO_PROXY.
    #[arg(long)]
    pub no_proxy: bool,
    /// The machine's name (not needed with --unset).
    #[arg(required_unless_present = "unset")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SshArgs {
    /// The machine's name.
    pub name: String,
    /// OpenSSH options, then a command to run instead of a shell (its exit status becomes
    /// berth's): `ssh web1 uname -a`, `ssh web1 -C -- ls -l`, `ssh web1 -L 8080:localhost:80`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "[SSH OPTIONS] [--] COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ScpArgs {
    /// Copy folders recursively.
    #[arg(long, short = 'r')]
    pub recursive: bool,
    /// What to copy: a local path or NAME:path.
    pub source: String,
    /// Where to: a local path or NAME:path.
    pub destination: String,
}

/// `mount`'s arguments, as docker-machine's: `[NAME:]PATH [DIR]`.
#[derive(Debug, Args)]
pub(crate) struct MountArgs {
    /// Unmount DIR instead of mounting.
    #[arg(long = "unmount", short = 'u')]
    pub unmount: bool,
    /// The machine's folder, NAME:PATH (USER@NAME:PATH logs in as USER; called as
    /// docker-machine, a PATH alone is on the machine `default`, as docker-machine has it).
    #[arg(value_name = "[NAME:]PATH")]
    pub source: String,
    /// The local folder to mount it on (it must exist); default: PATH.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: TableFormat,
    /// Seconds each stage of a probe may wait (connect, handshake, answer); one address given
    /// gets three times that in all, however many addresses its name resolves to.
    #[arg(long, short = 't', default_value_t = 5)]
    pub timeout: u64,
    /// Hosts to check (HOST probes 2375 and 2376; HOST:PORT or tcp://HOST:PORT only that port).
    #[arg(required = true, value_name = "ADDRESS")]
    pub addresses: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// `table` (the default), `json`, or a Go template over each machine (docker-machine's
    /// fields: .Name .Active .DriverName .State .URL .Swarm .DockerVersion .Error
    /// .ResponseTime; `table {{.Name}}\t{{.URL}}` adds a header and aligns the columns).
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show only matching machines: name=PATTERN, driver=NAME, state=STATE, label=KEY=VALUE
    /// (repeatable; values of one key are alternatives, different keys must all match).
    #[arg(long, value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Print only the names.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Seconds to wait, for all machines at once; those that have not answered show Timeout.
    #[arg(long, short = 't', default_value_t = 5)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Remove the local state even when the driver cannot remove the host or the record is unreadable.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The machines' names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RegenerateCertsArgs {
    /// Also make new client certificates (the old ones stop working).
    #[arg(long)]
    pub client_certs: bool,
    /// Do not ask before restarting the engine.
    #[arg(long, short = 'y', visible_alias = "force", visible_short_alias = 'f')]
    pub yes: bool,
    /// Extra names or addresses for the new server certificate (repeatable; kept for later regenerations).
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,
    /// The machines' names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    /// Go back to the `default` context (DOCKER_HOST, else the local engine).
    #[arg(long, short = 'u', conflicts_with = "name")]
    pub unset: bool,
    /// The machine's name.
    #[arg(required_unless_present = "unset")]
    pub name: Option<String>,
}

/// A table for people or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CertsArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: TableFormat,
    /// The machines' names (default: every machine).
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// docker-machine's storage folder, the one holding machines/ and certs/ (default:
    /// $MACHINE_STORAGE_PATH, else ~/.docker/machine).
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
    /// Also read the files that config.json names by absolute path outside the store
    /// (certificates, SSH keys) where the store has no copy; each one read is named. Off by
    /// default: a store someone handed over can name any file of this computer.
    #[arg(long)]
    pub trust_recorded_paths: bool,
    /// The machines to import (default: every machine there).
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The folder to write the pages into (made if missing), e.g. /usr/local/share/man/man1;
    /// without it, berth's own page goes to stdout (`berth man | man -l -`).
    pub dir: Option<PathBuf>,
}
