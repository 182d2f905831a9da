//! berth's own tables (`ls`, `certs`, `swarm ls`, `audit`): each column padded to its widest cell,
//! three spaces apart, the last column unpadded and trailing spaces trimmed. Every cell is
//! escaped to one line before it is measured: a cell from a driver, a host or an engine can
//! hold control characters or line breaks, which would paint over or break the table.

use crate::printer::{Lines, escape};

/// The header and the rows as text, one line each.
pub(crate) fn render<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let cells: Vec<[String; N]> = rows
        .iter()
        .map(|row| {
            row.clone()
                .map(|cell| escape(&cell, Lines::Escape).into_owned())
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cols: [&str; N]| {
        let mut out = String::new();
        for (i, (cell, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header);
    for row in &cells {
        out.push('\n');
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_cells_cannot_break_the_table() {
        let rows = [
            ["web1".to_owned(), "Running".to_owned(), "ok".to_owned()],
            ["b".to_owned(), "x\x1b[2J\ny".to_owned(), String::new()],
        ];
        assert_eq!(
            render(["NAME", "STATE", "ERRORS"], &rows),
            "NAME   STATE         ERRORS\nweb1   Running       ok\nb      x\\x1b[2J\\ny"
        );
    }
}
