//! The one yes/no question berth asks before it removes machines or restarts their engines,
//! and how an answer is read: as docker-machine reads it, so a user's habit works in both.

use std::io::{BufRead, IsTerminal};

use anyhow::bail;

use super::Ctx;

/// A question, and the sentences for each way it can end without a yes.
pub(super) struct Question<'a> {
    /// What is asked, ending with the choices ("… Are you sure? [y/N]").
    pub(super) prompt: &'a str,
    /// The refusal when stdin is not a terminal: nobody could answer, so nothing is asked.
    pub(super) without_terminal: &'a str,
    /// What was (not) done when the answer is not a yes ("nothing was removed").
    pub(super) declined: &'a str,
}

/// What came back on stdin.
#[derive(Debug)]
enum Reply {
    /// A yes.
    Yes,
    /// Anything else that was a line: "n", an empty line, two words, garbage.
    No,
    /// stdin ended before a line came (Ctrl-D, a closed pipe).
    Closed,
    /// stdin could not be read (not UTF-8, an I/O error).
    Unreadable(std::io::Error),
}

/// Asks `question` on the terminal and goes ahead only on a yes; every other ending is an
/// error with its sentence. Without a terminal on stdin nothing is asked: a script that
/// forgot `-y` must not hang, nor be taken to have said yes.
pub(super) fn confirm(ctx: &Ctx, question: &Question<'_>) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("{}", question.without_terminal);
    }
    ctx.printer.info(question.prompt);
    match read_reply(&mut stdin.lock()) {
        Reply::Yes => Ok(()),
        Reply::No => bail!("{}", question.declined),
        Reply::Closed => bail!(
            "no answer came (the input ended before a line was read); {}",
            question.declined
        ),
        Reply::Unreadable(e) => bail!("cannot read the answer ({e}); {}", question.declined),
    }
}

/// One line of `input`, as an answer.
fn read_reply(input: &mut dyn BufRead) -> Reply {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) => Reply::Closed,
        Ok(_) if is_yes(&line) => Reply::Yes,
        Ok(_) => Reply::No,
        Err(e) => Reply::Unreadable(e),
    }
}

/// docker-machine's rule (commands.go `confirmInput`): the line holds one word (it reads it
/// with `fmt.Scanln`, which fails on an empty line and on a second word), and that word starts
/// with a `y` in either case: "y", "Y", "yes", "Yes", "YES". It covers every yes berth took
/// before ("y", "Y", "yes", "Yes"); nothing that starts otherwise, "n" or "no" above all, is a
/// yes.
fn is_yes(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (Some(word), None) if word.starts_with(['y', 'Y'])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reply(input: &str) -> Reply {
        read_reply(&mut Cursor::new(input.as_bytes().to_vec()))
    }

    #[test]
    fn a_word_starting_with_y_is_a_yes() {
        for yes in ["y\n", "Y\n", "yes\n", "Yes\n", "YES\n", "  yes  \n", "y"] {
            assert!(matches!(reply(yes), Reply::Yes), "{yes:?}");
        }
    }

    #[test]
    fn no_empty_and_garbage_are_a_no() {
        for no in [
            "n\n",
            "N\n",
            "no\n",
            "No\n",
            "\n",
            "   \n",
            "ok\n",
            "sure\n",
            "yes please\n",
            "y n\n",
            "1\n",
            "ja\n",
        ] {
            assert!(matches!(reply(no), Reply::No), "{no:?}");
        }
    }

    #[test]
    fn the_end_of_input_is_no_answer() {
        assert!(matches!(reply(""), Reply::Closed));
    }

    #[test]
    fn unreadable_input_is_no_answer() {
        let mut invalid = Cursor::new(vec![b'y', 0xff, b'\n']);
        assert!(matches!(read_reply(&mut invalid), Reply::Unreadable(_)));
    }
}
