//! `ls`: every machine with its state, URL and engine version, asked of all at once.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use berth_machine::{Live, LiveState};
use berth_store::MachineRecord;
use serde::Serialize;

use super::Ctx;
use crate::cli::{LsArgs, LsFormat};

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
}

pub fn run(ctx: &Ctx, args: &LsArgs) -> anyhow::Result<ExitCode> {
    let filters = args
        .filter
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let docker_host = ctx.env.get("DOCKER_HOST");
    let deadline = Duration::from_secs(args.timeout.max(1));
    let entries = ctx.store().list()?;
    // Every machine is asked at once under one deadline, so `ls` of a hundred machines with
    // some unreachable takes about one deadline; whatever has not answered by then is Timeout.
    let records: Vec<MachineRecord> = entries
        .iter()
        .filter_map(|entry| entry.record.as_ref().ok().cloned())
        .collect();
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
                    swarm: None,
                });
                Row {
                    active: docker_host.is_some() && record.url.as_deref() == docker_host,
                    driver: record.driver.clone(),
                    state: live.state.to_string(),
                    url: record.url.clone().unwrap_or_default(),
                    docker: live.docker,
                    swarm: live.swarm.as_ref().map(|m| m.summary()).unwrap_or_default(),
                    error: record
                        .error
                        .clone()
                        .or(live.error)
                        .or_else(|| berth_machine::expiry_warning(&record, now))
                        .unwrap_or_default(),
                    name: entry.name,
                }
            }
            Err(err) => Row {
                name: entry.name,
                active: false,
                driver: String::new(),
                state: "Error".into(),
                url: String::new(),
                docker: String::new(),
                swarm: String::new(),
                error: err.to_string(),
            },
        })
        .filter(|row| filters.iter().all(|f| f.matches(row)))
        .collect();

    if args.quiet {
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        if !names.is_empty() {
            ctx.printer.data(&names.join("\n"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        LsFormat::Json => {
            ctx.printer.data(
                &serde_json::to_string_pretty(&rows).context("cannot render the list as JSON")?,
            );
        }
        LsFormat::Table => ctx.printer.data(&table(&rows)),
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
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in &cells {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A `--filter KEY=VALUE`.
enum Filter {
    Name(String),
    Driver(String),
    State(String),
}

impl Filter {
    fn parse(text: &str) -> anyhow::Result<Filter> {
        let Some((key, value)) = text.split_once('=') else {
            bail!(
                "the filter '{text}' is not KEY=VALUE; use name=GLOB, driver=NAME or state=STATE"
            );
        };
        Ok(match key {
            "name" => Filter::Name(value.to_owned()),
            "driver" => Filter::Driver(value.to_owned()),
            "state" => Filter::State(value.to_owned()),
            _ => bail!("unknown filter key '{key}'; use name=GLOB, driver=NAME or state=STATE"),
        })
    }

    fn matches(&self, row: &Row) -> bool {
        match self {
            Filter::Name(glob) => glob_match(glob, &row.name),
            Filter::Driver(d) => row.driver.eq_ignore_ascii_case(d),
            Filter::State(s) => row.state.eq_ignore_ascii_case(s),
        }
    }
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
