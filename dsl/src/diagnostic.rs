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

use crate::source::{SourceMap, Span};

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

    fn render_one(&self, d: &Diagnostic, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(out, "error: {}", d.message)?;
        let mut places = vec![(d.span, d.label.as_str(), true)];
        places.extend(d.notes.iter().map(|(s, t)| (*s, t.as_str(), false)));
        let gutter = places
            .iter()
            .map(|(s, _, _)| self.sources.get(s.file).line_col(s.start).0)
            .max()
            .unwrap_or(1)
            .to_string()
            .len();
        let pad = " ".repeat(gutter);
        for (i, (span, label, primary)) in places.into_iter().enumerate() {
            let file = self.sources.get(span.file);
            let (line, col) = file.line_col(span.start);
            let arrow = if i == 0 { "-->" } else { ":::" };
            if file.text.is_empty() {
                // A file that could not be read: there is no line to show.
                writeln!(out, "{pad}{arrow} {}", file.display_path)?;
                continue;
            }
            writeln!(out, "{pad}{arrow} {}:{line}:{col}", file.display_path)?;
            writeln!(out, "{pad} |")?;
            let text = file.line_text(line);
            writeln!(out, "{line:>gutter$} | {}", text.replace('\t', " "))?;
            // Underline to the end of the span or of the line, whichever comes first, and at
            // least one column so an empty span (end of file) still gets a caret.
            let (end_line, end_col) = file.line_col(span.end);
            let line_chars = text.chars().count();
            let width = if end_line == line {
                end_col.saturating_sub(col)
            } else {
                (line_chars + 1).saturating_sub(col)
            }
            .max(1);
            let mark = if primary { "^" } else { "-" };
            let label = if label.is_empty() {
                String::new()
            } else {
                format!(" {label}")
            };
            writeln!(
                out,
                "{pad} | {}{}{label}",
                " ".repeat(col - 1),
                mark.repeat(width)
            )?;
        }
        if let Some(help) = &d.help {
            writeln!(out, "{pad} |")?;
            writeln!(out, "{pad} = help: {help}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            self.render_one(d, f)?;
            writeln!(f)?;
        }
        match self.diagnostics.len() {
            0 => Ok(()),
            1 => writeln!(f, "error: could not check spec due to 1 previous error"),
            n => writeln!(f, "error: could not check spec due to {n} previous errors"),
        }
    }
}

impl std::error::Error for Report {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, SourceFile};

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
        error: first
         --> specs/x.asic:1:1
          |
        1 | line one
          | ^^^^
         ::: specs/x.asic:2:7
          |
        2 |   bad thing here
          |       ----- see this
          |
          = help: do something

        error: second
         --> specs/x.asic:2:3
          |
        2 |   bad thing here
          |   ^^^ here

        error: could not check spec due to 2 previous errors
        ");
    }
}
