//! `asicgen fmt`: rewrite spec and lifecycle files in the canonical layout, or check them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use asicgen_dsl::format::{FileKind, format};

#[derive(clap::Args)]
#[command(after_long_help = "\
Exit status: 0 when every file is formatted (or was rewritten), 1 with --check when a file is \
not formatted, 2 when a file cannot be read, is not UTF-8, or does not parse (it is left as it \
is; `asicgen check` explains the error too).")]
pub struct Args {
    /// Files or directories (`*.asic`, `*.lifecycle`; directories are searched recursively).
    /// Default: `specs/`.
    pub paths: Vec<PathBuf>,
    /// Change nothing; print a diff for each file that is not formatted and exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

/// Runs `asicgen fmt`.
pub fn run(args: &Args) -> ExitCode {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from("specs")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for root in &roots {
        if let Err(message) = collect(
            root,
            root == Path::new("specs") || !root.is_file(),
            &mut files,
        ) {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        eprintln!(
            "error: no `*.asic` or `*.lifecycle` file under {}",
            show(&roots)
        );
        return ExitCode::from(2);
    }
    let (mut failed, mut unformatted) = (0usize, 0usize);
    for (path, kind) in &files {
        let display = path.display().to_string();
        let text = match std::fs::read(path).map(String::from_utf8) {
            Ok(Ok(text)) => text,
            Ok(Err(_)) => {
                eprintln!("error: {display}: not UTF-8 text");
                failed += 1;
                continue;
            }
            Err(e) => {
                eprintln!("error: cannot read {display}: {e}");
                failed += 1;
                continue;
            }
        };
        let formatted = match format(&text, *kind, &display) {
            Ok(formatted) => formatted,
            Err(report) => {
                eprint!("{report}");
                failed += 1;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        unformatted += 1;
        if args.check {
            print!("{}", unified_diff(&display, &text, &formatted));
        } else if let Err(e) = write_atomically(path, &formatted) {
            eprintln!("error: cannot write {display}: {e}");
            failed += 1;
        } else {
            println!("formatted {display}");
        }
    }
    if failed > 0 {
        ExitCode::from(2)
    } else if args.check && unformatted > 0 {
        eprintln!(
            "{unformatted} file{} not formatted; run `asicgen fmt` to fix",
            if unformatted == 1 { " is" } else { "s are" }
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn show(roots: &[PathBuf]) -> String {
    roots
        .iter()
        .map(|r| format!("`{}`", r.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `path` (a file of a known kind) or the spec files below it (a directory).
fn collect(path: &Path, search: bool, out: &mut Vec<(PathBuf, FileKind)>) -> Result<(), String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    if meta.is_file() {
        return match FileKind::of_path(path) {
            Some(kind) => {
                out.push((path.to_path_buf(), kind));
                Ok(())
            }
            None if search => Ok(()),
            None => Err(format!(
                "`{}` is neither a `.asic` spec nor a `.lifecycle` file",
                path.display()
            )),
        };
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| format!("cannot list `{}`: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list `{}`: {e}", path.display()))?;
        let child = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir || FileKind::of_path(&child).is_some() {
            collect(&child, true, out)?;
        }
    }
    Ok(())
}

/// Writes through a temporary file in the same directory, so a failed write never leaves half
/// a spec behind.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".asicgen-fmt.tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A unified diff of the file's text against its formatted text.
fn unified_diff(display: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(display, &format!("{display} (formatted)"))
        .to_string()
}
