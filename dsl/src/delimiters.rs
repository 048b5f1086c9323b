//! Unclosed `{`, `[` and `"`, found by a scan of the text and reported at the opening
//! delimiter.
//!
//! The parser only notices a missing `}` where the text runs out (or where the next block
//! starts), often far from the block that lacks it; a missing `"` shows up as a confusing token
//! on the next line. When a file does not parse, this scan finds the delimiter that was opened
//! and never closed, and if it opened at or before the point where parsing failed, that is the
//! error to report: rustc's "unclosed delimiter", pointing where the fix goes.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// An opened delimiter that is never closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Unclosed {
    /// Byte offset of the opening character.
    at: usize,
    /// `{`, `[` or `"`.
    open: char,
}

/// Every unclosed delimiter in `text`, innermost (latest opened) first. Comments (`//` to the
/// end of the line) are skipped; a string ends at its closing `"` or, unclosed, at the end of
/// its line (strings never span lines). A closing bracket that matches nothing is left to the
/// parser's error.
fn scan(text: &str) -> Vec<Unclosed> {
    let mut stack: Vec<Unclosed> = Vec::new();
    let mut strings: Vec<Unclosed> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                let open = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += 1;
                }
                if bytes.get(i) != Some(&b'"') {
                    strings.push(Unclosed {
                        at: open,
                        open: '"',
                    });
                    continue;
                }
            }
            b'{' | b'[' => stack.push(Unclosed {
                at: i,
                open: bytes[i] as char,
            }),
            b'}' | b']' => {
                let want = if bytes[i] == b'}' { '{' } else { '[' };
                if stack.last().is_some_and(|u| u.open == want) {
                    stack.pop();
                } else if let Some(pos) = stack.iter().rposition(|u| u.open == want) {
                    // `{ [ }`: the `[` is the one left open.
                    let left_open = stack.split_off(pos + 1);
                    stack.pop();
                    stack.extend(left_open);
                }
            }
            _ => {}
        }
        i += 1;
    }
    // Strings first (each is a whole-line problem of its own), then brackets innermost first.
    strings.truncate(1);
    strings.extend(stack.into_iter().rev());
    strings
}

/// `parse_error` (the parser's own diagnostic), or the unclosed delimiter that explains it: the
/// first-opened unclosed string, else the innermost unclosed bracket, if it opened no later
/// than where parsing failed.
pub(crate) fn prefer_unclosed(file: FileId, text: &str, parse_error: Diagnostic) -> Diagnostic {
    let unclosed = scan(text);
    let Some(first) = unclosed.first() else {
        return parse_error;
    };
    if first.at > parse_error.span.start as usize {
        return parse_error;
    }
    let at = Span::new(file, first.at, first.at + 1);
    let mut d = match first.open {
        '"' => Diagnostic::error(at, "unclosed string")
            .label("this string is never closed")
            .help("a string ends with `\"` on the same line"),
        open => {
            let close = if open == '{' { '}' } else { ']' };
            Diagnostic::error(at, format!("unclosed `{open}`"))
                .label(format!("this `{open}` is never closed"))
                .help(format!("add the `{close}` that closes it"))
        }
    };
    // The other delimiters left open, outermost last, as rustc lists them.
    for other in unclosed.iter().skip(1).filter(|u| u.open != '"') {
        d = d.note(
            Span::new(file, other.at, other.at + 1),
            format!("`{}` also never closed", other.open),
        );
    }
    // Where the parser gave up, so the two positions can be compared.
    d.note(parse_error.span, "parsing stopped here")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(text: &str) -> Vec<(usize, char)> {
        scan(text).into_iter().map(|u| (u.at, u.open)).collect()
    }

    #[test]
    fn balanced_text_has_nothing_open() {
        assert!(opened("a { b [c] \"}\" } // {\n").is_empty());
    }

    #[test]
    fn finds_the_opening_delimiter() {
        assert_eq!(opened("a {\n b { c }\n"), [(2, '{')]);
        assert_eq!(opened("a { b { c\n}"), [(2, '{')]);
        assert_eq!(opened("x = \"abc\ny = 1"), [(4, '"')]);
        assert_eq!(opened("a { [ }"), [(4, '[')]);
        assert_eq!(opened("a { b {"), [(6, '{'), (2, '{')]);
    }

    #[test]
    fn an_earlier_parse_error_wins() {
        let text = "a @ {";
        let parse_error = Diagnostic::error(Span::new(FileId(0), 2, 3), "unexpected `@`");
        let d = prefer_unclosed(FileId(0), text, parse_error.clone());
        assert_eq!(d, parse_error);
        let late = Diagnostic::error(Span::new(FileId(0), 5, 5), "expected `}`");
        let d = prefer_unclosed(FileId(0), text, late);
        assert_eq!(d.message, "unclosed `{`");
        assert_eq!(d.span, Span::new(FileId(0), 4, 5));
    }
}
