//! uapi lints: what a change to the published header does to code compiled against it.
//!
//! Modelled on cargo-semver-checks: every lint has a stable id and a level, findings name the
//! item, and an error-level finding is a breaking change unless an allow-list entry waives it
//! with a reason. Unlike the kernel's `check-uapi.sh`, `#define` values are compared, and a
//! `_SIZE` sentinel is judged by direction (growing is fine, shrinking is reported).

use serde::Serialize;

use crate::uapi::{CEnum, Uapi};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Additive: listed so reviewers see it, never breaking.
    Info,
    /// Suspicious but compatible for code that follows the uapi's rules.
    Warn,
    /// Breaks code compiled against the old header: exit 1 unless allowed.
    Error,
}

impl Level {
    /// Lower-case name, as printed.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One lint: a stable id, its level and what it guards against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lint {
    /// Stable id, used in output and allow-lists.
    pub id: &'static str,
    /// Its level.
    pub level: Level,
    /// One line for the lint list.
    pub summary: &'static str,
}

macro_rules! lints {
    ($($konst:ident = $id:literal, $level:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub const $konst: Lint = Lint { id: $id, level: Level::$level, summary: $summary };
        )*
        /// Every lint, in the order the documentation lists them.
        pub const ALL: &[Lint] = &[$($konst),*];
    };
}

lints! {
    HEADER_REMOVED = "header_removed", Error,
        "a generation's spec was deleted: its whole uapi header is gone";
    ENUM_REMOVED = "enum_removed", Error,
        "an enum of the header is gone";
    ENUM_RENAMED = "enum_renamed", Error,
        "an enum's tag changed (e.g. a new uapi_prefix)";
    ENUMERATOR_REMOVED = "enumerator_removed", Error,
        "an enumerator is gone and its value is unused or taken by another existing name";
    ENUMERATOR_RENAMED = "enumerator_renamed", Error,
        "an enumerator's value now has a different, new name";
    ENUMERATOR_RENUMBERED = "enumerator_renumbered", Error,
        "an enumerator keeps its name but has another value";
    DEFINE_REMOVED = "define_removed", Error,
        "a published #define is gone";
    DEFINE_CHANGED = "define_changed", Error,
        "a published #define has another value";
    SIZE_SHRUNK = "size_shrunk", Warn,
        "a _SIZE sentinel became smaller (arrays sized by it shrink)";
    HEADER_ADDED = "header_added", Info,
        "a new generation: a new uapi header";
    ENUM_ADDED = "enum_added", Info,
        "a new enum";
    ENUMERATOR_ADDED = "enumerator_added", Info,
        "a new enumerator at a value no existing name had";
    DEFINE_ADDED = "define_added", Info,
        "a new #define";
    SIZE_GROWN = "size_grown", Info,
        "a _SIZE sentinel grew (room for appended ids)";
}

/// Looks a lint up by id.
pub fn by_id(id: &str) -> Option<&'static Lint> {
    ALL.iter().find(|lint| lint.id == id)
}

/// One thing a lint found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which lint.
    pub lint: &'static Lint,
    /// The item: an enumerator, define or enum tag, as named in the old header (new if added).
    pub item: String,
    /// What happened, one line.
    pub message: String,
    /// For a renumbered enumerator: new value minus old value (lets reports group shifts).
    pub shift: Option<i64>,
    /// The reason of the allow-list entry that waived it, if one did.
    pub allowed: Option<String>,
}

impl Finding {
    fn new(lint: &'static Lint, item: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding {
            lint,
            item: item.into(),
            message: message.into(),
            shift: None,
            allowed: None,
        }
    }

    /// Whether this finding makes the change breaking (an error no allow-list entry waived).
    pub fn is_breaking(&self) -> bool {
        self.lint.level == Level::Error && self.allowed.is_none()
    }
}

/// Every finding between two headers, in header order (old enums first, then defines).
pub fn compare(old: &Uapi, new: &Uapi) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut new_taken = vec![false; new.enums.len()];
    let mut unmatched_old = Vec::new();
    for (i, old_enum) in old.enums.iter().enumerate() {
        match new.enums.iter().position(|e| e.tag == old_enum.tag) {
            Some(j) => {
                new_taken[j] = true;
                enumerators(old_enum, &new.enums[j], &mut findings);
            }
            None => unmatched_old.push(i),
        }
    }
    // An enum whose tag changed is paired with the first new enum nobody claimed, in order: the
    // header keeps its enums in a fixed order, so a renamed tag stays in place.
    for i in unmatched_old {
        let old_enum = &old.enums[i];
        match new_taken.iter().position(|taken| !taken) {
            Some(j) => {
                new_taken[j] = true;
                let new_enum = &new.enums[j];
                findings.push(Finding::new(
                    &ENUM_RENAMED,
                    &old_enum.tag,
                    format!("is now `enum {}`", new_enum.tag),
                ));
                enumerators(old_enum, new_enum, &mut findings);
            }
            None => findings.push(Finding::new(
                &ENUM_REMOVED,
                &old_enum.tag,
                format!(
                    "removed with its {} enumerators",
                    old_enum.enumerators.len()
                ),
            )),
        }
    }
    for (j, new_enum) in new.enums.iter().enumerate() {
        if !new_taken[j] {
            findings.push(Finding::new(
                &ENUM_ADDED,
                &new_enum.tag,
                format!("added with {} enumerators", new_enum.enumerators.len()),
            ));
        }
    }
    defines(old, new, &mut findings);
    findings
}

fn enumerators(old: &CEnum, new: &CEnum, findings: &mut Vec<Finding>) {
    let find = |e: &CEnum, name: &str| e.enumerators.iter().find(|x| x.name == name).cloned();
    let mut rename_targets: Vec<&str> = Vec::new();
    for o in &old.enumerators {
        if let Some(n) = find(new, &o.name) {
            if n.value == o.value {
                continue;
            }
            let (lint, verb) = match (o.is_size_sentinel(), n.value > o.value) {
                (true, true) => (&SIZE_GROWN, "grew"),
                (true, false) => (&SIZE_SHRUNK, "shrank"),
                (false, _) => (&ENUMERATOR_RENUMBERED, "renumbered"),
            };
            let mut finding =
                Finding::new(lint, &o.name, format!("{verb}: {} → {}", o.value, n.value));
            finding.shift = Some(n.value - o.value);
            findings.push(finding);
            continue;
        }
        // Gone by name. If its old value now carries a name the old header did not have, the
        // enumerator was renamed; otherwise it was removed.
        // A sentinel is renamed to the new sentinel whatever its value (it may have grown too).
        let successor = new.enumerators.iter().find(|n| {
            find(old, &n.name).is_none()
                && if o.is_size_sentinel() {
                    n.is_size_sentinel()
                } else {
                    n.value == o.value && !n.is_size_sentinel()
                }
        });
        match successor {
            Some(n) => {
                rename_targets.push(&n.name);
                findings.push(Finding::new(
                    &ENUMERATOR_RENAMED,
                    &o.name,
                    format!("value {} is now named `{}`", o.value, n.name),
                ));
            }
            _ => findings.push(Finding::new(
                &ENUMERATOR_REMOVED,
                &o.name,
                format!("removed (was {})", o.value),
            )),
        }
    }
    for n in &new.enumerators {
        if find(old, &n.name).is_none() && !rename_targets.contains(&n.name.as_str()) {
            findings.push(Finding::new(
                &ENUMERATOR_ADDED,
                &n.name,
                format!("added = {}", n.value),
            ));
        }
    }
}

fn defines(old: &Uapi, new: &Uapi, findings: &mut Vec<Finding>) {
    for o in &old.defines {
        match new.defines.iter().find(|n| n.name == o.name) {
            Some(n) if n.value == o.value => {}
            Some(n) => findings.push(Finding::new(
                &DEFINE_CHANGED,
                &o.name,
                format!("changed: {} → {}", o.value, n.value),
            )),
            None => findings.push(Finding::new(
                &DEFINE_REMOVED,
                &o.name,
                format!("removed (was {})", o.value),
            )),
        }
    }
    for n in &new.defines {
        if !old.defines.iter().any(|o| o.name == n.name) {
            findings.push(Finding::new(
                &DEFINE_ADDED,
                &n.name,
                format!("added = {}", n.value),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::read;

    fn ids(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings
            .iter()
            .map(|f| (f.lint.id, f.item.as_str()))
            .collect()
    }

    fn header(body: &str) -> Uapi {
        read(&format!("enum t_queue_id {{\n{body}}};\n")).unwrap()
    }

    #[test]
    fn inserting_in_the_middle_renumbers_what_follows() {
        let old = header("A = 0,\nB = 1,\nC = 2,\nT_SIZE = 3\n");
        let new = header("A = 0,\nX = 1,\nB = 2,\nC = 3,\nT_SIZE = 4\n");
        assert_eq!(
            ids(&compare(&old, &new)),
            [
                ("enumerator_renumbered", "B"),
                ("enumerator_renumbered", "C"),
                ("size_grown", "T_SIZE"),
                ("enumerator_added", "X"),
            ]
        );
    }

    #[test]
    fn appending_is_additive_only() {
        let old = header("A = 0,\nT_SIZE = 1\n");
        let new = header("A = 0,\nB = 1,\nT_SIZE = 2\n");
        let findings = compare(&old, &new);
        assert!(findings.iter().all(|f| !f.is_breaking()), "{findings:?}");
        assert_eq!(
            ids(&findings),
            [("size_grown", "T_SIZE"), ("enumerator_added", "B")]
        );
    }

    #[test]
    fn renamed_removed_and_shrunk_are_told_apart() {
        let old = header("A = 0,\nB = 1,\nC = 2,\nT_SIZE = 3\n");
        let new = header("A = 0,\nBB = 1,\nT_SIZE = 2\n");
        assert_eq!(
            ids(&compare(&old, &new)),
            [
                ("enumerator_renamed", "B"),
                ("enumerator_removed", "C"),
                ("size_shrunk", "T_SIZE"),
            ]
        );
    }

    #[test]
    fn a_renamed_tag_is_one_enum_renamed_and_its_enumerators_compared() {
        let old = read("enum a_id {\nA_X = 0,\n};\n").unwrap();
        let new = read("enum b_id {\nB_X = 0,\n};\n").unwrap();
        assert_eq!(
            ids(&compare(&old, &new)),
            [("enum_renamed", "a_id"), ("enumerator_renamed", "A_X")]
        );
    }

    #[test]
    fn define_values_are_compared() {
        let old = read("#define W_S_SOB 48\n#define GONE 1\n").unwrap();
        let new = read("#define W_S_SOB 32\n#define NEW 2\n").unwrap();
        assert_eq!(
            ids(&compare(&old, &new)),
            [
                ("define_changed", "W_S_SOB"),
                ("define_removed", "GONE"),
                ("define_added", "NEW")
            ]
        );
    }

    #[test]
    fn lint_ids_are_unique_and_findable() {
        for lint in ALL {
            assert_eq!(by_id(lint.id), Some(lint));
        }
        assert_eq!(by_id("no_such_lint"), None);
    }
}
