//! `ls`: every machine with its state, URL and engine version, asked of all at once.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use berth_machine::MachineRecord;
use berth_machine::{Live, LiveState};
use berth_names::EnvVars;
use serde::Serialize;

use super::Ctx;
use crate::cli::LsArgs;
use crate::dialect::Dialect;
use berth_compat::template::{GoTemplate, Shape};
use berth_compat::words::Sentence;

/// One row of `berth ls`; also its JSON shape.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    active: bool,
    driver: String,
    state: String,
    url: String,
    docker: String,
    /// The machine's cluster and role (`CLUSTER/manager`), empty outside a swarm.
    swarm: String,
    error: String,
    /// The engine labels, for `--filter label=…`.
    #[serde(skip)]
    labels: Vec<String>,
    /// How long the machine took to answer.
    #[serde(skip)]
    response: Duration,
}

impl Row {
    /// docker-machine's `HostListItem`, what its `ls --format` templates read.
    fn docker_machine_item(&self) -> serde_json::Value {
        serde_json::json!({
            "Name": self.name,
            "Active": if self.active { "*" } else { "-" },
            "ActiveHost": self.active,
            "ActiveSwarm": false,
            "DriverName": self.driver,
            "State": self.state,
            "URL": self.url,
            "SwarmOptions": null,
            "Swarm": "",
            "EngineOptions": null,
            "Error": self.error.lines().next().unwrap_or(""),
            "DockerVersion": if self.docker.is_empty() { "Unknown" } else { self.docker.as_str() },
            "ResponseTime": berth_compat::output::go_duration(self.response),
        })
    }
}

/// docker-machine's own `ls` (commands/ls.go `lsDefaultFormat`).
const DOCKER_MACHINE_TABLE: &str = "table {{ .Name }}\\t{{ .Active }}\\t{{ .DriverName}}\\t{{ .State }}\\t{{ .URL }}\\t{{ .Swarm }}\\t{{ .DockerVersion }}\\t{{ .Error}}";

/// The column headers docker-machine's `table` templates print (commands/ls.go `headers`).
fn headers() -> serde_json::Value {
    serde_json::json!({
        "Name": "NAME", "Active": "ACTIVE", "ActiveHost": "ACTIVE_HOST",
        "ActiveSwarm": "ACTIVE_SWARM", "DriverName": "DRIVER", "State": "STATE", "URL": "URL",
        "SwarmOptions": "SWARM_OPTIONS", "Swarm": "SWARM", "EngineOptions": "ENGINE_OPTIONS",
        "Error": "ERRORS", "DockerVersion": "DOCKER", "ResponseTime": "RESPONSE",
    })
}

/// What `--format` asks for.
enum Format {
    /// berth's table.
    Table,
    /// berth's JSON list.
    Json,
    /// A Go template per machine; `table` templates get a header and aligned columns.
    Template { text: String, table: bool },
}

impl Format {
    /// `json` and `table` keep berth's meaning; anything else is a Go template, as in
    /// docker-machine (commands/ls.go `parseFormat`). Called as docker-machine, the default
    /// is docker-machine's own table.
    fn of(arg: Option<&str>, dialect: Dialect) -> Format {
        let dm = dialect.is_docker_machine();
        let text = match arg {
            Some("json") => return Format::Json,
            None | Some("table") if !dm => return Format::Table,
            None | Some("table") => DOCKER_MACHINE_TABLE,
            Some(text) => text,
        };
        let (table, text) = match text.strip_prefix("table") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let text = text
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        Format::Template {
            text: format!("{text}\n"),
            table,
        }
    }
}

pub(super) fn run(ctx: &Ctx, args: &LsArgs) -> anyhow::Result<ExitCode> {
    let filters = Filters::parse(&args.filter, ctx.dialect)?;
    let format = Format::of(args.format.as_deref(), ctx.dialect);
    let deadline = Duration::from_secs(args.timeout.max(1));
    let entries = ctx.store().list()?;
    // Every machine is asked at once under one deadline, so `ls` of a hundred machines with
    // some unreachable takes about one deadline; whatever has not answered by then is Timeout.
    let records: Vec<MachineRecord> = entries
        .iter()
        .filter_map(|entry| entry.record.as_ref().ok().cloned())
        .collect();
    // DOCKER_HOST wins; without it, the docker CLI's selected context (DOCKER_CONTEXT, then
    // config.json's currentContext), as the docker CLI itself decides.
    let active = berth_machine::active_machine(
        &ctx.machines,
        &records,
        ctx.env.get(EnvVars::DOCKER_HOST),
        ctx.env.get(EnvVars::DOCKER_CONTEXT),
    )
    .map(|r| r.name.clone());
    let mut live = tokio::runtime::Handle::current()
        .block_on(berth_machine::live_states(&ctx.machines, records, deadline))
        .into_iter();
    let now = time::OffsetDateTime::now_utc();
    let rows: Vec<Row> = entries
        .into_iter()
        .map(|entry| match entry.record {
            Ok(record) => {
                let live = live.next().unwrap_or_else(|| Live {
                    state: LiveState::State("Unknown".into()),
                    docker: String::new(),
                    error: None,
                    response: Duration::ZERO,
                    swarm: None,
                });
                let labels = record.engine.labels.clone();
                Row {
                    active: active.as_deref() == Some(record.name.as_str()),
                    driver: record.driver.to_string(),
                    state: live.state.to_string(),
                    url: record
                        .url
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    docker: live.docker,
                    swarm: live.swarm.as_ref().map(|m| m.summary()).unwrap_or_default(),
                    error: record
                        .error
                        .clone()
                        .or(live.error)
                        // From the certificate files, as `berth certs` reads them (the CA
                        // too); from the record where the folder has none.
                        .or_else(|| {
                            let expiry = ctx
                                .store()
                                .machine(&record.name)
                                .map(|m| berth_machine::Expiry::of(&m))
                                .unwrap_or_default();
                            if expiry.soonest().is_some() {
                                expiry.warning(&record.name, now)
                            } else {
                                berth_machine::expiry_warning(&record, now)
                            }
                        })
                        .unwrap_or_default(),
                    name: entry.name,
                    labels,
                    response: live.response,
                }
            }
            Err(err) => Row {
                name: entry.name,
                active: false,
                driver: if ctx.dialect.is_docker_machine() {
                    "not found".into()
                } else {
                    String::new()
                },
                state: "Error".into(),
                url: String::new(),
                docker: String::new(),
                swarm: String::new(),
                error: err.to_string(),
                labels: Vec::new(),
                response: Duration::ZERO,
            },
        })
        .filter(|row| filters.matches(row))
        .collect();

    if args.quiet {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        if !names.is_empty() {
            ctx.printer.data(&names.join("\n"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    match format {
        Format::Json => {
            ctx.printer.json(
                &serde_json::to_string_pretty(&rows).context("cannot render the list as JSON")?,
            );
        }
        Format::Table => ctx.printer.data(&table(&rows)),
        Format::Template { text, table } => {
            let template = GoTemplate::parse(&text)?;
            let mut out = String::new();
            if table {
                out.push_str(&template.render(&headers(), Shape::Map)?);
            }
            for row in &rows {
                out.push_str(&template.render(&row.docker_machine_item(), Shape::Struct)?);
            }
            if table {
                out = berth_compat::output::tabwrite(&out);
            }
            ctx.printer.raw(&out);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn table(rows: &[Row]) -> String {
    let header = [
        "NAME", "ACTIVE", "DRIVER", "STATE", "URL", "SWARM", "DOCKER", "ERRORS",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                if r.active { "*".into() } else { "-".into() },
                r.driver.clone(),
                r.state.clone(),
                r.url.clone(),
                r.swarm.clone(),
                r.docker.clone(),
                // One line per machine: a multi-line error would break the table.
                r.error.lines().next().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    crate::table::render(header, &cells)
}

/// The `--filter`s, as docker-machine combined them: values of one key are alternatives,
/// different keys must all match.
#[derive(Default)]
struct Filters {
    names: Vec<NameFilter>,
    drivers: Vec<String>,
    states: Vec<String>,
    labels: Vec<String>,
    swarms: Vec<String>,
}

/// berth matches names with shell globs (`web*`); docker-machine with regular expressions
/// (`^web`), which its scripts keep using.
enum NameFilter {
    Glob(String),
    Regex(regex::Regex),
}

impl Filters {
    fn parse(filters: &[String], dialect: Dialect) -> anyhow::Result<Filters> {
        let dm = dialect.is_docker_machine();
        let mut out = Filters::default();
        for text in filters {
            let Some((key, value)) = text.split_once('=') else {
                return Err(dialect.error(
                    format!("the filter '{text}' is not KEY=VALUE; use name=PATTERN, driver=NAME, state=STATE or label=KEY=VALUE"),
                    Sentence::UnsupportedFilterSyntax,
                ));
            };
            let value = value.to_owned();
            match key.to_ascii_lowercase().as_str() {
                "name" if dm => {
                    out.names
                        .push(NameFilter::Regex(regex::Regex::new(&value).with_context(
                            || format!("the name filter {value:?} is not a regular expression"),
                        )?))
                }
                "name" => out.names.push(NameFilter::Glob(value)),
                "driver" => out.drivers.push(value),
                "state" => out.states.push(value),
                "label" => out.labels.push(value),
                "swarm" => out.swarms.push(value),
                key => {
                    return Err(dialect.error(
                        format!("unknown filter key '{key}'; use name=PATTERN, driver=NAME, state=STATE or label=KEY=VALUE"),
                        Sentence::UnsupportedFilterKey(key.to_owned()),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn matches(&self, row: &Row) -> bool {
        let any = |list: &[String], test: &dyn Fn(&str) -> bool| {
            list.is_empty() || list.iter().any(|v| test(v))
        };
        let names = self.names.is_empty()
            || self.names.iter().any(|f| match f {
                NameFilter::Glob(glob) => glob_match(glob, &row.name),
                NameFilter::Regex(re) => re.is_match(&row.name),
            });
        names
            && any(&self.drivers, &|d| row.driver.eq_ignore_ascii_case(d))
            && any(&self.states, &|s| row.state.eq_ignore_ascii_case(s))
            && any(&self.labels, &|l| label_matches(l, &row.labels))
            // Classic Swarm masters are docker-machine's; berth makes none, so no machine is
            // in one (`berth swarm` is Swarm mode).
            && self.swarms.is_empty()
    }
}

/// `label=KEY=VALUE` (the value compared without case, as docker-machine did), or `label=KEY`.
fn label_matches(filter: &str, labels: &[String]) -> bool {
    let (key, value) = match filter.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (filter, None),
    };
    labels.iter().any(|label| {
        let (k, v) = label.split_once('=').unwrap_or((label.as_str(), ""));
        k == key && value.is_none_or(|want| v.eq_ignore_ascii_case(want))
    })
}

/// `*` and `?` globbing, enough for machine names (which have no other special characters).
fn glob_match(glob: &str, name: &str) -> bool {
    fn go(g: &[char], n: &[char]) -> bool {
        match (g.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&g[1..], n) || (!n.is_empty() && go(g, &n[1..])),
            (Some('?'), Some(_)) => go(&g[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &n[1..]),
            _ => false,
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&g, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_by_key_and_value() {
        let labels = vec!["env=prod".to_owned(), "team=web".to_owned()];
        assert!(label_matches("env=PROD", &labels));
        assert!(label_matches("team", &labels));
        assert!(!label_matches("env=dev", &labels));
        assert!(!label_matches("tier", &labels));
    }

    #[test]
    fn globs_match_like_a_shell() {
        assert!(glob_match("web*", "web1"));
        assert!(glob_match("w?b1", "web1"));
        assert!(glob_match("web1", "web1"));
        assert!(!glob_match("web", "web1"));
        assert!(!glob_match("db*", "web1"));
    }

    #[test]
    fn the_empty_table_is_the_header() {
        assert_eq!(
            table(&[]),
            "NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS"
        );
    }
}
