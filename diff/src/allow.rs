//! The allow-list: findings a team has decided to accept, each with the reason why.
//!
//! ```toml
//! [[allow]]
//! lint = "enumerator_renumbered"
//! item = "GAUDI_QUEUE_ID_NIC_*"      # an exact name, or a prefix ending in `*`
//! reason = "the NIC queues were never exposed to user space"
//! ```
//!
//! An entry without a reason, or naming a lint that does not exist, is an input error: an
//! allow-list nobody can read back is worse than none. Entries that waive nothing are reported,
//! so stale ones get removed.

use std::fmt;

use serde::Deserialize;

use crate::lints::{self, Finding, Level};

/// A parsed allow-list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

/// One waiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The lint id it waives.
    pub lint: String,
    /// The item: an exact name, or a prefix followed by `*`.
    pub item: String,
    /// Why this is acceptable (required, non-empty).
    pub reason: String,
}

impl Entry {
    fn matches(&self, finding: &Finding) -> bool {
        self.lint == finding.lint.id
            && match self.item.strip_suffix('*') {
                Some(prefix) => finding.item.starts_with(prefix),
                None => finding.item == self.item,
            }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    allow: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    lint: String,
    item: String,
    reason: Option<String>,
}

/// Why an allow-list was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowError(String);

impl fmt::Display for AllowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AllowError {}

impl AllowList {
    /// Parses the TOML text of an allow-list.
    pub fn parse(text: &str) -> Result<AllowList, AllowError> {
        let file: File = toml::from_str(text).map_err(|e| AllowError(e.to_string()))?;
        let mut entries = Vec::new();
        for (index, raw) in file.allow.into_iter().enumerate() {
            let n = index + 1;
            let Some(lint) = lints::by_id(&raw.lint) else {
                let known: Vec<&str> = lints::ALL.iter().map(|l| l.id).collect();
                return Err(AllowError(format!(
                    "allow entry {n}: no lint `{}` (lints: {})",
                    raw.lint,
                    known.join(", ")
                )));
            };
            if lint.level == Level::Info {
                return Err(AllowError(format!(
                    "allow entry {n}: `{}` is informational and never fails a diff; remove the entry",
                    raw.lint
                )));
            }
            let reason = raw.reason.unwrap_or_default();
            if reason.trim().is_empty() {
                return Err(AllowError(format!(
                    "allow entry {n} (`{}` on `{}`) has no reason: say why the change is acceptable",
                    raw.lint, raw.item
                )));
            }
            if raw.item.trim().is_empty()
                || raw.item[..raw.item.len().saturating_sub(1)].contains('*')
            {
                return Err(AllowError(format!(
                    "allow entry {n}: item `{}` must be a name, or a prefix ending in `*`",
                    raw.item
                )));
            }
            entries.push(Entry {
                lint: raw.lint,
                item: raw.item,
                reason: reason.trim().to_string(),
            });
        }
        Ok(AllowList { entries })
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Marks every finding an entry waives (first matching entry wins) and returns, per entry,
    /// whether it waived anything.
    pub fn apply(&self, findings: &mut [Finding]) -> Vec<bool> {
        let mut used = vec![false; self.entries.len()];
        for finding in findings.iter_mut() {
            if let Some(i) = self.entries.iter().position(|e| e.matches(finding)) {
                used[i] = true;
                finding.allowed = Some(self.entries[i].reason.clone());
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lints::{DEFINE_CHANGED, ENUMERATOR_RENUMBERED};

    fn finding(lint: &'static lints::Lint, item: &str) -> Finding {
        Finding {
            lint,
            item: item.into(),
            message: String::new(),
            shift: None,
            allowed: None,
        }
    }

    #[test]
    fn a_prefix_entry_waives_matching_items_of_its_lint_only() {
        let list = AllowList::parse(
            "[[allow]]\nlint = \"enumerator_renumbered\"\nitem = \"G_NIC_*\"\nreason = \"never exposed\"\n",
        )
        .unwrap();
        let mut findings = vec![
            finding(&ENUMERATOR_RENUMBERED, "G_NIC_0"),
            finding(&ENUMERATOR_RENUMBERED, "G_DMA_0"),
            finding(&DEFINE_CHANGED, "G_NIC_X"),
        ];
        assert_eq!(list.apply(&mut findings), [true]);
        assert_eq!(findings[0].allowed.as_deref(), Some("never exposed"));
        assert!(findings[1].is_breaking() && findings[2].is_breaking());
    }

    #[test]
    fn entries_without_reason_or_with_unknown_lints_are_refused() {
        for (text, expect) in [
            (
                "[[allow]]\nlint = \"define_changed\"\nitem = \"X\"\n",
                "has no reason",
            ),
            (
                "[[allow]]\nlint = \"define_changed\"\nitem = \"X\"\nreason = \" \"\n",
                "has no reason",
            ),
            (
                "[[allow]]\nlint = \"define_chnged\"\nitem = \"X\"\nreason = \"r\"\n",
                "no lint `define_chnged`",
            ),
            (
                "[[allow]]\nlint = \"define_added\"\nitem = \"X\"\nreason = \"r\"\n",
                "informational",
            ),
            (
                "[[allow]]\nlint = \"define_changed\"\nitem = \"*X*\"\nreason = \"r\"\n",
                "prefix ending in `*`",
            ),
            (
                "[[allow]]\nlint = \"define_changed\"\n",
                "missing field `item`",
            ),
            ("[[alow]]\n", "unknown field"),
        ] {
            let err = AllowList::parse(text).unwrap_err().to_string();
            assert!(err.contains(expect), "{text:?} gave {err}");
        }
        assert_eq!(AllowList::parse("").unwrap().entries().len(), 0);
    }
}
