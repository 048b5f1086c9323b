//! `asicgen fmt`: one canonical layout for spec and lifecycle files.
//!
//! The formatter prints the parse tree again with fixed rules, so two files that parse the same
//! format the same whatever their spacing:
//! - four-space indentation, one item per line, `}` on its own line;
//! - exactly one blank line between top-level sections and between lifecycle states; inside a
//!   block, a blank line the author left between items is kept (one at most);
//! - `=` aligned across the settings of a block, `->` across the transitions of a state;
//! - a queue's or reserve's `{ properties }` stay on the declaration's line when it fits in
//!   [`MAX_WIDTH`] columns, and otherwise fill lines of at most that width under it;
//! - a group with one member, or a block with one setting, and nothing else inside stays on one
//!   line when it fits;
//! - optional commas between settings are dropped; lists and properties are `, `-separated.
//!
//! Comments are never lost. The grammar drops `//` comments, so they are taken from the source
//! text between the tree's nodes: a comment on a line of its own stays on a line of its own
//! before the item that followed it, and a comment after an item on the same line stays after
//! it (aligned with its neighbours'). Doc comments (`///`) are part of the tree and stay with
//! their item, text untouched.
//!
//! Every result is checked before it is returned: it must parse to the same tree (rules and
//! token texts) and carry the same comments in the same order, or the file is refused with an
//! internal error instead of being rewritten wrongly.

use pest::iterators::Pair;

use crate::diagnostic::{Diagnostic, Report};
use crate::parse::grammar::Rule;
use crate::source::{FileId, SourceFile, SourceMap, Span};

/// Lines are kept within this many columns where the layout allows.
pub const MAX_WIDTH: usize = 100;
const INDENT: usize = 4;

/// Which kind of file a text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// A `*.asic` spec.
    Spec,
    /// A `*.lifecycle` file.
    Lifecycle,
}

impl FileKind {
    /// The kind a path names by its extension, if it is one asicgen formats.
    pub fn of_path(path: &std::path::Path) -> Option<FileKind> {
        match path.extension()?.to_str()? {
            "asic" => Some(FileKind::Spec),
            "lifecycle" => Some(FileKind::Lifecycle),
            _ => None,
        }
    }

    fn root(self) -> Rule {
        match self {
            FileKind::Spec => Rule::spec,
            FileKind::Lifecycle => Rule::lifecycle_file,
        }
    }
}

/// Formats `text`. A file that does not parse gets its syntax error as a [`Report`] (shown as
/// `display_path`), and nothing is formatted.
pub fn format(text: &str, kind: FileKind, display_path: &str) -> Result<String, Report> {
    let report = |diagnostic: Diagnostic| {
        let mut sources = SourceMap::default();
        sources.add(SourceFile::new(display_path.to_string(), text.to_string()));
        Report::new(sources, vec![diagnostic])
    };
    let file = FileId(0);
    let root = crate::parse::parse_rule(kind.root(), file, text).map_err(report)?;
    let mut printer = Printer::new(text);
    match kind {
        FileKind::Spec => printer.spec(root.clone()),
        FileKind::Lifecycle => printer.lifecycle_file(root.clone()),
    }
    let formatted = printer.finish();
    // The guard: the same tree and the same comments, or the input is left alone.
    let same = crate::parse::parse_rule(kind.root(), file, &formatted)
        .is_ok_and(|again| shape(again) == shape(root))
        && comment_texts(&formatted) == comment_texts(text);
    if same {
        Ok(formatted)
    } else {
        Err(report(
            Diagnostic::error(
                Span::new(file, 0, 0),
                "internal error: formatting would change this file's meaning or drop a comment; \
                 it was left as it is",
            )
            .help("please report this with the file attached"),
        ))
    }
}

/// The tree as `(rule, depth, text of leaves)`: what the meaning of a file is built from.
fn shape(root: Pair<'_, Rule>) -> Vec<(Rule, usize, String)> {
    let mut out = Vec::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((pair, depth)) = stack.pop() {
        let children: Vec<_> = pair.clone().into_inner().collect();
        let text = if pair.as_rule() == Rule::doc_text {
            // Trailing blanks (and a CR) of a doc line are not part of its meaning.
            pair.as_str().trim_end().to_string()
        } else if children.is_empty() {
            pair.as_str().to_string()
        } else {
            String::new()
        };
        out.push((pair.as_rule(), depth, text));
        for child in children.into_iter().rev() {
            stack.push((child, depth + 1));
        }
    }
    out
}

/// A `//` comment found in the source: its byte range and text (without trailing spaces).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Comment {
    start: usize,
    end: usize,
    text: String,
}

/// Every `//` comment of `text` (not `///` docs, not inside strings), in order.
fn comments(text: &str) -> Vec<Comment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Strings end at the next quote or line end (the grammar's rule).
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += 1;
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let is_doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                if !is_doc {
                    out.push(Comment {
                        start: i,
                        end,
                        text: text[i..end].trim_end().to_string(),
                    });
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

fn comment_texts(text: &str) -> Vec<String> {
    comments(text).into_iter().map(|c| c.text).collect()
}

/// One item of a braced list: its text and source range.
type Item = (String, usize, usize);

/// One output line.
#[derive(Clone, Debug, Default)]
struct Line {
    indent: usize,
    text: String,
    /// A trailing `//` comment.
    comment: Option<String>,
}

struct Printer<'s> {
    src: &'s str,
    comments: Vec<Comment>,
    /// The first comment not yet printed.
    next: usize,
    lines: Vec<Line>,
    indent: usize,
    /// Where in the source the last printed item ended (for blank lines and trailing comments).
    last_end: usize,
}

impl<'s> Printer<'s> {
    fn new(src: &'s str) -> Printer<'s> {
        Printer {
            src,
            comments: comments(src),
            next: 0,
            lines: Vec::new(),
            indent: 0,
            last_end: 0,
        }
    }

    // ---- lines, blank lines and comments -------------------------------------------------

    /// Prints the own-line comments that start before `offset`.
    fn comments_before(&mut self, offset: usize) {
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= offset {
                break;
            }
            let text = c.text.clone();
            let (start, end) = (c.start, c.end);
            self.next += 1;
            self.keep_blank_line(start);
            self.lines.push(Line {
                indent: self.indent,
                text,
                comment: None,
            });
            self.last_end = end;
        }
    }

    /// A blank line if the source had one between the last item and `offset`, unless the
    /// output is at the start of a block.
    fn keep_blank_line(&mut self, offset: usize) {
        let gap = self.src.get(self.last_end..offset).unwrap_or("");
        let blank = gap
            .split('\n')
            .skip(1)
            .collect::<Vec<_>>()
            .split_last()
            .is_some_and(|(_, middle)| middle.iter().any(|l| l.trim().is_empty()));
        let after_open = self
            .lines
            .last()
            .is_none_or(|l| l.text.ends_with('{') && l.comment.is_none() || l.text.is_empty());
        if blank && !after_open {
            self.blank();
        }
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.text.is_empty()) {
            self.lines.push(Line::default());
        }
    }

    /// Prints one line covering source `start..end`: first the comments before it, then the
    /// line, then the comment that trailed it in the source.
    fn line(&mut self, text: String, start: usize, end: usize) {
        self.comments_before(start);
        self.keep_blank_line(start);
        self.lines.push(Line {
            indent: self.indent,
            text,
            comment: None,
        });
        self.last_end = end.max(self.last_end);
        self.trailing_comment();
    }

    /// Attaches the next comment to the last line if only punctuation separates them on one
    /// source line.
    fn trailing_comment(&mut self) {
        let Some(c) = self.comments.get(self.next) else {
            return;
        };
        let gap = self.src.get(self.last_end..c.start).unwrap_or("x");
        if c.start >= self.last_end && gap.chars().all(|ch| " \t,{}[]".contains(ch)) {
            if let Some(line) = self.lines.last_mut() {
                line.comment = Some(c.text.clone());
            }
            self.last_end = c.end;
            self.next += 1;
        }
    }

    fn has_comment_in(&self, start: usize, end: usize) -> bool {
        self.comments[self.next..]
            .iter()
            .any(|c| c.start >= start && c.start < end)
    }

    /// Offset of the first `ch` at or after `from` that is not inside a comment.
    fn find(&self, from: usize, ch: u8) -> usize {
        let bytes = self.src.as_bytes();
        let mut i = from;
        while i < bytes.len() {
            if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'/') {
                i = self.src[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            if bytes[i] == ch {
                return i;
            }
            i += 1;
        }
        bytes.len().saturating_sub(1)
    }

    fn open(&mut self, header: String, start: usize, brace: usize) {
        self.line(format!("{header} {{"), start, brace + 1);
        self.indent += 1;
    }

    fn close(&mut self, pair_end: usize) {
        let brace = pair_end.saturating_sub(1);
        self.comments_before(brace);
        self.indent -= 1;
        self.lines.push(Line {
            indent: self.indent,
            text: "}".to_string(),
            comment: None,
        });
        self.last_end = pair_end;
        self.trailing_comment();
    }

    fn docs(&mut self, docs: &[Pair<'s, Rule>]) {
        for doc in docs {
            let span = doc.as_span();
            self.line(
                doc.as_str().trim_end().to_string(),
                span.start(),
                span.end(),
            );
        }
    }

    fn finish(mut self) -> String {
        self.comments_before(usize::MAX);
        while self.lines.last().is_some_and(|l| l.text.is_empty()) {
            self.lines.pop();
        }
        align_trailing_comments(&mut self.lines);
        let mut out = String::new();
        for line in &self.lines {
            if !line.text.is_empty() {
                out.push_str(&" ".repeat(line.indent * INDENT));
                out.push_str(&line.text);
            }
            if let Some(comment) = &line.comment {
                out.push_str(comment);
            }
            out.push('\n');
        }
        out
    }

    // ---- *.asic --------------------------------------------------------------------------

    fn spec(&mut self, root: Pair<'s, Rule>) {
        for section in root.into_inner() {
            if section.as_rule() == Rule::EOI {
                continue;
            }
            self.section_gap(section.as_span().start());
            match section.as_rule() {
                Rule::asic_block
                | Rule::limits_block
                | Rule::features_block
                | Rule::completion_queues_block => self.settings_block(section),
                Rule::engines_block | Rule::queues_block => self.table_block(section),
                Rule::sync_manager_block => self.sync_manager_block(section),
                Rule::binning_block => self.binning_block(section),
                Rule::kernel_block => self.kernel_block(section),
                _ => {}
            }
        }
    }

    /// Exactly one blank line between top-level items (comments before one stay with it).
    fn section_gap(&mut self, start: usize) {
        if self.lines.is_empty() {
            return;
        }
        let first_comment = self
            .comments
            .get(self.next)
            .filter(|c| c.start < start)
            .map(|c| c.start);
        // A comment that stood inside the previous item (before its end) is printed after it on
        // a line of its own, so it counts as detached, as it will on the next run.
        let comment_attached = first_comment.is_some_and(|c| {
            !self
                .src
                .get(self.last_end..c)
                .unwrap_or("\n")
                .contains('\n')
        });
        if !comment_attached {
            self.blank();
            // The gap is decided here; what the source had is no longer asked.
            self.last_end = first_comment.unwrap_or(start);
        }
    }

    /// `docs* keyword [Name] { setting* }`: settings one a line, `=` aligned.
    fn settings_block(&mut self, block: Pair<'s, Rule>) {
        let end = block.as_span().end();
        let (docs, rest) = split_docs(block);
        self.docs(&docs);
        let mut header = Vec::new();
        let mut settings = Vec::new();
        for p in rest {
            match p.as_rule() {
                Rule::setting => settings.push(p),
                _ => header.push(p),
            }
        }
        let start = header.first().map_or(end, |p| p.as_span().start());
        let header_end = header.last().map_or(start, |p| p.as_span().end());
        let text = header
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(line) = self.lone_setting(&text, &settings, start, end) {
            self.line(line, start, end);
            return;
        }
        self.open(text, start, self.find(header_end, b'{'));
        self.settings(settings);
        self.close(end);
    }

    /// `header { key = value }` for a block whose only item is one setting with no doc or
    /// comment, when it fits on one line (like a group with one member).
    fn lone_setting(
        &self,
        header: &str,
        items: &[Pair<'s, Rule>],
        start: usize,
        end: usize,
    ) -> Option<String> {
        let [only] = items else { return None };
        if only.as_rule() != Rule::setting || self.has_comment_in(start, end) {
            return None;
        }
        let (docs, rest) = split_docs(only.clone());
        let [key, value] = rest.as_slice() else {
            return None;
        };
        let line = format!("{header} {{ {} = {} }}", key.as_str(), value_text(value));
        (docs.is_empty() && self.fits(&line)).then_some(line)
    }

    fn settings(&mut self, settings: Vec<Pair<'s, Rule>>) {
        let width = setting_width(&settings);
        for setting in settings {
            self.setting(setting, width);
        }
    }

    fn setting(&mut self, setting: Pair<'s, Rule>, width: usize) {
        let (docs, rest) = split_docs(setting);
        self.docs(&docs);
        let mut parts = rest.into_iter();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            return;
        };
        let text = format!("{:<width$} = {}", key.as_str(), value_text(&value));
        self.line(text, key.as_span().start(), value.as_span().end());
    }

    /// `engines { ... }` or `queues { ... }`.
    fn table_block(&mut self, block: Pair<'s, Rule>) {
        self.keyword_block(block, Self::table_item);
    }

    fn table_item(&mut self, item: Pair<'s, Rule>) {
        match item.as_rule() {
            Rule::reserved => {
                let (docs, rest) = split_docs(item);
                self.docs(&docs);
                let text = rest.iter().map(|p| words(p)).collect::<Vec<_>>().join(" ");
                let (start, end) = span_of(&rest);
                self.line(text, start, end);
            }
            Rule::engine_group | Rule::queue_group => self.group(item),
            Rule::engine_decl | Rule::queue_decl => self.declaration(item),
            _ => {}
        }
    }

    /// `group R [c_name "..."] { members }`; one line for a lone member that fits.
    fn group(&mut self, group: Pair<'s, Rule>) {
        let end = group.as_span().end();
        let (docs, rest) = split_docs(group);
        self.docs(&docs);
        let header: Vec<_> = rest
            .iter()
            .filter(|p| {
                matches!(
                    p.as_rule(),
                    Rule::kw_group | Rule::name_range | Rule::c_name
                )
            })
            .cloned()
            .collect();
        let members: Vec<_> = rest
            .iter()
            .filter(|p| {
                !matches!(
                    p.as_rule(),
                    Rule::kw_group | Rule::name_range | Rule::c_name
                )
            })
            .cloned()
            .collect();
        let text = header
            .iter()
            .map(|p| words(p))
            .collect::<Vec<_>>()
            .join(" ");
        let (start, header_end) = span_of(&header);
        if let [member] = members.as_slice() {
            let simple = member.as_rule() != Rule::engine_group
                && member.as_rule() != Rule::queue_group
                && split_docs(member.clone()).0.is_empty()
                && !self.has_comment_in(start, end);
            if simple {
                let inner = self.declaration_one_line(member.clone());
                let one = format!("{text} {{ {inner} }}");
                if self.fits(&one) {
                    self.line(one, start, end);
                    return;
                }
            }
        }
        self.open(text, start, self.find(header_end, b'{'));
        for member in members {
            self.table_item(member);
        }
        self.close(end);
    }

    fn fits(&self, text: &str) -> bool {
        self.indent * INDENT + text.chars().count() <= MAX_WIDTH
    }

    /// The head of an engine or queue declaration, and its properties if any.
    fn declaration_parts(decl: Pair<'s, Rule>) -> (Vec<Pair<'s, Rule>>, Option<Pair<'s, Rule>>) {
        let (_, rest) = split_docs(decl);
        let mut head = Vec::new();
        let mut props = None;
        for p in rest {
            if p.as_rule() == Rule::properties {
                props = Some(p);
            } else {
                head.push(p);
            }
        }
        (head, props)
    }

    fn declaration_one_line(&self, decl: Pair<'s, Rule>) -> String {
        let (head, props) = Self::declaration_parts(decl);
        let head = head.iter().map(|p| words(p)).collect::<Vec<_>>().join(" ");
        match props {
            Some(props) => format!("{head} {}", braced_one_line(&property_texts(props))),
            None => head,
        }
    }

    fn declaration(&mut self, decl: Pair<'s, Rule>) {
        let (docs, _) = split_docs(decl.clone());
        self.docs(&docs);
        let (head, props) = Self::declaration_parts(decl);
        let head_text = head.iter().map(|p| words(p)).collect::<Vec<_>>().join(" ");
        let (start, head_end) = span_of(&head);
        match props {
            None => self.line(head_text, start, head_end),
            Some(props) => self.braced(head_text, (start, head_end), props, property_pairs),
        }
    }

    /// `head { a, b, c }` on one line when it fits and holds no comment; else the items fill
    /// lines under it (one a line when comments sit among them).
    fn braced(
        &mut self,
        head: String,
        (start, head_end): (usize, usize),
        body: Pair<'s, Rule>,
        items_of: fn(Pair<'s, Rule>) -> Vec<Item>,
    ) {
        let end = body.as_span().end();
        let items = items_of(body);
        let texts: Vec<String> = items.iter().map(|(t, _, _)| t.clone()).collect();
        let one = format!("{head} {}", braced_one_line(&texts));
        let commented = self.has_comment_in(start, end);
        if !commented && self.fits(&one) {
            self.line(one, start, end);
            return;
        }
        self.open(head, start, self.find(head_end, b'{'));
        if commented {
            let count = items.len();
            for (i, (text, s, e)) in items.into_iter().enumerate() {
                let comma = if i + 1 < count { "," } else { "" };
                self.line(format!("{text}{comma}"), s, e);
            }
        } else {
            let width = MAX_WIDTH - self.indent * INDENT;
            let mut current = String::new();
            let (mut line_start, mut line_end) = (0, 0);
            let count = items.len();
            for (i, (text, s, e)) in items.into_iter().enumerate() {
                let piece = if i + 1 < count {
                    format!("{text},")
                } else {
                    text
                };
                if current.is_empty() {
                    current = piece;
                    line_start = s;
                } else if current.len() + 1 + piece.len() <= width {
                    current.push(' ');
                    current.push_str(&piece);
                } else {
                    self.line(std::mem::take(&mut current), line_start, line_end);
                    current = piece;
                    line_start = s;
                }
                line_end = e;
            }
            if !current.is_empty() {
                self.line(current, line_start, line_end);
            }
        }
        self.close(end);
    }

    /// `sync_manager { settings and reserves }`.
    fn sync_manager_block(&mut self, block: Pair<'s, Rule>) {
        self.keyword_block(block, |p: &mut Self, item: Pair<'s, Rule>| {
            let (docs, rest) = split_docs(item.clone());
            p.docs(&docs);
            let head: Vec<_> = rest
                .iter()
                .filter(|x| matches!(x.as_rule(), Rule::kw_reserve | Rule::ident))
                .cloned()
                .collect();
            let text = head
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            p.braced(text, span_of(&head), item, sync_counts);
        });
    }

    /// `kernel { settings and dma_channel lines }`: settings aligned, a channel line as
    /// `dma_channel A..B -> C..D`.
    fn kernel_block(&mut self, block: Pair<'s, Rule>) {
        self.keyword_block(block, |p: &mut Self, item: Pair<'s, Rule>| {
            let (docs, rest) = split_docs(item);
            p.docs(&docs);
            let ranges: Vec<String> = rest
                .iter()
                .filter(|x| x.as_rule() == Rule::name_range)
                .map(words)
                .collect();
            let (start, end) = span_of(&rest);
            p.line(format!("dma_channel {}", ranges.join(" -> ")), start, end);
        });
    }

    /// `binning { unit { properties } ... }`.
    fn binning_block(&mut self, block: Pair<'s, Rule>) {
        self.keyword_block(block, |p: &mut Self, rule: Pair<'s, Rule>| {
            let (docs, rest) = split_docs(rule);
            p.docs(&docs);
            let (Some(name), Some(props)) = (rest.first(), rest.get(1)) else {
                return;
            };
            let span = name.as_span();
            p.braced(
                name.as_str().to_string(),
                (span.start(), span.end()),
                props.clone(),
                property_pairs,
            );
        });
    }

    /// `docs* keyword { items }`: settings among the items aligned on `=`, every other item
    /// printed by `item`; a lone setting stays on the keyword's line when it fits.
    fn keyword_block(&mut self, block: Pair<'s, Rule>, item: impl Fn(&mut Self, Pair<'s, Rule>)) {
        let end = block.as_span().end();
        let (docs, rest) = split_docs(block);
        self.docs(&docs);
        let Some((keyword, items)) = rest.split_first() else {
            return;
        };
        let start = keyword.as_span().start();
        if let Some(line) = self.lone_setting(keyword.as_str(), items, start, end) {
            self.line(line, start, end);
            return;
        }
        self.open(
            keyword.as_str().to_string(),
            start,
            self.find(keyword.as_span().end(), b'{'),
        );
        let width = setting_width(items);
        for p in items {
            if p.as_rule() == Rule::setting {
                self.setting(p.clone(), width);
            } else {
                item(self, p.clone());
            }
        }
        self.close(end);
    }

    // ---- *.lifecycle ---------------------------------------------------------------------

    fn lifecycle_file(&mut self, root: Pair<'s, Rule>) {
        for item in root.into_inner() {
            match item.as_rule() {
                Rule::lifecycle_header => {
                    self.section_gap(item.as_span().start());
                    let (docs, rest) = split_docs(item);
                    self.docs(&docs);
                    let text = rest.iter().map(|p| words(p)).collect::<Vec<_>>().join(" ");
                    let (start, end) = span_of(&rest);
                    self.line(text, start, end);
                }
                Rule::state_decl => {
                    self.section_gap(item.as_span().start());
                    self.state(item);
                }
                _ => {}
            }
        }
    }

    fn state(&mut self, state: Pair<'s, Rule>) {
        let (docs, rest) = split_docs(state);
        self.docs(&docs);
        let head: Vec<_> = rest
            .iter()
            .filter(|p| p.as_rule() != Rule::state_body)
            .cloned()
            .collect();
        let text = head.iter().map(|p| words(p)).collect::<Vec<_>>().join(" ");
        let (start, head_end) = span_of(&head);
        let Some(body) = rest.iter().find(|p| p.as_rule() == Rule::state_body) else {
            self.line(text, start, head_end);
            return;
        };
        let end = body.as_span().end();
        let items: Vec<_> = body.clone().into_inner().collect();
        if items.is_empty() && !self.has_comment_in(start, end) {
            self.line(format!("{text} {{}}"), start, end);
            return;
        }
        self.open(text, start, body.as_span().start());
        let width = items
            .iter()
            .filter(|p| p.as_rule() == Rule::transition)
            .filter_map(|t| t.clone().into_inner().next())
            .map(|e| e.as_str().len())
            .max()
            .unwrap_or(0);
        for item in items {
            let span = item.as_span();
            let parts: Vec<_> = item.clone().into_inner().collect();
            let line = match item.as_rule() {
                Rule::transition => match parts.as_slice() {
                    [event, target] => {
                        format!("{:<width$} -> {}", event.as_str(), target.as_str())
                    }
                    _ => continue,
                },
                Rule::ignore => {
                    let names: Vec<_> = parts
                        .iter()
                        .filter(|p| p.as_rule() == Rule::ident)
                        .map(|p| p.as_str())
                        .collect();
                    format!("ignore {}", names.join(", "))
                }
                _ => continue,
            };
            self.line(line, span.start(), span.end());
        }
        self.close(end);
    }
}

/// The widest key among the settings of `items`, to align their `=`.
fn setting_width(items: &[Pair<'_, Rule>]) -> usize {
    items
        .iter()
        .filter(|p| p.as_rule() == Rule::setting)
        .filter_map(|s| s.clone().into_inner().find(|p| p.as_rule() == Rule::ident))
        .map(|k| k.as_str().len())
        .max()
        .unwrap_or(0)
}

/// The leading `doc` children of a node, and the rest.
fn split_docs<'s>(pair: Pair<'s, Rule>) -> (Vec<Pair<'s, Rule>>, Vec<Pair<'s, Rule>>) {
    pair.into_inner().partition(|p| p.as_rule() == Rule::doc)
}

fn span_of(pairs: &[Pair<'_, Rule>]) -> (usize, usize) {
    match (pairs.first(), pairs.last()) {
        (Some(first), Some(last)) => (first.as_span().start(), last.as_span().end()),
        _ => (0, 0),
    }
}

/// A node's tokens joined canonically: `A..B`, `@ 3`, `only A, B`, `c_name "x"`.
fn words(pair: &Pair<'_, Rule>) -> String {
    match pair.as_rule() {
        Rule::name_range | Rule::id_range => pair
            .clone()
            .into_inner()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(".."),
        Rule::only => {
            let names: Vec<_> = pair
                .clone()
                .into_inner()
                .filter(|p| p.as_rule() == Rule::ident)
                .map(|p| p.as_str())
                .collect();
            format!("only {}", names.join(", "))
        }
        Rule::explicit_id => {
            let inner: Vec<_> = pair.clone().into_inner().map(|p| p.as_str()).collect();
            format!("@ {}", inner.join(""))
        }
        Rule::extends | Rule::streams | Rule::c_name | Rule::signals => pair
            .clone()
            .into_inner()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        Rule::state_kind => pair.as_str().trim().to_string(),
        _ => pair.as_str().to_string(),
    }
}

/// A setting's value: lists as `[a, b]`, everything else as written.
fn value_text(value: &Pair<'_, Rule>) -> String {
    match value.as_rule() {
        Rule::list => {
            let items: Vec<_> = value.clone().into_inner().map(|p| p.as_str()).collect();
            format!("[{}]", items.join(", "))
        }
        _ => value.as_str().to_string(),
    }
}

fn braced_one_line(items: &[String]) -> String {
    if items.is_empty() {
        "{}".to_string()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

fn property_texts(props: Pair<'_, Rule>) -> Vec<String> {
    property_pairs(props)
        .into_iter()
        .map(|(t, _, _)| t)
        .collect()
}

/// Each property of a `properties` node as text with its source range.
fn property_pairs(props: Pair<'_, Rule>) -> Vec<Item> {
    props
        .into_inner()
        .filter(|p| p.as_rule() == Rule::property)
        .map(|p| {
            let span = p.as_span();
            let mut parts = p.into_inner();
            let key = parts.next().map_or("", |k| k.as_str()).to_string();
            let text = match parts.next() {
                Some(value) => format!("{key} = {}", property_value(&value)),
                None => key,
            };
            (text, span.start(), span.end())
        })
        .collect()
}

fn property_value(value: &Pair<'_, Rule>) -> String {
    match value.as_rule() {
        Rule::name_list => {
            let selectors: Vec<String> = value
                .clone()
                .into_inner()
                .map(|selector| {
                    selector
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::name_range)
                        .map(|p| words(&p))
                        .collect::<Vec<_>>()
                        .join(" in ")
                })
                .collect();
            format!("[{}]", selectors.join(", "))
        }
        _ => words(value),
    }
}

/// Each `sync_count` of a `sync_reserve` as text with its source range.
fn sync_counts(reserve: Pair<'_, Rule>) -> Vec<Item> {
    reserve
        .into_inner()
        .filter(|p| p.as_rule() == Rule::sync_count)
        .map(|count| {
            let span = count.as_span();
            let mut parts = count.into_inner();
            let key = parts.next().map_or("", |k| k.as_str()).to_string();
            let terms: Vec<String> = parts
                .map(|term| {
                    term.into_inner()
                        .filter(|p| p.as_rule() != Rule::kw_per)
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(" per ")
                })
                .collect();
            (
                format!("{key} = {}", terms.join(" + ")),
                span.start(),
                span.end(),
            )
        })
        .collect()
}

/// Trailing comments of consecutive lines start in one column, when that keeps lines within
/// [`MAX_WIDTH`]; otherwise two spaces after the code.
fn align_trailing_comments(lines: &mut [Line]) {
    let code_width = |l: &Line| l.indent * INDENT + l.text.chars().count();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].comment.is_none() {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len() && lines[j].comment.is_some() && !lines[j].text.is_empty() {
            j += 1;
        }
        let run = i..j.max(i + 1);
        let column = lines[run.clone()].iter().map(code_width).max().unwrap_or(0) + 2;
        for line in &mut lines[run.clone()] {
            let width = code_width(line);
            let comment = line.comment.take().unwrap_or_default();
            let pad = if column + comment.chars().count() <= MAX_WIDTH {
                column - width
            } else {
                2
            };
            line.comment = Some(format!("{}{comment}", " ".repeat(pad)));
        }
        i = run.end;
    }
}
