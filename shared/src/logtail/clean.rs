//! Terminal output made plain: what a build's console showed, without the bytes that only
//! drive a terminal.
//!
//! - ANSI/VT escape sequences go: CSI (`ESC [ ... final`, colours and cursor moves, also the
//!   one-character CSI U+009B), OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`, window titles and
//!   hyperlinks), DCS/SOS/PM/APC strings up to their terminator, two- and three-byte escapes
//!   (`ESC ( B`, `ESC 7`), and a lone `ESC`;
//! - carriage-return overprinting (progress bars) keeps what the terminal showed last: the
//!   text after the last `\r` (a `\r` that ends the line, as in `\r\n`, is only a line end);
//! - a backspace removes the character before it;
//! - other control characters go, and so do the invisible bidirectional controls that can
//!   make a line read differently from what it holds; a tab stays.

/// One line (no `\n` in it) as a terminal would have shown it, without control characters.
pub fn clean_line(line: &str) -> String {
    let plain = strip_escapes(line);
    let shown = overprint(&plain);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '\u{8}' => {
                out.pop();
            }
            '\t' => out.push('\t'),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// The text after the last carriage return that is not at the end.
fn overprint(s: &str) -> &str {
    let s = s.trim_end_matches('\r');
    match s.rfind('\r') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// Characters that reorder text without showing (U+202A..U+202E, U+2066..U+2069, U+200E/F).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

const ESC: char = '\u{1b}';
const BEL: char = '\u{7}';

/// `s` without escape sequences.
pub fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']') => skip_string(&mut chars, true),
                Some('P' | 'X' | '^' | '_') => skip_string(&mut chars, false),
                // nF escapes: intermediate bytes, then one final byte.
                Some(' '..='/') => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next_if(|c| ('0'..='~').contains(c));
                }
                // Fp, Fe and Fs escapes are two characters; anything else drops the ESC only.
                Some(n) if ('0'..='~').contains(&n) => {}
                Some(other) => out.push(other),
                None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_string(&mut chars, true),
            c => out.push(c),
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Skips a CSI's parameter and intermediate bytes and its final byte; stops early at a
/// character no CSI may hold, leaving it to be read as text.
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        match c {
            '0'..='?' | ' '..='/' => {
                chars.next();
            }
            '@'..='~' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// Skips a control string up to its terminator: ST (`ESC \` or U+009C), and for OSC also BEL.
fn skip_string(chars: &mut Chars<'_>, bel_ends: bool) {
    while let Some(c) = chars.next() {
        match c {
            BEL if bel_ends => return,
            '\u{9c}' => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "clean_test.rs"]
mod tests;
