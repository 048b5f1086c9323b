//! Typed reading of `key = value` settings blocks: unknown and duplicate keys, missing required
//! keys, and values of the wrong shape are all reported, each once.

use std::collections::BTreeMap;

use crate::ast::{Number, Setting, SettingsBlock, Value};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::suggest;

/// The settings of one block, by key, after unknown and duplicate keys were reported.
pub struct Settings<'a> {
    block_name: &'static str,
    anchor: Span,
    by_key: BTreeMap<&'a str, &'a Setting>,
    /// Known keys that an unknown key looked like: not reported missing as well.
    suggested: Vec<&'static str>,
}

impl<'a> Settings<'a> {
    /// Reads `block` (or nothing, when the block is missing: `anchor` is then where "missing
    /// key" errors point), accepting only `known` keys.
    pub fn read(
        block: Option<&'a SettingsBlock>,
        block_name: &'static str,
        anchor: Span,
        known: &[&'static str],
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Settings<'a> {
        let mut by_key: BTreeMap<&str, &Setting> = BTreeMap::new();
        let mut suggested = Vec::new();
        let anchor = block.map_or(anchor, |b| b.name.as_ref().map_or(b.keyword, |n| n.span));
        for setting in block.iter().flat_map(|b| &b.settings) {
            let key = setting.key.text.as_str();
            if !known.contains(&key) {
                suggested.extend(suggest::closest(key, known.iter().copied()));
                diagnostics.push(
                    Diagnostic::error(
                        setting.key.span,
                        format!("unknown setting `{key}` in `{block_name}`"),
                    )
                    .label("not a setting of this block")
                    .maybe_help(suggest::help(
                        key,
                        "settings",
                        known.iter().copied(),
                    )),
                );
            } else if let Some(first) = by_key.get(key) {
                diagnostics.push(
                    Diagnostic::error(setting.key.span, format!("`{key}` is set twice"))
                        .label("second setting")
                        .note(first.key.span, "first set here")
                        .help("keep one of them"),
                );
            } else {
                by_key.insert(key, setting);
            }
        }
        Settings {
            block_name,
            anchor,
            by_key,
            suggested,
        }
    }

    fn missing(&self, key: &str, example: &str, diagnostics: &mut Vec<Diagnostic>) {
        if self.suggested.contains(&key) {
            // "unknown setting `pci_vender`, did you mean `pci_vendor`?" already says it.
            return;
        }
        diagnostics.push(
            Diagnostic::error(
                self.anchor,
                format!("`{}` is missing `{key}`", self.block_name),
            )
            .label(format!("`{key}` must be set here"))
            .help(format!("add `{key} = {example}`")),
        );
    }

    fn wrong(setting: &Setting, want: &str, diagnostics: &mut Vec<Diagnostic>) {
        diagnostics.push(
            Diagnostic::error(
                setting.value.span(),
                format!(
                    "`{}` takes {want}, found {}",
                    setting.key.text,
                    setting.value.describe()
                ),
            )
            .label(format!("expected {want}")),
        );
    }

    /// The setting itself, to point at it.
    pub fn get(&self, key: &str) -> Option<&'a Setting> {
        self.by_key.get(key).copied()
    }

    /// A required number; `None` after reporting.
    pub fn number(
        &self,
        key: &str,
        example: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<(u64, Span)> {
        let Some(setting) = self.get(key) else {
            self.missing(key, example, diagnostics);
            return None;
        };
        match &setting.value {
            Value::Number(Number { value, span }) => value.map(|v| (v, *span)),
            _ => {
                Self::wrong(setting, "a number", diagnostics);
                None
            }
        }
    }

    /// An optional number.
    pub fn optional_number(
        &self,
        key: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<(u64, Span)> {
        self.get(key)?;
        self.number(key, "", diagnostics)
    }

    /// A required string.
    pub fn string(
        &self,
        key: &str,
        example: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<(&'a str, Span)> {
        let Some(setting) = self.get(key) else {
            self.missing(key, example, diagnostics);
            return None;
        };
        match &setting.value {
            Value::Str { text, span } => Some((text.as_str(), *span)),
            _ => {
                Self::wrong(setting, "a string in double quotes", diagnostics);
                None
            }
        }
    }

    /// A required duration in milliseconds.
    pub fn duration(
        &self,
        key: &str,
        example: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<u64> {
        let Some(setting) = self.get(key) else {
            self.missing(key, example, diagnostics);
            return None;
        };
        match &setting.value {
            Value::Duration { millis, .. } => *millis,
            Value::Number(n) => {
                diagnostics.push(
                    Diagnostic::error(n.span, format!("`{key}` needs a unit"))
                        .label("a bare number")
                        .help(format!(
                            "write `{}s` for seconds or `{}ms` for milliseconds",
                            n.value.unwrap_or(0),
                            n.value.unwrap_or(0)
                        )),
                );
                None
            }
            _ => {
                Self::wrong(setting, "a duration such as `30s`", diagnostics);
                None
            }
        }
    }

    /// A required name from a fixed vocabulary, parsed by `parse`.
    pub fn choice<T>(
        &self,
        key: &str,
        choices: &[&'static str],
        parse: impl Fn(&str) -> Option<T>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<T> {
        let Some(setting) = self.get(key) else {
            self.missing(key, choices.first().copied().unwrap_or(""), diagnostics);
            return None;
        };
        let Value::Ident(ident) = &setting.value else {
            Self::wrong(setting, &format!("one of {}", list(choices)), diagnostics);
            return None;
        };
        let parsed = parse(&ident.text);
        if parsed.is_none() {
            diagnostics.push(
                Diagnostic::error(
                    ident.span,
                    format!("unknown `{key}` value `{}`", ident.text),
                )
                .label(format!("expected one of {}", list(choices)))
                .maybe_help(
                    suggest::closest(&ident.text, choices.iter().copied())
                        .map(|best| format!("did you mean `{best}`?")),
                ),
            );
        }
        parsed
    }

    /// An optional `true`/`false`, `false` when absent.
    pub fn flag(&self, key: &str, diagnostics: &mut Vec<Diagnostic>) -> bool {
        if self.get(key).is_none() {
            return false;
        }
        self.choice(
            key,
            &["true", "false"],
            |s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            diagnostics,
        )
        .unwrap_or(false)
    }

    /// A required non-empty list of numbers.
    pub fn number_list(
        &self,
        key: &str,
        example: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Vec<(u64, Span)>> {
        let Some(setting) = self.get(key) else {
            self.missing(key, example, diagnostics);
            return None;
        };
        let Value::List { items, span } = &setting.value else {
            Self::wrong(setting, "a list such as `[0x1000]`", diagnostics);
            return None;
        };
        if items.is_empty() {
            diagnostics.push(
                Diagnostic::error(*span, format!("`{key}` is empty"))
                    .label("needs at least one entry")
                    .help(format!("write `{key} = {example}`")),
            );
            return None;
        }
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::Number(Number {
                    value: Some(v),
                    span,
                }) => out.push((*v, *span)),
                Value::Number(_) => return None,
                other => {
                    diagnostics.push(
                        Diagnostic::error(
                            other.span(),
                            format!("`{key}` takes numbers, found {}", other.describe()),
                        )
                        .label("expected a number"),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// `` `a`, `b` or `c` ``.
pub fn list(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
