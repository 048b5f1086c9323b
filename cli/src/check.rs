//! `asicgen check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// How `check` prints diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// rustc-style, to stderr, in colour on a terminal (not when piped or with `NO_COLOR`).
    #[default]
    Human,
    /// One JSON object per diagnostic, one per line, to stdout (nothing else on stdout).
    Json,
}

/// Prints a report to stderr the way a person reads it: coloured on a terminal, plain when
/// stderr is piped or `NO_COLOR` is set (anstream decides, as cargo does).
pub fn print_report(report: &asicgen_dsl::Report) {
    anstream::eprint!("{}", report.render(true));
}

/// Checks each spec; prints diagnostics to stderr and one summary line per spec to stdout, or
/// with [`MessageFormat::Json`] one JSON line per diagnostic to stdout.
pub fn run(specs: &[PathBuf], format: MessageFormat) -> ExitCode {
    let specs = if specs.is_empty() {
        match default_specs() {
            Ok(found) if !found.is_empty() => found,
            Ok(_) => {
                eprintln!("error: no specs given and no `*.asic` file in `specs/`");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: no specs given and cannot list `specs/`: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        specs.to_vec()
    };
    let mut failed = 0;
    let mut checked: Vec<(String, asicgen_dsl::Model)> = Vec::new();
    for spec in &specs {
        let display = spec.to_string_lossy();
        match asicgen_dsl::load(spec, &display).result {
            Ok(model) => {
                if format == MessageFormat::Json {
                    checked.push((display.into_owned(), model));
                    continue;
                }
                println!(
                    "ok: {display}: {} with {} engines, {} queues, lifecycle `{}` ({} states)",
                    model.name,
                    model.engines.len(),
                    model.queues.len(),
                    model.lifecycle.name,
                    model.lifecycle.states.len()
                );
                checked.push((display.into_owned(), model));
            }
            Err(report) => {
                failed += 1;
                if format == MessageFormat::Json {
                    for d in report.diagnostics() {
                        println!("{}", json_line(&report, d));
                    }
                    continue;
                }
                print_report(&report);
                println!(
                    "failed: {display}: {} error{}",
                    report.diagnostics().len(),
                    if report.diagnostics().len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
        }
    }
    failed += clashes(&checked, format);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every `specs/*.asic`, sorted, so `asicgen check` alone checks the shipped specs.
pub fn default_specs() -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(Path::new("specs"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "asic"))
        .collect();
    found.sort();
    Ok(found)
}

/// Specs checked together must not share an ASIC name or a uapi prefix (compared ignoring case):
/// their generated modules, C include guards and enum tags would collide. Returns how many
/// clashes it reported.
fn clashes(checked: &[(String, asicgen_dsl::Model)], format: MessageFormat) -> usize {
    let mut found = 0;
    for (i, (path, model)) in checked.iter().enumerate() {
        for (other_path, other) in &checked[..i] {
            for (what, mine, theirs) in [
                ("ASIC name", &model.name, &other.name),
                ("uapi_prefix", &model.uapi_prefix, &other.uapi_prefix),
            ] {
                if mine.eq_ignore_ascii_case(theirs) {
                    found += 1;
                    let message = format!("{path} and {other_path} have the same {what} `{mine}`");
                    let help =
                        "every generation needs its own; their generated names would collide";
                    let code = asicgen_dsl::codes::code_of(&message);
                    if format == MessageFormat::Json {
                        println!(
                            "{{\"file\":{},\"line\":1,\"column\":1,\"end_line\":1,\"end_column\":1,\
                             \"code\":{},\"level\":\"error\",\"message\":{},\"label\":null,\
                             \"help\":{},\"notes\":[]}}",
                            json_str(path),
                            json_str(code),
                            json_str(&message),
                            json_str(help)
                        );
                    } else {
                        eprintln!("error[{code}]: {message}\n  = help: {help}\n");
                    }
                }
            }
        }
    }
    found
}

/// One diagnostic as a JSON object on one line (cargo's `--message-format json` habit): the
/// file as shown in the text form, 1-based line and column (in characters) of the start and
/// end, the stable code, the level, the headline, the label, the help and the notes.
pub fn json_line(report: &asicgen_dsl::Report, d: &asicgen_dsl::Diagnostic) -> String {
    let place = |span: asicgen_dsl::source::Span| {
        let file = report.sources().get(span.file);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end);
        format!(
            "\"file\":{},\"line\":{line},\"column\":{column},\"end_line\":{end_line},\
             \"end_column\":{end_column}",
            json_str(&file.display_path)
        )
    };
    let notes: Vec<String> = d
        .notes
        .iter()
        .map(|(span, text)| format!("{{{},\"message\":{}}}", place(*span), json_str(text)))
        .collect();
    let label = if d.label.is_empty() {
        "null".to_string()
    } else {
        json_str(&d.label)
    };
    format!(
        "{{{},\"code\":{},\"level\":\"error\",\"message\":{},\"label\":{label},\"help\":{},\
         \"notes\":[{}]}}",
        place(d.span),
        json_str(d.code()),
        json_str(&d.message),
        d.help.as_deref().map_or("null".to_string(), json_str),
        notes.join(",")
    )
}

/// `text` as a JSON string literal.
fn json_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
        assert_eq!(json_str("µs `x`"), "\"µs `x`\"");
    }
}
