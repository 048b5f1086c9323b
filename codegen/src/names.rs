//! Names: turning spec names into Rust identifiers and C enumerator names, and doc lines into
//! text the outputs can carry.
//!
//! The dsl already restricts names, but codegen must never panic on a model it is handed (a fuzz
//! target feeds it mutated specs), so every conversion here is total.

use proc_macro2::{Ident, Span};

/// A Rust identifier for a spec name, used verbatim where it is a valid identifier.
///
/// Queue and engine names keep the kernel's spelling (`DMA_0_0`, `TPC_7`) so that a grep for a
/// uapi name finds the Rust side too; the enums carry `#[allow(non_camel_case_types)]`.
/// Characters outside `[A-Za-z0-9_]` become `_`, a leading digit gets a `_` prefix and keywords
/// become raw identifiers.
pub fn rust_ident(name: &str) -> Ident {
    let mut cleaned = word_chars(name);
    if cleaned.is_empty() || cleaned.starts_with(|c: char| c.is_ascii_digit()) || cleaned == "_" {
        cleaned.insert(0, '_');
    }
    if is_keyword(&cleaned) {
        // why: `self`, `Self`, `super` and `crate` cannot be raw identifiers; suffix them instead.
        if matches!(cleaned.as_str(), "self" | "Self" | "super" | "crate") {
            cleaned.push('_');
            return Ident::new(&cleaned, Span::call_site());
        }
        return Ident::new_raw(&cleaned, Span::call_site());
    }
    Ident::new(&cleaned, Span::call_site())
}

/// `name` with every character outside `[A-Za-z0-9_]` replaced by `_`: the identifier alphabet
/// Rust, C and Mermaid share.
pub fn word_chars(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn is_keyword(s: &str) -> bool {
    // Strict and reserved keywords of edition 2024.
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
        "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box",
        "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    KEYWORDS.contains(&s)
}

/// The uapi prefix in upper case (`GAUDI`), as C enumerators use it.
pub fn c_prefix(prefix: &str) -> String {
    word_chars(prefix).to_ascii_uppercase()
}

/// The C enum tag for `kind` (`queue` or `engine`): `gaudi_queue_id`.
pub fn c_enum_tag(prefix: &str, kind: &str) -> String {
    format!("{}_{kind}_id", c_prefix(prefix).to_ascii_lowercase())
}

/// The C enumerator of one id: `GAUDI_QUEUE_ID_DMA_0_0`; `name` of `SIZE` gives the sentinel.
pub fn c_enumerator(prefix: &str, kind: &str, name: &str) -> String {
    format!(
        "{}_{}_ID_{}",
        c_prefix(prefix),
        kind.to_ascii_uppercase(),
        word_chars(name)
    )
}

/// Doc comment lines as written after `///`, with the one conventional leading space removed.
pub fn doc_text(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect()
}

/// Doc lines as one paragraph (for table cells and one-line comments).
pub fn doc_one_line(lines: &[String]) -> String {
    doc_text(lines)
        .into_iter()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_idents_keep_kernel_spelling() {
        assert_eq!(rust_ident("DMA_0_0").to_string(), "DMA_0_0");
        assert_eq!(rust_ident("InFlight").to_string(), "InFlight");
    }

    #[test]
    fn rust_idents_are_total() {
        assert_eq!(rust_ident("0x").to_string(), "_0x");
        assert_eq!(rust_ident("").to_string(), "_");
        assert_eq!(rust_ident("_").to_string(), "__");
        assert_eq!(rust_ident("a-b").to_string(), "a_b");
        assert_eq!(rust_ident("match").to_string(), "r#match");
        assert_eq!(rust_ident("Self").to_string(), "Self_");
        assert_eq!(rust_ident("é").to_string(), "__");
    }

    #[test]
    fn c_names_match_the_kernel() {
        assert_eq!(c_enum_tag("GOYA", "queue"), "goya_queue_id");
        assert_eq!(
            c_enumerator("GOYA", "queue", "CPU_PQ"),
            "GOYA_QUEUE_ID_CPU_PQ"
        );
        assert_eq!(
            c_enumerator("gaudi", "engine", "SIZE"),
            "GAUDI_ENGINE_ID_SIZE"
        );
    }

    #[test]
    fn doc_lines_lose_one_leading_space() {
        let lines = vec![
            " a".to_string(),
            "  b ".to_string(),
            String::new(),
            "c".into(),
        ];
        assert_eq!(doc_text(&lines), ["a", " b", "", "c"]);
        assert_eq!(doc_one_line(&lines), "a b c");
    }
}
