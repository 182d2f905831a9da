//! `certs`: when each machine's CA, server and client certificates expire, soonest first, with
//! the warning `ls` shows.

use std::process::ExitCode;

use anyhow::Context as _;
use berth_machine::Expiry;
use serde::Serialize;
use time::OffsetDateTime;

use super::Ctx;
use crate::cli::{CertsArgs, TableFormat};

/// One row; also its JSON shape (times in RFC 3339, null where a file is missing).
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    #[serde(with = "time::serde::rfc3339::option")]
    ca_not_after: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    server_not_after: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    client_not_after: Option<OffsetDateTime>,
    /// Whole days until the soonest of the three expires (negative: expired).
    days_left: Option<i64>,
    warning: String,
}

pub(super) fn run(ctx: &Ctx, args: &CertsArgs) -> anyhow::Result<ExitCode> {
    super::check_all_exist(ctx, &args.names)?;
    let names: Vec<String> = if args.names.is_empty() {
        ctx.store()
            .list::<berth_machine::MachineRecord>()?
            .into_iter()
            .map(|e| e.name)
            .collect()
    } else {
        args.names.clone()
    };
    let now = OffsetDateTime::now_utc();
    let mut rows = Vec::new();
    for name in names {
        let machine = ctx.store().machine(&name)?;
        let expiry = Expiry::of(&machine);
        rows.push(Row {
            warning: expiry.warning(&name, now).unwrap_or_else(|| {
                if expiry.soonest().is_none() {
                    "no certificates of berth's".to_owned()
                } else {
                    String::new()
                }
            }),
            days_left: expiry.soonest().map(|t| (t - now).whole_days()),
            ca_not_after: expiry.ca,
            server_not_after: expiry.server,
            client_not_after: expiry.client,
            name,
        });
    }
    // The machine that needs attention first comes first; machines without certificates last.
    rows.sort_by(|a, b| {
        (a.days_left.is_none(), a.days_left, &a.name).cmp(&(
            b.days_left.is_none(),
            b.days_left,
            &b.name,
        ))
    });
    match args.format {
        TableFormat::Json => ctx
            .printer
            .data(&serde_json::to_string_pretty(&rows).context("cannot render the list as JSON")?),
        TableFormat::Table => ctx.printer.data(&table(&rows, now)),
    }
    Ok(ExitCode::SUCCESS)
}

fn when(t: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    match t {
        None => "-".to_owned(),
        Some(t) => format!("{} ({}d)", t.date(), (t - now).whole_days()),
    }
}

fn table(rows: &[Row], now: OffsetDateTime) -> String {
    let header = ["NAME", "CA", "SERVER", "CLIENT", "WARNING"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                when(r.ca_not_after, now),
                when(r.server_not_after, now),
                when(r.client_not_after, now),
                r.warning.clone(),
            ]
        })
        .collect();
    crate::table::render(header, &cells)
}
