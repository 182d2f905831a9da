//! File names other programs expect, and the names of a machine folder.

/// The files the docker CLI looks for in a certificate folder: the one `DOCKER_CERT_PATH`
/// names, and a context's TLS folder (`$DOCKER_CONFIG/contexts/tls/ID/docker`).
#[derive(Debug)]
pub struct DockerTlsFiles;

impl DockerTlsFiles {
    /// The CA certificate the docker CLI checks the engine's certificate against.
    pub const CA: &'static str = "ca.pem";
    /// The client certificate the docker CLI presents to the engine.
    pub const CERT: &'static str = "cert.pem";
    /// The client certificate's private key.
    pub const KEY: &'static str = "key.pem";
}

/// The files of the docker CLI's configuration folder (`DOCKER_CONFIG`, default `~/.docker`).
#[derive(Debug)]
pub struct DockerConfigFiles;

impl DockerConfigFiles {
    /// The docker CLI's settings; berth changes only its `currentContext` (`berth use`).
    pub const CONFIG: &'static str = "config.json";
}

/// The files of one machine's folder in berth's store (`~/.docker/machines/NAME`).
///
/// The client's three files carry the docker CLI's names, because `berth env` points
/// `DOCKER_CERT_PATH` at the folder itself.
#[derive(Debug)]
pub struct MachineFiles;

impl MachineFiles {
    /// The machine's record (driver, address, SSH, engine options, state), written by berth.
    pub const RECORD: &'static str = "config.toml";
    /// The machine's own CA certificate; read by the docker CLI and by berth's engine client.
    pub const CA_CERT: &'static str = DockerTlsFiles::CA;
    /// The CA's private key; read only by berth, to sign new certificates. Never leaves the
    /// folder.
    pub const CA_KEY: &'static str = "ca-key.pem";
    /// The client certificate; read by the docker CLI and by berth's engine client.
    pub const CLIENT_CERT: &'static str = DockerTlsFiles::CERT;
    /// The client certificate's key.
    pub const CLIENT_KEY: &'static str = DockerTlsFiles::KEY;
    /// berth's copy of the certificate the engine on the host serves (uploaded at provision).
    pub const SERVER_CERT: &'static str = "server.pem";
    /// berth's copy of the engine's private key.
    pub const SERVER_KEY: &'static str = "server-key.pem";
    /// The host key pinned at create, in OpenSSH's format; read by berth's SSH client and
    /// passed to `ssh` and `sshfs` as their `UserKnownHostsFile`.
    pub const KNOWN_HOSTS: &'static str = "known_hosts";
    /// The SSH key of a machine `berth import` brought from docker-machine, under
    /// docker-machine's name whatever the foreign record called it (its public half beside it
    /// with `.pub`); the record's `key_path` points at it.
    pub const IMPORTED_SSH_KEY: &'static str = DockerMachineFiles::SSH_KEY;
}

/// The names of docker-machine's store, which `berth import` reads and docker-machine's
/// Go driver plugins expect. A docker-machine machine folder names its certificates as
/// [`MachineFiles`] does (berth kept docker-machine's names).
#[derive(Debug)]
pub struct DockerMachineFiles;

impl DockerMachineFiles {
    /// The folder of machine folders under docker-machine's storage path.
    pub const MACHINES_DIR: &'static str = "machines";
    /// The folder of docker-machine's shared certificates under its storage path.
    pub const CERTS_DIR: &'static str = "certs";
    /// A machine's record, docker-machine's JSON `Host`.
    pub const CONFIG: &'static str = "config.json";
    /// The SSH key docker-machine's drivers made for a machine, in its folder (the name a
    /// record's `SSHKeyPath` ends in by default).
    pub const SSH_KEY: &'static str = "id_rsa";
}
