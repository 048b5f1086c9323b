//! The published uapi of a generation, read back from the C header asicgen generates for it.
//!
//! The lints compare what users compile against, so they read the header itself rather than the
//! Model: whatever the generator publishes (enums, enumerators, `#define`s) is covered, and a
//! naming rule changed in the generator shows up here exactly as it shows up in user code. The
//! reader understands the shapes the generator writes (one enumerator or `#define` per line,
//! comments on their own lines or after the value); a line it cannot read is an error, never
//! skipped silently.

use std::fmt;

/// One `enum tag { ... }` of the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CEnum {
    /// The enum's tag, e.g. `gaudi_queue_id`.
    pub tag: String,
    /// Enumerators in header order, `_SIZE` sentinels included.
    pub enumerators: Vec<Enumerator>,
}

/// One enumerator with its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enumerator {
    /// The C name, e.g. `GAUDI_QUEUE_ID_DMA_0_0`.
    pub name: String,
    /// Its value (asicgen always writes values explicitly).
    pub value: i64,
}

impl Enumerator {
    /// Whether this is a `_SIZE` sentinel (one past the highest id): it may grow.
    pub fn is_size_sentinel(&self) -> bool {
        self.name.ends_with("_SIZE")
    }
}

/// One `#define NAME VALUE` with a value (include guards have none and are not published API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Define {
    /// The macro's name.
    pub name: String,
    /// Its replacement text, trimmed, without a trailing comment.
    pub value: String,
}

/// Everything a header publishes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uapi {
    /// Enums in header order.
    pub enums: Vec<CEnum>,
    /// Valued `#define`s in header order.
    pub defines: Vec<Define>,
}

/// A header line the reader does not understand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line number.
    pub line: usize,
    /// The line's text.
    pub text: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read line {} of the generated header: `{}`",
            self.line, self.text
        )
    }
}

impl std::error::Error for ReadError {}

/// Reads the enums and valued defines of a header asicgen generated.
pub fn read(header: &str) -> Result<Uapi, ReadError> {
    let mut uapi = Uapi::default();
    let mut open: Option<CEnum> = None;
    let mut in_comment = false;
    for (index, raw) in header.lines().enumerate() {
        let err = || ReadError {
            line: index + 1,
            text: raw.to_string(),
        };
        let line = strip_comments(raw, &mut in_comment);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(current) = open.as_mut() {
            if line.starts_with('}') {
                uapi.enums.extend(open.take());
                continue;
            }
            let entry = line.trim_end_matches(',');
            let (name, value) = entry.split_once('=').ok_or_else(err)?;
            let name = name.trim();
            if !is_c_identifier(name) {
                return Err(err());
            }
            let value = parse_int(value.trim()).ok_or_else(err)?;
            current.enumerators.push(Enumerator {
                name: name.to_string(),
                value,
            });
        } else if let Some(rest) = line.strip_prefix("enum ") {
            let tag = rest.trim_end_matches('{').trim();
            if !is_c_identifier(tag) || !rest.ends_with('{') {
                return Err(err());
            }
            open = Some(CEnum {
                tag: tag.to_string(),
                enumerators: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("#define") {
            let rest = rest.trim();
            let (name, value) = match rest.split_once(char::is_whitespace) {
                Some((name, value)) => (name, value.trim()),
                None => (rest, ""),
            };
            if !is_c_identifier(name) {
                return Err(err());
            }
            if !value.is_empty() {
                uapi.defines.push(Define {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
        // Anything else outside an enum (#ifndef, #endif, #include, typedefs) publishes no value.
    }
    match open {
        Some(unclosed) => Err(ReadError {
            line: header.lines().count(),
            text: format!("enum {} is never closed", unclosed.tag),
        }),
        None => Ok(uapi),
    }
}

/// `line` without `/* ... */` and `// ...` comments; `in_comment` carries an open block comment
/// to the next line.
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("*/") {
                Some(end) => {
                    rest = &rest[end + 2..];
                    *in_comment = false;
                }
                None => return out,
            }
        }
        let block = rest.find("/*");
        let line_comment = rest.find("//");
        match (block, line_comment) {
            (Some(b), Some(l)) if l < b => {
                out.push_str(&rest[..l]);
                return out;
            }
            (None, Some(l)) => {
                out.push_str(&rest[..l]);
                return out;
            }
            (Some(b), _) => {
                out.push_str(&rest[..b]);
                out.push(' ');
                rest = &rest[b + 2..];
                *in_comment = true;
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

fn is_c_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim_end_matches(['u', 'U', 'l', 'L']);
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "/* @generated by asicgen x. Do not edit by hand. */\n\
        #ifndef GUARD_H\n#define GUARD_H\n\n\
        #define TINY_FIRST_SOB 48 /* first user SOB */\n\
        /* Tiny queue ids */\nenum tiny_queue_id {\n\t/* Host DMA */\n\tTINY_QUEUE_ID_DMA_0 = 0,\n\
        \t/* 1 is reserved */\n\tTINY_QUEUE_ID_CPU_PQ = 2,\n\tTINY_QUEUE_ID_SIZE = 3\n};\n\
        #endif /* GUARD_H */\n";

    #[test]
    fn reads_enums_and_valued_defines_but_not_guards() {
        let uapi = read(HEADER).unwrap();
        assert_eq!(uapi.enums.len(), 1);
        let e = &uapi.enums[0];
        assert_eq!(e.tag, "tiny_queue_id");
        let names: Vec<_> = e
            .enumerators
            .iter()
            .map(|e| (e.name.as_str(), e.value))
            .collect();
        assert_eq!(
            names,
            [
                ("TINY_QUEUE_ID_DMA_0", 0),
                ("TINY_QUEUE_ID_CPU_PQ", 2),
                ("TINY_QUEUE_ID_SIZE", 3)
            ]
        );
        assert_eq!(
            uapi.defines,
            [Define {
                name: "TINY_FIRST_SOB".into(),
                value: "48".into()
            }]
        );
    }

    #[test]
    fn an_unreadable_enumerator_is_an_error_with_its_line() {
        let err = read("enum x {\n\tA = 0,\n\tB = what,\n};\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(read("enum x {\n\tA = 0,\n").is_err());
    }

    #[test]
    fn multi_line_comments_hide_their_content() {
        let uapi = read("/*\n * enum fake {\n */\nenum x {\n\tA = 0x10, /* c */\n};\n").unwrap();
        assert_eq!(uapi.enums[0].enumerators[0].value, 16);
    }
}
