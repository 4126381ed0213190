//! Unit tests of `clean.rs`.

use super::*;

#[test]
fn cleans_terminal_output() {
    let cases: &[(&str, &str)] = &[
        ("plain text", "plain text"),
        ("\u{1b}[31merror\u{1b}[0m: failed", "error: failed"),
        ("\u{1b}[1;38;5;196mbold red\u{1b}[m", "bold red"),
        ("\u{1b}[38;2;255;0;0mtrue colour\u{1b}[39m", "true colour"),
        ("\u{1b}[2K\u{1b}[1Gcleared", "cleared"),
        ("\u{1b}[?25lhidden cursor\u{1b}[?25h", "hidden cursor"),
        ("\u{1b}]0;window title\u{7}after", "after"),
        (
            "\u{1b}]8;;https://example.com\u{1b}\\link\u{1b}]8;;\u{1b}\\",
            "link",
        ),
        ("\u{1b}P1$r0m\u{1b}\\dcs gone", "dcs gone"),
        ("\u{1b}(Bcharset", "charset"),
        ("\u{1b}7saved\u{1b}8", "saved"),
        ("lone escape at the end\u{1b}", "lone escape at the end"),
        ("\u{9b}32mC1 CSI\u{9b}0m", "C1 CSI"),
        ("unterminated \u{1b}]0;title", "unterminated "),
        ("unterminated csi \u{1b}[31", "unterminated csi "),
        (" 10%\r 50%\r100%", "100%"),
        ("windows line\r", "windows line"),
        ("progress\r\u{1b}[K done\r\r", " done"),
        ("abc\u{8}\u{8}XY", "aXY"),
        ("tab\tkept", "tab\tkept"),
        ("bell\u{7} nul\u{0} del\u{7f} c1\u{85}", "bell nul del c1"),
        ("bidi \u{202E}txt.exe\u{202C}", "bidi txt.exe"),
        ("héllo \u{1b}[33mwörld\u{1b}[0m ✓", "héllo wörld ✓"),
        ("", ""),
    ];
    for (input, want) in cases {
        assert_eq!(clean_line(input), *want, "input {input:?}");
    }
}

#[test]
fn strips_escapes_only() {
    assert_eq!(
        strip_escapes("a\u{1b}[0mb\rc"),
        "ab\rc",
        "strip_escapes leaves line structure alone"
    );
}

proptest::proptest! {
    #[test]
    fn output_has_no_control_characters(s in "(\\PC|[\u{0}-\u{1f}\u{7f}-\u{9f}]|\u{1b}\\[[0-9;]{0,6}[A-Za-z]){0,60}") {
        let out = clean_line(&s);
        proptest::prop_assert!(out.chars().all(|c| c == '\t' || !c.is_control()), "{out:?}");
        proptest::prop_assert!(!out.contains('\u{1b}'), "{out:?}");
    }
}
