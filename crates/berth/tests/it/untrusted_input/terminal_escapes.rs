//! Text from outside (a record's error, a plugin's error and its log) cannot paint over
//! berth's output: control characters reach the terminal escaped, and a flood is cut short.

use berth_testkit::{Sandbox, stderr, stdout};

use super::WithPlugin;

/// Control characters that let text move the cursor, clear the screen, set the terminal's title
/// or rewrite a line: none of them may reach berth's terminal from outside.
const PAINT: [char; 6] = ['\x1b', '\r', '\x07', '\x08', '\u{9b}', '\u{7f}'];

fn assert_no_paint(what: &str, text: &str) {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| PAINT.contains(c)) {
        let excerpt: String = text[at.saturating_sub(60).min(at)..]
            .chars()
            .take(120)
            .collect();
        panic!("{what} carries the raw control character {c:?}: …{excerpt:?}…");
    }
}

#[test]
fn record_text_is_printed_with_control_characters_escaped() {
    let sb = Sandbox::new(crate::BERTH);
    sb.write_record(
        "web",
        "version = 1\nname = \"web\"\ndriver = \"generic\"\nstate = \"Error\"\n\
         url = \"tcp://127.0.0.1:1\"\n\
         error = \"boom\\u001b]0;owned\\u0007\\r\\u001b[2Jall good\\u009b\\u007f\"\n\
         created_at = \"2026-11-23T12:00:00Z\"\n",
    );
    let ls = sb.run(&["ls", "--timeout", "1"]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_no_paint("ls", &stdout(&ls));
    assert!(
        stdout(&ls).contains(r"boom\x1b]0;owned\x07\r\x1b[2Jall good"),
        "the text is still shown, escaped: {}",
        stdout(&ls)
    );

    let inspect = sb.run(&["inspect", "web"]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    assert_no_paint("inspect", &stdout(&inspect));
    let value: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(
        value["error"], "boom\u{1b}]0;owned\u{7}\r\u{1b}[2Jall good\u{9b}\u{7f}",
        "the JSON still carries the value exactly"
    );

    let env = sb.run(&["env", "--shell", "bash", "web"]);
    assert!(env.status.success(), "{}", stderr(&env));
    assert!(stderr(&env).contains("state Error"), "{}", stderr(&env));
    assert_no_paint("env's warning", &stderr(&env));
}

#[test]
fn a_plugins_error_message_is_printed_escaped() {
    let p = WithPlugin::new();
    let out = p.run("paint", &["create", "-d", "probe", "m1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("built-in error"), "{}", stderr(&out));
    assert_no_paint("create's error", &stderr(&out));
}

#[test]
fn a_plugin_flooding_its_stderr_is_cut_short_and_escaped() {
    let p = WithPlugin::new();
    let out = p.run("flood", &["--debug", "create", "-d", "probe", "m1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert_no_paint("the plugin's log under --debug", &err);
    assert!(err.contains("flood 0"), "the first lines are shown");
    assert!(
        err.len() < 1 << 20,
        "a plugin's log is bounded, not {} bytes of berth's stderr",
        err.len()
    );
    assert!(
        err.contains("not shown"),
        "berth says it left lines out: {}",
        &err[err.len().saturating_sub(2000)..]
    );
}
