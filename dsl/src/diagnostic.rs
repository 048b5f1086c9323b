//! Diagnostics: errors as values, collected for a whole run and rendered the way rustc does.
//!
//! ```text
//! error: unknown engine `DMA_9`
//!   --> specs/goya.asic:12:33
//!    |
//! 12 |     external DMA_0 { engine = DMA_9, cq = 0 }
//!    |                               ^^^^^ no engine has this name
//!    |
//!    = help: did you mean `DMA_0`?
//! ```

use std::fmt;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use crate::source::{FileId, SourceMap, Span};

/// One problem found in a spec, pointing at where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The headline, lower case, no trailing period (rustc style).
    pub message: String,
    /// Where the problem is.
    pub span: Span,
    /// Short text printed after the caret.
    pub label: String,
    /// Other places that explain this one (e.g. the first definition of a duplicate).
    pub notes: Vec<(Span, String)>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            span,
            label: String::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the text after the caret.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a note pointing at another place.
    pub fn note(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.notes.push((span, text.into()));
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The stable error code of this kind of diagnostic (`E0202`), from [`crate::codes`].
    pub fn code(&self) -> &'static str {
        crate::codes::code_of(&self.message)
    }

    /// Sets the help line if there is one.
    pub fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        if help.is_some() {
            self.help = help;
        }
        self
    }
}

/// Every diagnostic of a run with the sources they point into. `Display` renders them all, in
/// source order, followed by a one-line summary.
#[derive(Clone, Debug)]
pub struct Report {
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// Builds a report; diagnostics are put in source order (file read order, then offset).
    pub fn new(sources: SourceMap, mut diagnostics: Vec<Diagnostic>) -> Report {
        diagnostics.sort_by_key(|d| (d.span.file, d.span.start, d.span.end));
        diagnostics.dedup();
        Report {
            sources,
            diagnostics,
        }
    }

    /// The diagnostics, in source order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The files the diagnostics point into.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// `path:line:col` of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.sources.get(span.file);
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", file.display_path)
    }

    /// Every diagnostic rendered by annotate-snippets (rustc's renderer), in source order, then
    /// a one-line summary; with ANSI colours if `colour`. `Display` is the plain form.
    pub fn render(&self, colour: bool) -> String {
        let renderer = if colour {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&self.render_one(d, &renderer));
            out.push_str("\n\n");
        }
        let summary = match self.diagnostics.len() {
            0 => return out,
            1 => "could not check spec due to 1 previous error".to_string(),
            n => format!("could not check spec due to {n} previous errors"),
        };
        out.push_str(&renderer.render(&[Group::with_title(Level::ERROR.primary_title(summary))]));
        out.push('\n');
        out
    }

    /// Each diagnostic as the message of one rustc error (what `asic!` puts in a
    /// `compile_error!` each): rustc prints `error: ` and the first line, so the first line is
    /// the headline with its code, and the rest is the plain rendering (`--> file:line:col`, the
    /// source line, the carets, the help), without the summary rustc gives itself.
    pub fn for_rustc(&self) -> Vec<String> {
        let renderer = Renderer::plain();
        self.diagnostics
            .iter()
            .map(|d| {
                let rendered = self.render_one(d, &renderer);
                let body = rendered.split_once('\n').map_or("", |(_, rest)| rest);
                format!("{} ({})\n{}", d.message, d.code(), body.trim_end())
            })
            .collect()
    }

    /// One diagnostic, rendered alone (no summary).
    pub fn render_one(&self, d: &Diagnostic, renderer: &Renderer) -> String {
        // The primary span's file first, then the files the notes point into, each once, with
        // its annotations: rustc's layout (`-->` for the first, `:::` for the others).
        let mut files: Vec<FileId> = vec![d.span.file];
        for (span, _) in &d.notes {
            if !files.contains(&span.file) {
                files.push(span.file);
            }
        }
        let mut group =
            Group::with_title(Level::ERROR.primary_title(d.message.as_str()).id(d.code()));
        for file_id in files {
            let file = self.sources.get(file_id);
            if file.text.is_empty() {
                // A file that could not be read: there is no line to show.
                group = group.element(Origin::path(file.display_path.as_str()));
                continue;
            }
            let mut snippet = Snippet::source(file.text.as_str())
                .line_start(1)
                .path(file.display_path.as_str())
                .fold(true);
            if d.span.file == file_id {
                snippet = snippet.annotation(
                    AnnotationKind::Primary
                        .span(byte_range(file.text.as_str(), d.span))
                        .label(non_empty(&d.label)),
                );
            }
            for (span, text) in d.notes.iter().filter(|(s, _)| s.file == file_id) {
                snippet = snippet.annotation(
                    AnnotationKind::Context
                        .span(byte_range(file.text.as_str(), *span))
                        .label(non_empty(text)),
                );
            }
            group = group.element(snippet);
        }
        if let Some(help) = &d.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        renderer.render(&[group])
    }
}

/// A span as a byte range annotate-snippets accepts: inside the text, on char boundaries, and
/// at least one character wide where the text allows (an empty span at the end of a file still
/// gets its caret).
fn byte_range(text: &str, span: Span) -> std::ops::Range<usize> {
    let clamp = |mut at: usize| {
        at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let start = clamp(span.start as usize);
    let end = clamp(span.end as usize).max(start);
    start..end
}

fn non_empty(label: &str) -> Option<&str> {
    (!label.is_empty()).then_some(label)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Report {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn renders_rustc_style_in_source_order() {
        let mut sources = SourceMap::default();
        let id = sources.add(SourceFile::new(
            "specs/x.asic".into(),
            "line one\n  bad thing here\n".into(),
        ));
        assert_eq!(id, FileId(0));
        let late = Diagnostic::error(Span::new(id, 11, 14), "second").label("here");
        let early = Diagnostic::error(Span::new(id, 0, 4), "first")
            .note(Span::new(id, 15, 20), "see this")
            .help("do something");
        let report = Report::new(sources, vec![late, early]);
        insta::assert_snapshot!(report.to_string(), @r"
        error[E0000]: first
         --> specs/x.asic:1:1
          |
        1 | line one
          | ^^^^
        2 |   bad thing here
          |       ----- see this
          |
          = help: do something

        error[E0000]: second
         --> specs/x.asic:2:3
          |
        2 |   bad thing here
          |   ^^^ here

        error: could not check spec due to 2 previous errors
        ");
    }
}
