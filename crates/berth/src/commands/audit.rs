//! `audit`: which of these addresses hand their Docker engine to anyone? The probing is
//! berth-engine's (`audit`); this prints the findings and picks the exit status.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use berth_engine::audit::{self, Finding};

use super::Ctx;
use crate::cli::{AuditArgs, TableFormat};

/// Exit status when some engine is exposed.
const EXPOSED: u8 = 1;
/// Exit status when nothing is exposed but some address could not be probed.
const INCOMPLETE: u8 = 2;

pub(super) fn run(ctx: &Ctx, args: &AuditArgs) -> anyhow::Result<ExitCode> {
    // Every address is read before anything is sent, so a typo fails the command up front.
    let mut targets = Vec::new();
    for address in &args.addresses {
        targets.extend(audit::targets(address).with_context(|| {
            format!("cannot audit {address:?}: give HOST, HOST:PORT or tcp://HOST:PORT")
        })?);
    }
    let timeout = Duration::from_secs(args.timeout.max(1));
    let findings = tokio::runtime::Handle::current().block_on(audit::audit(&targets, timeout));
    match args.format {
        TableFormat::Json => ctx.printer.data(
            &serde_json::to_string_pretty(&findings)
                .context("cannot render the findings as JSON")?,
        ),
        TableFormat::Table => ctx.printer.data(&table(&findings)),
    }
    let exposed = findings.iter().filter(|f| f.exposed).count();
    if exposed > 0 {
        ctx.printer.error(&format!(
            "{exposed} of {} ports hand their Docker engine to anyone who reaches them; \
             put the engine behind mutual TLS (`berth create -d generic` or `berth provision` \
             does) or close the port",
            findings.len()
        ));
        return Ok(ExitCode::from(EXPOSED));
    }
    if findings
        .iter()
        .any(|f| matches!(f.verdict, audit::Verdict::Failed { .. }))
    {
        ctx.printer
            .error("some addresses could not be probed (their verdict says why); nothing found was exposed");
        return Ok(ExitCode::from(INCOMPLETE));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(findings: &[Finding]) -> String {
    let header = ["ADDRESS", "PORT", "VERDICT"];
    let rows: Vec<[String; 3]> = findings
        .iter()
        .map(|f| [f.address.clone(), f.port.to_string(), f.verdict.summary()])
        .collect();
    crate::table::render(header, &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::audit::Verdict;

    #[test]
    fn the_table_has_one_row_per_port() {
        let finding = |port, verdict: Verdict| Finding {
            address: "10.0.0.5".into(),
            port,
            exposed: verdict.exposed(),
            verdict,
        };
        let text = table(&[
            finding(
                2375,
                Verdict::PlainHttp {
                    engine_version: "20.10.24".into(),
                },
            ),
            finding(2376, Verdict::Closed),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ADDRESS "), "{text}");
        assert!(
            lines[1].contains("2375") && lines[1].contains("EXPOSED"),
            "{text}"
        );
        assert!(lines[2].ends_with("closed"), "{text}");
    }
}
