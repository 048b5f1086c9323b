//! Text to syntax tree. The pest grammar (`grammar.pest`) gives the shapes; this module turns
//! pest's pairs into the typed [`crate::ast`] with spans, and pest's errors into diagnostics
//! that list the expected tokens in words.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

pub(crate) mod grammar {
    // The derive generates `Rule` with one undocumented variant per grammar rule; the grammar
    // file is their documentation.
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub struct Grammar;
}
use grammar::{Grammar, Rule};

/// A parsed file with the non-fatal diagnostics found on the way, or the syntax error that
/// stopped the parse.
pub type Parsed<T> = Result<(T, Vec<Diagnostic>), Diagnostic>;

/// Parses a `.asic` file. Syntax errors stop the parse (one diagnostic); number overflows are
/// reported alongside a tree that is otherwise usable.
pub fn spec(file: FileId, text: &str) -> Parsed<SpecFile> {
    let root = parse_rule(Rule::spec, file, text)?;
    let mut cx = Cx {
        file,
        diagnostics: Vec::new(),
    };
    let mut out = SpecFile::default();
    for section in root.into_inner() {
        match section.as_rule() {
            Rule::asic_block => out
                .settings_blocks
                .push(cx.settings_block(section, BlockKind::Asic)),
            Rule::limits_block => out
                .settings_blocks
                .push(cx.settings_block(section, BlockKind::Limits)),
            Rule::features_block => out
                .settings_blocks
                .push(cx.settings_block(section, BlockKind::Features)),
            Rule::engines_block => out.engines.push(cx.table_block(section, Cx::engine_decl)),
            Rule::queues_block => out.queues.push(cx.table_block(section, Cx::queue_decl)),
            Rule::completion_queues_block => out
                .completion_queues
                .push(cx.settings_block(section, BlockKind::CompletionQueues)),
            Rule::sync_manager_block => out.sync_managers.push(cx.sync_manager_block(section)),
            Rule::binning_block => out.binning.push(cx.binning_block(section)),
            Rule::kernel_block => out.kernel.push(cx.kernel_block(section)),
            _ => {}
        }
    }
    Ok((out, cx.diagnostics))
}

/// Parses a `.lifecycle` file.
pub fn lifecycle(file: FileId, text: &str) -> Parsed<LifecycleFile> {
    let root = parse_rule(Rule::lifecycle_file, file, text)?;
    let mut cx = Cx {
        file,
        diagnostics: Vec::new(),
    };
    let mut header = None;
    let mut states = Vec::new();
    for item in root.into_inner() {
        match item.as_rule() {
            Rule::lifecycle_header => header = Some(cx.lifecycle_header(item)),
            Rule::state_decl => states.push(cx.state_decl(item)),
            _ => {}
        }
    }
    // The grammar requires a header, so it is always there once the parse succeeded.
    let Some((doc, name, extends)) = header else {
        return Err(Diagnostic::error(
            Span::new(file, 0, 0),
            "expected a `lifecycle` header",
        ));
    };
    Ok((
        LifecycleFile {
            doc,
            name,
            extends,
            states,
        },
        cx.diagnostics,
    ))
}

pub(crate) fn parse_rule(
    rule: Rule,
    file: FileId,
    text: &str,
) -> Result<Pair<'_, Rule>, Diagnostic> {
    // Error detail makes pest record the literal tokens it tried, which is what lets a syntax
    // error say "expected `{`" rather than naming grammar rules. It is a process-wide switch that
    // only ever goes on, so setting it on every parse is idempotent and race-free.
    pest::set_error_detail(true);
    match Grammar::parse(rule, text) {
        Ok(mut pairs) => pairs
            .next()
            .ok_or_else(|| Diagnostic::error(Span::new(file, 0, 0), "empty parse")),
        Err(e) => Err(crate::delimiters::prefer_unclosed(
            file,
            text,
            syntax_error(file, text, &e),
        )),
    }
}

fn syntax_error(file: FileId, text: &str, e: &pest::error::Error<Rule>) -> Diagnostic {
    let mut pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let mut expected: Vec<String> = Vec::new();
    if let Some(attempts) = e.parse_attempts() {
        // The farthest point the parser reached is where the text stopped making sense; the
        // error's own location is where the failing rule started.
        pos = pos.max(attempts.max_position);
        // `ParsingToken` is not exported by name; its Display gives the literal for the
        // case-sensitive tokens we use, `a..z` for character ranges and a placeholder for
        // built-in rules, which the rule names below describe better.
        for token in attempts.expected_tokens().iter().map(ToString::to_string) {
            let is_char_range = token.chars().count() == 4 && token.get(1..3) == Some("..");
            // Whitespace and comment openers can appear almost anywhere; listing them would
            // bury the one token that matters.
            let is_trivia = token.trim().is_empty() || token.starts_with("//") || token == "_";
            if token != "BUILTIN_RULE" && !is_char_range && !is_trivia {
                push_unique(&mut expected, format!("`{token}`"));
            }
        }
    }
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        for rule in positives {
            if let Some(words) = describe_rule(*rule) {
                push_unique(&mut expected, words);
            }
        }
    }
    expected.sort_by(|a, b| (a.starts_with('`'), a).cmp(&(b.starts_with('`'), b)));
    let found = describe_found(text, pos);
    let (start, end) = found_span(text, pos);
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    Diagnostic::error(Span::new(file, start, end), message)
        .label("unexpected here")
        .help(syntax_help(&expected))
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

fn describe_rule(rule: Rule) -> Option<String> {
    let words = match rule {
        Rule::ident => "a name",
        Rule::number => "a number",
        Rule::duration => "a duration",
        Rule::string => "a string",
        Rule::EOI => "end of file",
        Rule::asic_block
        | Rule::limits_block
        | Rule::features_block
        | Rule::engines_block
        | Rule::queues_block
        | Rule::completion_queues_block
        | Rule::sync_manager_block
        | Rule::binning_block
        | Rule::kernel_block => {
            "a section (`asic`, `limits`, `features`, `engines`, `queues`, \
             `completion_queues`, `sync_manager`, `binning`, `kernel`)"
        }
        Rule::engine_group | Rule::queue_group => "a group",
        Rule::sync_reserve => "a `reserve` range",
        Rule::binning_rule => "a binning rule",
        Rule::name_list => "a list of names",
        Rule::state_decl => "a state",
        Rule::setting => "a setting",
        Rule::dma_channel => "a `dma_channel` line",
        Rule::property => "a property",
        Rule::engine_decl => "an engine declaration",
        Rule::queue_decl => "a queue declaration",
        Rule::transition => "a transition",
        Rule::name_range => "a name or a name range",
        Rule::list => "a list",
        _ => return keyword_of(rule).map(|k| format!("`{k}`")),
    };
    Some(words.to_string())
}

fn keyword_of(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::kw_asic => "asic",
        Rule::kw_limits => "limits",
        Rule::kw_features => "features",
        Rule::kw_engines => "engines",
        Rule::kw_queues => "queues",
        Rule::kw_kernel => "kernel",
        Rule::kw_dma_channel => "dma_channel",
        Rule::kw_reserved => "reserved",
        Rule::kw_streams => "streams",
        Rule::kw_lifecycle => "lifecycle",
        Rule::kw_extends => "extends",
        Rule::kw_state => "state",
        Rule::kw_initial => "initial",
        Rule::kw_terminal => "terminal",
        Rule::kw_signals => "signals",
        Rule::kw_ignore => "ignore",
        Rule::kw_group => "group",
        Rule::kw_only => "only",
        Rule::kw_c_name => "c_name",
        Rule::kw_in => "in",
        Rule::kw_per => "per",
        Rule::kw_reserve => "reserve",
        Rule::kw_binning => "binning",
        Rule::kw_sync_manager => "sync_manager",
        Rule::kw_completion_queues => "completion_queues",
        _ => return None,
    })
}

fn syntax_help(expected: &[String]) -> String {
    if expected.iter().any(|e| e.contains("section")) {
        "a spec is a sequence of `asic Name { ... }`, `limits { ... }`, `features { ... }`, \
         `engines { ... }`, `queues { ... }` and the optional `completion_queues { ... }`, \
         `sync_manager { ... }`, `binning { ... }` and `kernel { ... }` blocks"
            .to_string()
    } else if expected.iter().any(|e| e == "a state") {
        "a lifecycle is a `lifecycle name` header followed by `[initial|terminal] state Name \
         [signals outcome] { event -> State  ignore event, ... }` declarations"
            .to_string()
    } else {
        "check the syntax near here; docs/spec-language.md describes every block and form of the \
         language"
            .to_string()
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe_found(text: &str, pos: usize) -> String {
    let rest = text.get(pos..).unwrap_or("");
    match rest.chars().next() {
        None => "end of file".to_string(),
        Some(c) if c.is_alphanumeric() || c == '_' => {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            format!("`{word}`")
        }
        Some('\n') => "end of line".to_string(),
        Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
        Some(c) => format!("`{c}`"),
    }
}

fn found_span(text: &str, pos: usize) -> (usize, usize) {
    let rest = text.get(pos..).unwrap_or("");
    let len = match rest.chars().next() {
        None | Some('\n') => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .char_indices()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i),
        Some(c) => c.len_utf8(),
    };
    (pos, pos + len)
}

/// Lowering context: the file being read and the non-fatal diagnostics found so far.
struct Cx {
    file: FileId,
    diagnostics: Vec<Diagnostic>,
}

impl Cx {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            text: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn number(&mut self, pair: Pair<'_, Rule>) -> Number {
        let span = self.span(&pair);
        let raw = pair.as_str().replace('_', "");
        let parsed = match raw.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => raw.parse::<u64>(),
        };
        let value = match parsed {
            Ok(v) => Some(v),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::error(span, "number too large")
                        .label("does not fit in 64 bits")
                        .help(format!(
                            "the largest number a spec can hold is {}",
                            u64::MAX
                        )),
                );
                None
            }
        };
        Number { value, span }
    }

    fn doc(pair: Pair<'_, Rule>) -> String {
        let text = pair.into_inner().next().map_or("", |t| t.as_str());
        // why: the Model keeps the text after `///` as written; the one conventional space is
        // removed once, where an output is written (codegen's `names::doc_text`), so an indented
        // code block in a doc comment keeps its four spaces.
        text.trim_end().to_string()
    }

    fn name_range(&self, pair: Pair<'_, Rule>) -> NameRange {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner.next().map(|p| self.ident(p));
        let last = inner.next().map(|p| self.ident(p));
        NameRange {
            first: first.unwrap_or(Ident {
                text: String::new(),
                span,
            }),
            last,
            span,
        }
    }

    fn id_range(&mut self, pair: Pair<'_, Rule>) -> IdRange {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let first = inner.next().map(|p| self.number(p));
        let last = inner.next().map(|p| self.number(p));
        IdRange {
            first: first.unwrap_or(Number { value: None, span }),
            last,
            span,
        }
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::number => Value::Number(self.number(pair)),
            Rule::ident => Value::Ident(self.ident(pair)),
            Rule::string => Value::Str {
                text: pair.into_inner().next().map_or("", |t| t.as_str()).into(),
                span,
            },
            Rule::duration => {
                let mut inner = pair.into_inner();
                let number = inner.next().map(|p| self.number(p));
                let unit = inner.next().map_or("s", |u| u.as_str());
                let factor = if unit == "ms" { 1 } else { 1000 };
                let millis = number
                    .and_then(|n| n.value)
                    .and_then(|v| v.checked_mul(factor));
                if millis.is_none() && number.is_some_and(|n| n.value.is_some()) {
                    self.diagnostics.push(
                        Diagnostic::error(span, "duration too large")
                            .label("does not fit in 64 bits of milliseconds"),
                    );
                }
                Value::Duration { millis, span }
            }
            Rule::list => Value::List {
                items: pair.into_inner().map(|p| self.value(p)).collect(),
                span,
            },
            _ => Value::Ident(Ident {
                text: pair.as_str().to_string(),
                span,
            }),
        }
    }

    fn settings_block(&mut self, pair: Pair<'_, Rule>, kind: BlockKind) -> SettingsBlock {
        let mut block = SettingsBlock {
            kind,
            doc: Vec::new(),
            keyword: self.span(&pair),
            name: None,
            settings: Vec::new(),
        };
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::doc => block.doc.push(Self::doc(item)),
                Rule::kw_asic
                | Rule::kw_limits
                | Rule::kw_features
                | Rule::kw_completion_queues
                | Rule::kw_kernel => {
                    block.keyword = self.span(&item);
                }
                Rule::ident => block.name = Some(self.ident(item)),
                Rule::setting => {
                    if let Some(setting) = self.setting(item) {
                        block.settings.push(setting);
                    }
                }
                _ => {}
            }
        }
        block
    }

    fn kernel_block(&mut self, pair: Pair<'_, Rule>) -> KernelBlock {
        let mut dma_channels = Vec::new();
        for item in pair.clone().into_inner() {
            if item.as_rule() != Rule::dma_channel {
                continue;
            }
            let mut doc = Vec::new();
            let mut ranges = Vec::new();
            for part in item.into_inner() {
                match part.as_rule() {
                    Rule::doc => doc.push(Self::doc(part)),
                    Rule::name_range => ranges.push(self.name_range(part)),
                    _ => {}
                }
            }
            let mut ranges = ranges.into_iter();
            // why: the grammar requires both ranges; a missing one cannot occur after a parse.
            if let (Some(channels), Some(engines)) = (ranges.next(), ranges.next()) {
                dma_channels.push(DmaChannelDecl {
                    doc,
                    channels,
                    engines,
                });
            }
        }
        // The settings are read like any settings block; it skips the `dma_channel` lines.
        KernelBlock {
            settings: self.settings_block(pair, BlockKind::Kernel),
            dma_channels,
        }
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> Option<Setting> {
        let mut doc = Vec::new();
        let mut key = None;
        let mut value = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => doc.push(Self::doc(part)),
                Rule::ident if key.is_none() => key = Some(self.ident(part)),
                _ => value = Some(self.value(part)),
            }
        }
        Some(Setting {
            doc,
            key: key?,
            value: value?,
        })
    }

    fn sync_manager_block(&mut self, pair: Pair<'_, Rule>) -> SyncManagerBlock {
        let mut block = SyncManagerBlock {
            doc: Vec::new(),
            keyword: self.span(&pair),
            settings: Vec::new(),
            reserves: Vec::new(),
        };
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::doc => block.doc.push(Self::doc(item)),
                Rule::kw_sync_manager => block.keyword = self.span(&item),
                Rule::setting => block.settings.extend(self.setting(item)),
                Rule::sync_reserve => {
                    let span = self.span(&item);
                    let mut reserve = SyncReserve {
                        doc: Vec::new(),
                        name: Ident {
                            text: String::new(),
                            span,
                        },
                        counts: Vec::new(),
                    };
                    for part in item.into_inner() {
                        match part.as_rule() {
                            Rule::doc => reserve.doc.push(Self::doc(part)),
                            Rule::ident => reserve.name = self.ident(part),
                            Rule::sync_count => {
                                let mut inner = part.into_inner();
                                let Some(key) = inner.next().map(|k| self.ident(k)) else {
                                    continue;
                                };
                                let terms = inner
                                    .map(|term| {
                                        let mut t = term.into_inner();
                                        let count = match t.next() {
                                            Some(n) => self.number(n),
                                            None => Number { value: None, span },
                                        };
                                        let per = t
                                            .find(|p| p.as_rule() == Rule::ident)
                                            .map(|p| self.ident(p));
                                        SyncTerm { count, per }
                                    })
                                    .collect();
                                reserve.counts.push(SyncCount { key, terms });
                            }
                            _ => {}
                        }
                    }
                    block.reserves.push(reserve);
                }
                _ => {}
            }
        }
        block
    }

    fn binning_block(&mut self, pair: Pair<'_, Rule>) -> BinningBlock {
        let mut block = BinningBlock {
            doc: Vec::new(),
            keyword: self.span(&pair),
            rules: Vec::new(),
        };
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::doc => block.doc.push(Self::doc(item)),
                Rule::kw_binning => block.keyword = self.span(&item),
                Rule::binning_rule => {
                    let span = self.span(&item);
                    let mut rule = BinningRuleDecl {
                        doc: Vec::new(),
                        name: Ident {
                            text: String::new(),
                            span,
                        },
                        properties: Vec::new(),
                    };
                    for part in item.into_inner() {
                        match part.as_rule() {
                            Rule::doc => rule.doc.push(Self::doc(part)),
                            Rule::ident => rule.name = self.ident(part),
                            Rule::properties => rule.properties = self.properties(part),
                            _ => {}
                        }
                    }
                    block.rules.push(rule);
                }
                _ => {}
            }
        }
        block
    }

    fn properties(&mut self, pair: Pair<'_, Rule>) -> Vec<Property> {
        let mut properties = Vec::new();
        for prop in pair.into_inner() {
            let mut inner = prop.into_inner();
            let Some(key) = inner.next().map(|k| self.ident(k)) else {
                continue;
            };
            let value = inner.next().map(|v| match v.as_rule() {
                Rule::number => PropertyValue::Number(self.number(v)),
                Rule::name_list => {
                    let span = self.span(&v);
                    let items = v
                        .into_inner()
                        .map(|sel| {
                            let span = self.span(&sel);
                            let mut ranges = sel
                                .into_inner()
                                .filter(|p| p.as_rule() == Rule::name_range)
                                .map(|p| self.name_range(p));
                            let names = ranges.next().unwrap_or(NameRange {
                                first: Ident {
                                    text: String::new(),
                                    span,
                                },
                                last: None,
                                span,
                            });
                            Selector {
                                names,
                                groups: ranges.next(),
                                span,
                            }
                        })
                        .collect();
                    PropertyValue::List { items, span }
                }
                _ => PropertyValue::Names(self.name_range(v)),
            });
            properties.push(Property { key, value });
        }
        properties
    }

    fn only(&self, pair: Pair<'_, Rule>) -> Vec<Ident> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.ident(p))
            .collect()
    }

    fn group<D>(
        &mut self,
        pair: Pair<'_, Rule>,
        decl: fn(&mut Cx, Pair<'_, Rule>) -> D,
    ) -> Group<D> {
        let span = self.span(&pair);
        let mut group = Group {
            doc: Vec::new(),
            keyword: span,
            names: NameRange {
                first: Ident {
                    text: String::new(),
                    span,
                },
                last: None,
                span,
            },
            c_name: None,
            items: Vec::new(),
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => group.doc.push(Self::doc(part)),
                Rule::kw_group => group.keyword = self.span(&part),
                Rule::name_range => group.names = self.name_range(part),
                Rule::c_name => {
                    if let Some(s) = part.into_inner().find(|p| p.as_rule() == Rule::string) {
                        let span = self.span(&s);
                        let text = s.into_inner().next().map_or("", |t| t.as_str());
                        group.c_name = Some((text.to_string(), span));
                    }
                }
                Rule::engine_group | Rule::queue_group => {
                    group.items.push(TableItem::Group(self.group(part, decl)));
                }
                _ => group.items.push(TableItem::Decl(decl(self, part))),
            }
        }
        group
    }

    fn table_block<D>(
        &mut self,
        pair: Pair<'_, Rule>,
        decl: fn(&mut Cx, Pair<'_, Rule>) -> D,
    ) -> TableBlock<D> {
        let mut block = TableBlock {
            doc: Vec::new(),
            keyword: self.span(&pair),
            items: Vec::new(),
        };
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::doc => block.doc.push(Self::doc(item)),
                Rule::kw_engines | Rule::kw_queues => block.keyword = self.span(&item),
                Rule::reserved => {
                    let mut doc = Vec::new();
                    let mut ids = None;
                    for part in item.into_inner() {
                        match part.as_rule() {
                            Rule::doc => doc.push(Self::doc(part)),
                            Rule::id_range => ids = Some(self.id_range(part)),
                            _ => {}
                        }
                    }
                    if let Some(ids) = ids {
                        block.items.push(TableItem::Reserved { doc, ids });
                    }
                }
                Rule::engine_group | Rule::queue_group => {
                    block.items.push(TableItem::Group(self.group(item, decl)));
                }
                _ => block.items.push(TableItem::Decl(decl(self, item))),
            }
        }
        block
    }

    fn engine_decl(&mut self, pair: Pair<'_, Rule>) -> EngineDecl {
        let span = self.span(&pair);
        let mut doc = Vec::new();
        let mut kind = None;
        let mut names = None;
        let mut only = None;
        let mut explicit_id = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => doc.push(Self::doc(part)),
                Rule::ident => kind = Some(self.ident(part)),
                Rule::name_range => names = Some(self.name_range(part)),
                Rule::only => only = Some(self.only(part)),
                Rule::explicit_id => explicit_id = self.explicit_id(part),
                _ => {}
            }
        }
        let blank = || Ident {
            text: String::new(),
            span,
        };
        EngineDecl {
            doc,
            kind: kind.unwrap_or_else(blank),
            names: names.unwrap_or_else(|| NameRange {
                first: blank(),
                last: None,
                span,
            }),
            only,
            explicit_id,
        }
    }

    fn explicit_id(&mut self, pair: Pair<'_, Rule>) -> Option<Number> {
        pair.into_inner().next().map(|n| self.number(n))
    }

    fn queue_decl(&mut self, pair: Pair<'_, Rule>) -> QueueDecl {
        let span = self.span(&pair);
        let mut doc = Vec::new();
        let mut queue_type = None;
        let mut names = None;
        let mut streams = None;
        let mut only = None;
        let mut explicit_id = None;
        let mut properties = Vec::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => doc.push(Self::doc(part)),
                Rule::ident => queue_type = Some(self.ident(part)),
                Rule::name_range => names = Some(self.name_range(part)),
                Rule::streams => {
                    streams = part
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::number)
                        .map(|n| self.number(n));
                }
                Rule::only => only = Some(self.only(part)),
                Rule::explicit_id => explicit_id = self.explicit_id(part),
                Rule::properties => properties = self.properties(part),
                _ => {}
            }
        }
        let blank = || Ident {
            text: String::new(),
            span,
        };
        QueueDecl {
            doc,
            queue_type: queue_type.unwrap_or_else(blank),
            names: names.unwrap_or_else(|| NameRange {
                first: blank(),
                last: None,
                span,
            }),
            streams,
            only,
            explicit_id,
            properties,
        }
    }

    fn lifecycle_header(
        &mut self,
        pair: Pair<'_, Rule>,
    ) -> (Vec<String>, Ident, Option<(String, Span)>) {
        let span = self.span(&pair);
        let mut doc = Vec::new();
        let mut name = Ident {
            text: String::new(),
            span,
        };
        let mut extends = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => doc.push(Self::doc(part)),
                Rule::ident => name = self.ident(part),
                Rule::extends => {
                    if let Some(s) = part.into_inner().find(|p| p.as_rule() == Rule::string) {
                        let span = self.span(&s);
                        let text = s.into_inner().next().map_or("", |t| t.as_str());
                        extends = Some((text.to_string(), span));
                    }
                }
                _ => {}
            }
        }
        (doc, name, extends)
    }

    fn state_decl(&mut self, pair: Pair<'_, Rule>) -> StateDecl {
        let span = self.span(&pair);
        let mut decl = StateDecl {
            doc: Vec::new(),
            kind: StateKind::Normal,
            kind_span: None,
            name: Ident {
                text: String::new(),
                span,
            },
            signals: None,
            body: None,
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::doc => decl.doc.push(Self::doc(part)),
                Rule::state_kind => {
                    decl.kind_span = Some(self.span(&part));
                    decl.kind = match part.into_inner().next().map(|k| k.as_rule()) {
                        Some(Rule::kw_initial) => StateKind::Initial,
                        _ => StateKind::Terminal,
                    };
                }
                Rule::ident => decl.name = self.ident(part),
                Rule::signals => {
                    decl.signals = part
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::ident)
                        .map(|p| self.ident(p));
                }
                Rule::state_body => {
                    let mut items = Vec::new();
                    for item in part.into_inner() {
                        match item.as_rule() {
                            Rule::ignore => items.push(StateItem::Ignore(
                                item.into_inner()
                                    .filter(|p| p.as_rule() == Rule::ident)
                                    .map(|p| self.ident(p))
                                    .collect(),
                            )),
                            Rule::transition => {
                                let mut inner = item.into_inner();
                                if let (Some(event), Some(target)) = (inner.next(), inner.next()) {
                                    items.push(StateItem::Transition {
                                        event: self.ident(event),
                                        target: self.ident(target),
                                    });
                                }
                            }
                            _ => {}
                        }
                    }
                    decl.body = Some(items);
                }
                _ => {}
            }
        }
        decl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FileId = FileId(0);

    #[test]
    fn parses_every_construct_of_a_spec() {
        let text = r#"
            /// Doc.
            asic X { uapi_prefix = "X", pci_devices = [0x1, 2], lifecycle = "l" }
            limits { cs_timeout = 250ms, max_pending_cs = 1_024 }
            engines { dma DMA_0..DMA_3  reserved 4..5  tpc TPC_0 @ 6 }
            queues { external DMA_0..DMA_1 streams 4 @ 0 { engine = DMA_0..DMA_1, cq = 0, driver_only } }
        "#;
        let (ast, diags) = spec(F, text).expect("parses");
        assert!(diags.is_empty());
        assert_eq!(ast.settings_blocks.len(), 2);
        let asic = &ast.settings_blocks[0];
        // The text after `///` as written: the conventional space is the outputs' to remove.
        assert_eq!(asic.doc, vec![" Doc."]);
        assert_eq!(asic.name.as_ref().map(|n| n.text.as_str()), Some("X"));
        assert!(matches!(&asic.settings[1].value, Value::List { items, .. } if items.len() == 2));
        let limits = &ast.settings_blocks[1];
        assert!(matches!(
            limits.settings[0].value,
            Value::Duration {
                millis: Some(250),
                ..
            }
        ));
        assert!(matches!(
            limits.settings[1].value,
            Value::Number(Number {
                value: Some(1024),
                ..
            })
        ));
        let engines = &ast.engines[0].items;
        assert_eq!(engines.len(), 3);
        assert!(matches!(&engines[1], TableItem::Reserved { ids, .. } if ids.last.is_some()));
        let TableItem::Decl(q) = &ast.queues[0].items[0] else {
            panic!("expected a queue declaration");
        };
        assert_eq!(q.streams.and_then(|s| s.value), Some(4));
        assert_eq!(q.properties.len(), 3);
        assert!(q.properties[2].value.is_none());
    }

    #[test]
    fn parses_groups_and_the_driver_blocks() {
        let text = r#"
            engines {
                group D0..D1 c_name "{prefix}_{group}_ENGINE_ID_{name}" {
                    tpc TPC_0..TPC_1
                    group S0 { dma X only D0 }
                }
            }
            queues { group D0..D1 { hw TPC_0 streams 4 only D0, D1 { units = [A..B in C0..C1, d] } } }
            completion_queues { CS = 0 }
            sync_manager {
                sobs = 8, monitors = 4
                reserve r { sobs = 1 per pending_cs + 2, monitors = 3 }
            }
            binning { tpc { units = [tpc], max_faulty = 1, substitutes = [TPC_1] } }
        "#;
        let (ast, diags) = spec(F, text).expect("parses");
        assert!(diags.is_empty());
        let TableItem::Group(g) = &ast.engines[0].items[0] else {
            panic!("expected a group");
        };
        assert_eq!(g.names.last.as_ref().map(|l| l.text.as_str()), Some("D1"));
        assert_eq!(
            g.c_name.as_ref().map(|c| c.0.as_str()),
            Some("{prefix}_{group}_ENGINE_ID_{name}")
        );
        let TableItem::Group(inner) = &g.items[1] else {
            panic!("expected a nested group");
        };
        let TableItem::Decl(x) = &inner.items[0] else {
            panic!("expected a declaration");
        };
        assert_eq!(x.only.as_ref().map(Vec::len), Some(1));
        let TableItem::Group(qg) = &ast.queues[0].items[0] else {
            panic!("expected a queue group");
        };
        let TableItem::Decl(q) = &qg.items[0] else {
            panic!("expected a queue");
        };
        assert_eq!(q.only.as_ref().map(Vec::len), Some(2));
        let Some(PropertyValue::List { items, .. }) = &q.properties[0].value else {
            panic!("expected a list");
        };
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].groups.as_ref().map(|g| g.first.text.as_str()),
            Some("C0")
        );
        assert_eq!(ast.completion_queues[0].settings[0].key.text, "CS");
        let sm = &ast.sync_managers[0];
        assert_eq!(sm.settings.len(), 2);
        assert_eq!(sm.reserves[0].counts[0].terms.len(), 2);
        assert_eq!(
            sm.reserves[0].counts[0].terms[0]
                .per
                .as_ref()
                .map(|p| p.text.as_str()),
            Some("pending_cs")
        );
        assert_eq!(ast.binning[0].rules[0].properties.len(), 3);
    }

    #[test]
    fn keywords_end_at_word_boundaries() {
        let text = "lifecycle l\nstate stateful { ignore x }\nterminal state Done signals ok";
        let (lc, _) = lifecycle(F, text).expect("parses");
        assert_eq!(lc.states[0].name.text, "stateful");
        assert_eq!(lc.states[1].kind, StateKind::Terminal);
    }

    #[test]
    fn huge_numbers_are_diagnosed_not_wrapped() {
        let (_, diags) = spec(F, "limits { max_pending_cs = 99999999999999999999999 }").unwrap();
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].message, "number too large");
    }

    #[test]
    fn syntax_errors_name_the_expected_tokens() {
        let err = spec(F, "engines dma X }").unwrap_err();
        assert_eq!(err.message, "expected `{`, found `dma`");
        assert_eq!((err.span.start, err.span.end), (8, 11));
    }
}
