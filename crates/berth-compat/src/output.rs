//! Output in docker-machine 0.16.2's words, for when berth is called by that name: its error
//! sentences, its `ls` table (Go's tabwriter), its durations.
//! Each rule here is read from docker-machine's source (`commands/*.go`).

use berth_machine::MachineError;
use berth_store::StoreError;

/// docker-machine's sentence for the errors scripts meet and match on, if `err` is one.
pub fn error_message(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        let store = cause.downcast_ref::<StoreError>().or_else(|| {
            match cause.downcast_ref::<MachineError>() {
                Some(MachineError::Store(e)) => Some(e),
                _ => None,
            }
        });
        match store {
            // libmachine/mcnerror: ErrHostDoesNotExist.
            Some(StoreError::NotFound { name, .. }) => {
                return Some(format!("Host does not exist: {}", go_quote(name)));
            }
            // commands/create.go.
            Some(StoreError::AlreadyExists { name, .. }) => {
                return Some(format!("Docker machine \"{name}\" already exists"));
            }
            _ => {}
        }
    }
    None
}

/// Go's `%q` for the names berth allows (letters, digits, `-`, `.`, `_`): plain double quotes.
fn go_quote(text: &str) -> String {
    format!("{text:?}")
}

/// Go's `text/tabwriter` as `ls` set it up (`NewWriter(out, 5, 1, 3, ' ', 0)`): every cell
/// that a tab ends is padded to its column's width plus three spaces, at least five wide;
/// the text after a line's last tab is not aligned.
pub fn tabwrite(text: &str) -> String {
    const MIN_WIDTH: usize = 5;
    const PADDING: usize = 3;
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![MIN_WIDTH; columns];
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count() + PADDING);
        }
    }
    let mut out = String::new();
    for cells in &lines {
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

/// Go's `time.Duration.String()` for the whole milliseconds `ls` measures: `0s`, `12ms`,
/// `1.5s`, `1m2.003s`.
pub fn go_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let minutes = ms / 60_000;
    let rest = ms % 60_000;
    let seconds = if rest.is_multiple_of(1000) {
        format!("{}s", rest / 1000)
    } else {
        let frac = format!("{:03}", rest % 1000);
        format!("{}.{}s", rest / 1000, frac.trim_end_matches('0'))
    };
    if minutes > 0 {
        let hours = minutes / 60;
        if hours > 0 {
            format!("{hours}h{}m{seconds}", minutes % 60)
        } else {
            format!("{minutes}m{seconds}")
        }
    } else {
        seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tabwriter_pads_to_the_widest_cell_plus_three() {
        assert_eq!(
            tabwrite("NAME\tURL\tERRORS\nweb1\ttcp://x:2376\t\n"),
            "NAME   URL            ERRORS\nweb1   tcp://x:2376   \n"
        );
        assert_eq!(tabwrite("a\tb\n"), "a    b\n");
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        use std::time::Duration;
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_secs(10)), "10s");
        assert_eq!(go_duration(Duration::from_millis(62_003)), "1m2.003s");
    }
}
