//! [`Engine`]: the calls berth makes on an engine, each bounded by the client's deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_net::HostPort;
use berth_tls::PemPair;
use bollard::models::{
    ContainerSummary, Node, NodeSpec, Swarm, SwarmInitRequest, SwarmJoinRequest, SystemInfo, Task,
};
use bollard::{ClientVersion, Docker};
use serde::{Deserialize, Serialize};

use crate::EngineError;
use crate::transport::{self, Inner};

/// The API version berth speaks: Debian 11's engine (20.10) speaks 1.41 and every engine since
/// still accepts it, and it has everything berth calls (swarm and nodes included).
const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 41,
};

/// What a client presents: the machine's CA (the only root it trusts) and its client certificate.
#[derive(Clone)]
pub struct ClientTls {
    /// The machine's CA certificate (PEM).
    pub ca_pem: String,
    /// The client certificate and key (PEM).
    pub client: PemPair,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

/// A client TLS configuration built once from a [`ClientTls`] (PEMs parsed, root store made),
/// so that an operation that dials the engine many times (a readiness poll) does it once.
#[derive(Clone)]
pub struct TlsConfig(Arc<rustls::ClientConfig>);

impl TlsConfig {
    /// Parses `tls` into a configuration that trusts only its CA.
    pub fn new(tls: &ClientTls) -> Result<Self, EngineError> {
        Ok(TlsConfig(berth_tls::client_config(
            &tls.ca_pem,
            &tls.client,
        )?))
    }
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

/// A running container and when it started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningContainer {
    /// The container's full ID.
    pub id: String,
    /// Its first name, without the leading '/'.
    pub name: String,
    /// `State.StartedAt` (RFC 3339 with nanoseconds), which a restart of the container changes.
    pub started_at: String,
}

/// What the engine says about itself on `GET /version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineVersion {
    /// The engine's release, e.g. `20.10.24+dfsg1`.
    #[serde(rename = "Version")]
    pub version: String,
    /// The highest API version it speaks, e.g. `1.41`.
    #[serde(rename = "ApiVersion")]
    pub api_version: String,
    /// The engine's OS, e.g. `linux`.
    #[serde(rename = "Os")]
    pub os: String,
    /// The engine's architecture, e.g. `amd64`.
    #[serde(rename = "Arch")]
    pub arch: String,
}

/// How to join a swarm. The token is a secret: it never shows in `Debug`.
#[derive(Clone)]
pub struct SwarmJoin {
    /// The managers' addresses (`HOST:2377`).
    pub remote_addrs: Vec<String>,
    /// The worker or manager join token.
    pub join_token: String,
    /// The address this node advertises to the others.
    pub advertise_addr: String,
    /// Where this node listens for cluster traffic.
    pub listen_addr: String,
}

impl std::fmt::Debug for SwarmJoin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmJoin")
            .field("remote_addrs", &self.remote_addrs)
            .field("join_token", &"<secret>")
            .field("advertise_addr", &self.advertise_addr)
            .field("listen_addr", &self.listen_addr)
            .finish()
    }
}

/// One engine, reached over mutual TLS. Requests of one `Engine` share a connection.
pub struct Engine {
    docker: Docker,
    inner: Arc<Inner>,
}

impl Engine {
    /// An engine client for `address`, trusting only `tls.ca_pem`, every stage bounded by `timeout`.
    /// Nothing is sent until the first call.
    pub fn new(address: HostPort, tls: &ClientTls, timeout: Duration) -> Result<Self, EngineError> {
        Self::with_config(address, &TlsConfig::new(tls)?, timeout)
    }

    /// An engine client for `address` with a configuration built before (see [`TlsConfig`]).
    pub fn with_config(
        address: HostPort,
        tls: &TlsConfig,
        timeout: Duration,
    ) -> Result<Self, EngineError> {
        let inner = Inner::new(address, tls.0.clone(), timeout)?;
        let for_bollard = inner.clone();
        let docker = Docker::connect_with_custom_transport(
            move |req| for_bollard.clone().send(req),
            Some(format!("https://{}", inner.address)),
            // Our own deadlines are tighter; bollard's is a backstop.
            timeout.as_secs().saturating_add(5),
            &API_VERSION,
        )
        .map_err(|e| EngineError::Io {
            address: inner.address.to_string(),
            stage: "setting up the client",
            reason: e.to_string(),
        })?;
        Ok(Engine { docker, inner })
    }

    /// The engine's address.
    pub fn address(&self) -> &HostPort {
        &self.inner.address
    }

    /// `/_ping` (every engine version has it), then `/version`, on one connection.
    pub async fn probe(&self) -> Result<EngineVersion, EngineError> {
        self.ping().await?;
        self.version().await
    }

    /// `GET /_ping`.
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.call("GET /_ping", self.docker.ping()).await.map(drop)
    }

    /// `GET /_ping`, and what its `Swarm` header says: `inactive`, `pending`, `error`,
    /// `locked`, `active/worker` or `active/manager` (moby's ping handler, API 1.42 and later).
    /// `None` from engines that do not send it (Debian's 20.10, API 1.41): they say nothing
    /// about Swarm mode there, and `/info` must be asked.
    pub async fn ping_swarm(&self) -> Result<Option<String>, EngineError> {
        use http_body_util::BodyExt as _;
        let limit = self.inner.timeout.saturating_mul(3);
        let asked = async {
            let response = self.inner.get("/_ping").await?;
            let status = response.status();
            let swarm = response
                .headers()
                .get("Swarm")
                .and_then(|v| v.to_str().ok())
                // An engine's header, bounded and plain before it goes anywhere.
                .filter(|v| v.len() <= 32 && v.bytes().all(|b| b.is_ascii_graphic()))
                .map(str::to_owned);
            // The body ("OK") is read whole, so the connection stays usable for `/version`;
            // an engine that sends more than a ping's worth is not read further.
            let body = http_body_util::Limited::new(response.into_body(), 4096)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if !status.is_success() {
                return Err(EngineError::HttpStatus {
                    address: self.inner.address.to_string(),
                    what: "GET /_ping",
                    status: status.as_u16(),
                    message: shorten(&String::from_utf8_lossy(&body)),
                });
            }
            Ok(swarm)
        };
        match tokio::time::timeout(limit, asked).await {
            Ok(answer) => answer,
            Err(_) => Err(EngineError::Timeout {
                address: self.inner.address.to_string(),
                timeout: limit,
                stage: "waiting for the answer",
            }),
        }
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<EngineVersion, EngineError> {
        let v = self.call("GET /version", self.docker.version()).await?;
        Ok(EngineVersion {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo, EngineError> {
        self.call("GET /info", self.docker.info()).await
    }

    /// `GET /containers/json` (`all` includes stopped ones).
    pub async fn containers(&self, all: bool) -> Result<Vec<ContainerSummary>, EngineError> {
        let options = bollard::query_parameters::ListContainersOptionsBuilder::default()
            .all(all)
            .build();
        self.call(
            "GET /containers/json",
            self.docker.list_containers(Some(options)),
        )
        .await
    }

    /// The running containers, each with its start time (`GET /containers/json`, then
    /// `GET /containers/{id}/json` for each): what must be the same after an engine restart
    /// that kept them running (live-restore).
    pub async fn running(&self) -> Result<Vec<RunningContainer>, EngineError> {
        let mut out = Vec::new();
        for summary in self.containers(false).await? {
            let Some(id) = summary.id else { continue };
            let inspected = self
                .call(
                    "GET /containers/{id}/json",
                    self.docker.inspect_container(
                        &id,
                        None::<bollard::query_parameters::InspectContainerOptions>,
                    ),
                )
                .await?;
            out.push(RunningContainer {
                name: summary
                    .names
                    .and_then(|n| n.into_iter().next())
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .unwrap_or_else(|| id.clone()),
                started_at: inspected
                    .state
                    .and_then(|s| s.started_at)
                    .unwrap_or_default(),
                id,
            });
        }
        Ok(out)
    }

    /// `GET /swarm`: the cluster this engine manages (an error on workers and non-members).
    pub async fn swarm(&self) -> Result<Swarm, EngineError> {
        self.call("GET /swarm", self.docker.inspect_swarm()).await
    }

    /// `POST /swarm/init`; returns the new node's ID.
    pub async fn swarm_init(
        &self,
        advertise_addr: &str,
        listen_addr: &str,
    ) -> Result<String, EngineError> {
        let request = SwarmInitRequest {
            advertise_addr: Some(advertise_addr.to_owned()),
            listen_addr: Some(listen_addr.to_owned()),
            ..Default::default()
        };
        self.call("POST /swarm/init", self.docker.init_swarm(request))
            .await
    }

    /// `POST /swarm/join`.
    pub async fn swarm_join(&self, join: &SwarmJoin) -> Result<(), EngineError> {
        let request = SwarmJoinRequest {
            remote_addrs: Some(join.remote_addrs.clone()),
            join_token: Some(join.join_token.clone()),
            advertise_addr: Some(join.advertise_addr.clone()),
            listen_addr: Some(join.listen_addr.clone()),
            ..Default::default()
        };
        self.call("POST /swarm/join", self.docker.join_swarm(request))
            .await
    }

    /// `POST /swarm/leave`.
    pub async fn swarm_leave(&self, force: bool) -> Result<(), EngineError> {
        let options = bollard::query_parameters::LeaveSwarmOptionsBuilder::default()
            .force(force)
            .build();
        self.call("POST /swarm/leave", self.docker.leave_swarm(Some(options)))
            .await
    }

    /// `GET /nodes` (managers only).
    pub async fn nodes(&self) -> Result<Vec<Node>, EngineError> {
        self.call("GET /nodes", self.docker.list_nodes(None)).await
    }

    /// `GET /nodes/{id}` (managers only).
    pub async fn node(&self, id: &str) -> Result<Node, EngineError> {
        self.call("GET /nodes/{id}", self.docker.inspect_node(id))
            .await
    }

    /// `POST /nodes/{id}/update`: `version` is the node's `Version.Index` as last read, so that
    /// a concurrent change is refused rather than overwritten.
    pub async fn node_update(
        &self,
        id: &str,
        version: u64,
        spec: NodeSpec,
    ) -> Result<(), EngineError> {
        let options = bollard::query_parameters::UpdateNodeOptionsBuilder::default()
            .version(i64::try_from(version).unwrap_or(i64::MAX))
            .build();
        self.call(
            "POST /nodes/{id}/update",
            self.docker.update_node(id, spec, options),
        )
        .await
    }

    /// `DELETE /nodes/{id}` (`force` removes a node that is not down yet).
    pub async fn node_remove(&self, id: &str, force: bool) -> Result<(), EngineError> {
        let options = bollard::query_parameters::DeleteNodeOptionsBuilder::default()
            .force(force)
            .build();
        self.call(
            "DELETE /nodes/{id}",
            self.docker.delete_node(id, Some(options)),
        )
        .await
    }

    /// `GET /tasks?filters=…` (managers only), e.g. `node=ID` and `desired-state=running`.
    pub async fn tasks(&self, filters: &[(&str, &str)]) -> Result<Vec<Task>, EngineError> {
        let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
        for (key, value) in filters {
            map.entry((*key).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        let options = bollard::query_parameters::ListTasksOptionsBuilder::default()
            .filters(&map)
            .build();
        self.call("GET /tasks", self.docker.list_tasks(Some(options)))
            .await
    }

    /// bollard itself, for calls this type does not wrap yet (same transport, same trust).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Runs one call within the deadline and sorts its failure.
    async fn call<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> Result<T, EngineError> {
        // The transport bounds each stage; this bounds reading the body too.
        let limit = self.inner.timeout.saturating_mul(3);
        match tokio::time::timeout(limit, fut).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.sort(what, e)),
            Err(_) => Err(EngineError::Timeout {
                address: self.inner.address.to_string(),
                timeout: limit,
                stage: "waiting for the answer",
            }),
        }
    }

    fn sort(&self, what: &'static str, e: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as B;
        let address = self.inner.address.to_string();
        match e {
            B::IOError { err } => match transport::unwrap(err) {
                Ok(engine) => engine,
                Err(io) => self.inner.classify(&io, "reading the answer"),
            },
            B::DockerResponseServerError {
                status_code,
                message,
            } => EngineError::HttpStatus {
                address,
                what,
                status: status_code,
                message: shorten(&message),
            },
            B::JsonDataError { message, .. } => EngineError::BadJson {
                address,
                what,
                reason: message,
            },
            B::JsonSerdeError { err } => EngineError::BadJson {
                address,
                what,
                reason: err.to_string(),
            },
            B::RequestTimeoutError => EngineError::Timeout {
                address,
                timeout: self.inner.timeout,
                stage: "waiting for the answer",
            },
            B::HyperResponseError { err } => self.inner.classify(&err, "reading the answer"),
            other => EngineError::BadHttp {
                address,
                what,
                reason: other.to_string(),
            },
        }
    }
}

/// At most this much of an engine's message goes into an error.
const MAX_MESSAGE: usize = 300;

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Runs an engine call to completion from blocking code: on the current tokio runtime when
/// there is one (the caller must then be on a blocking thread, e.g. `spawn_blocking`), or on a
/// small runtime of its own.
pub fn block_on<T, E: From<EngineError>>(fut: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return handle.block_on(fut);
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            E::from(EngineError::Io {
                address: String::new(),
                stage: "starting the async runtime",
                reason: e.to_string(),
            })
        })?
        .block_on(fut)
}
