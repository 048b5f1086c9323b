//! Names the generated code already uses. A spec name equal to one of them would make the
//! generated Rust or C fail to compile (or, worse, mean something else), so the checker refuses
//! it with a diagnostic at the name instead.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Rust path keywords that cannot be raw identifiers, and `_`: no generated item can be called so.
const UNUSABLE: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Items of the generated `QueueId`/`EngineId` impls, and the C `_SIZE` sentinel.
const ID_ITEMS: &[&str] = &[
    "SIZE",
    "ALL",
    "id",
    "index",
    "name",
    "uapi_name",
    "props",
    "from_u32",
];

/// Items of the generated `CsState` impl.
const STATE_ITEMS: &[&str] = &[
    "ALL",
    "INITIAL",
    "NAMES",
    "index",
    "name",
    "transition",
    "outcome",
];

/// Module-level items of a generated module.
const MODULE_ITEMS: &[&str] = &[
    "QueueId",
    "EngineId",
    "CsState",
    "QUEUES",
    "ENGINES",
    "LIMITS",
    "FEATURES",
    "PROVENANCE",
    "RESERVED_CQS",
    "FIRST_USER_CQ",
    "SYNC_MANAGER",
    "BINNING",
    "Generation",
];

/// Rust's primitive types: a type named so would shadow them in the generated module.
const PRIMITIVES: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64",
];

/// What kind of name is being checked.
#[derive(Clone, Copy, Debug)]
pub enum NameKind {
    /// A queue or engine name (a `QueueId`/`EngineId` variant and a C enumerator).
    Id(&'static str),
    /// A lifecycle state (a `CsState` variant).
    State,
    /// The ASIC's name (the zero-sized type of the generated module).
    Asic,
}

/// A diagnostic if `name` collides with what the generated code defines.
pub fn check(name: &str, span: Span, kind: NameKind) -> Option<Diagnostic> {
    let (what, taken): (&str, &[&str]) = match kind {
        NameKind::Id(what) => (what, ID_ITEMS),
        NameKind::State => ("state", STATE_ITEMS),
        NameKind::Asic => ("ASIC", MODULE_ITEMS),
    };
    let why = if UNUSABLE.contains(&name) {
        "it is a Rust keyword that cannot name an item"
    } else if name == "SIZE" && matches!(kind, NameKind::Id(_)) {
        "the C enum already ends with the `_SIZE` sentinel"
    } else if matches!(kind, NameKind::Asic) && PRIMITIVES.contains(&name) {
        "the generated type would shadow Rust's primitive type of that name"
    } else if taken.contains(&name) {
        "the generated code already defines an item with this name"
    } else {
        return None;
    };
    Some(
        Diagnostic::error(
            span,
            format!("`{name}` cannot be the name of {} {what}", article(what)),
        )
        .label(why.to_string())
        .help("choose another name"),
    )
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_names_the_generated_code_uses() {
        let at = Span::default();
        assert!(check("SIZE", at, NameKind::Id("queue")).is_some());
        assert!(check("ALL", at, NameKind::State).is_some());
        assert!(check("self", at, NameKind::Asic).is_some());
        assert!(check("QueueId", at, NameKind::Asic).is_some());
        assert!(check("u32", at, NameKind::Asic).is_some());
        assert!(check("DMA_0", at, NameKind::Id("queue")).is_none());
        assert!(check("InFlight", at, NameKind::State).is_none());
        assert!(check("Gaudi", at, NameKind::Asic).is_none());
    }
}
