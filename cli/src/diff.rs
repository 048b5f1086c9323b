//! `asicgen diff`: the semantic change list and uapi lints between two versions of specs.

use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitCode};

use asicgen_diff::report::{self, Format};
use asicgen_diff::{AllowList, SpecDiff};
use asicgen_dsl::{FileRef, Model};

/// Exit code for a breaking uapi change.
const BREAKING: u8 = 1;
/// Exit code for a usage or input error (also what clap uses).
const INPUT_ERROR: u8 = 2;

#[derive(clap::Args)]
#[command(after_long_help = "\
Exit status: 0 when no uapi change breaks (additive changes and allowed ones are fine), \
1 when one does, 2 on a usage or input error (a spec that does not check, a bad allow-list, \
git failing).

Examples:
  asicgen diff specs/gaudi.asic my/gaudi.asic
  asicgen diff --base origin/main                 every spec in specs/, against a branch
  asicgen diff --base HEAD~1 specs/gaudi.asic --format markdown > comment.md
  asicgen diff --base origin/main --allow specs/uapi-allow.toml")]
pub struct Args {
    /// Without `--base`: the OLD and NEW spec files. With `--base`: the specs to compare
    /// (default: every `*.asic` in `specs/` on either side).
    pub paths: Vec<PathBuf>,
    /// Compare the working tree with this git revision (a branch, tag or commit).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Output format: `text`, `markdown` (for a pull-request comment) or `json`.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// An allow-list (TOML) of findings to accept, each with a reason.
    #[arg(long, value_name = "FILE")]
    pub allow: Option<PathBuf>,
}

/// `--format` values.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// Plain text.
    Text,
    /// Markdown.
    Markdown,
    /// JSON.
    Json,
}

/// Runs `asicgen diff`.
pub fn run(args: &Args) -> ExitCode {
    match diff(args) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(INPUT_ERROR)
        }
    }
}

fn diff(args: &Args) -> Result<u8, String> {
    let allow = match &args.allow {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read allow-list `{}`: {e}", path.display()))?;
            AllowList::parse(&text).map_err(|e| format!("allow-list `{}`: {e}", path.display()))?
        }
        None => AllowList::default(),
    };
    let mut diffs = match &args.base {
        Some(rev) => against_rev(rev, &args.paths)?,
        None => match args.paths.as_slice() {
            [old, new] => {
                let old_label = old.display().to_string();
                let new_label = new.display().to_string();
                let old_model = from_disk(old)?;
                let new_model = from_disk(new)?;
                vec![between(&old_label, &old_model, &new_label, &new_model)?]
            }
            _ => {
                return Err(format!(
                    "give two spec files (OLD NEW), or `--base REV` to compare with git; got {} path{}",
                    args.paths.len(),
                    if args.paths.len() == 1 { "" } else { "s" }
                ));
            }
        },
    };
    let unused = asicgen_diff::apply_allow_list(&allow, &mut diffs);
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Markdown => Format::Markdown,
        FormatArg::Json => Format::Json,
    };
    print!("{}", report::render(format, &diffs, &unused));
    Ok(if diffs.iter().any(SpecDiff::is_breaking) {
        BREAKING
    } else {
        0
    })
}

fn between(old_label: &str, old: &Model, new_label: &str, new: &Model) -> Result<SpecDiff, String> {
    SpecDiff::between((old_label, old), (new_label, new)).map_err(|e| e.to_string())
}

fn from_disk(path: &Path) -> Result<Model, String> {
    if !path.is_file() {
        return Err(format!("`{}` is not a file", path.display()));
    }
    let display = path.display().to_string();
    checked(&display, asicgen_dsl::load(path, &display))
}

fn checked(display: &str, loaded: asicgen_dsl::Loaded) -> Result<Model, String> {
    loaded.result.map_err(|report| {
        eprint!("{report}");
        format!(
            "`{display}` does not check ({} error{}); fix it before diffing",
            report.diagnostics().len(),
            if report.diagnostics().len() == 1 {
                ""
            } else {
                "s"
            }
        )
    })
}

/// Every spec named (or every `specs/*.asic` on either side), working tree against `rev`.
fn against_rev(rev: &str, paths: &[PathBuf]) -> Result<Vec<SpecDiff>, String> {
    let top = git(Path::new("."), &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    // Fail early, with git's own words, on a revision that does not exist.
    git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| format!("`{rev}` is not a git revision here"))?;
    let specs = if paths.is_empty() {
        let mut found: Vec<PathBuf> = crate::check::default_specs().unwrap_or_default();
        let dir = repo_relative(&top, &cwd, Path::new("specs"))?;
        let listed = git(
            &top,
            &["ls-tree", "--name-only", rev, "--", &format!("{dir}/")],
        )?;
        for name in String::from_utf8_lossy(&listed).lines() {
            if let Some(file) = Path::new(name).file_name()
                && name.ends_with(".asic")
            {
                let path = Path::new("specs").join(file);
                if !found.contains(&path) {
                    found.push(path);
                }
            }
        }
        found.sort();
        if found.is_empty() {
            return Err(format!("no `*.asic` in `specs/` here or at `{rev}`"));
        }
        found
    } else {
        paths.to_vec()
    };
    let mut diffs = Vec::new();
    for spec in &specs {
        let display = spec.display().to_string();
        let in_repo = repo_relative(&top, &cwd, spec)?;
        let old = if git(&top, &["cat-file", "-e", &format!("{rev}:{in_repo}")]).is_ok() {
            let old_label = format!("{rev}:{display}");
            let file = FileRef {
                display: old_label.clone(),
                real: PathBuf::from(&in_repo),
            };
            let loaded = asicgen_dsl::check_with(file, &mut |f: &FileRef| {
                let path = normalize(&f.real);
                git(&top, &["show", &format!("{rev}:{path}")]).map_err(std::io::Error::other)
            });
            Some((old_label.clone(), checked(&old_label, loaded)?))
        } else {
            None
        };
        let new = if spec.is_file() {
            Some((display.clone(), from_disk(spec)?))
        } else {
            None
        };
        diffs.push(match (old, new) {
            (Some((ol, om)), Some((nl, nm))) => between(&ol, &om, &nl, &nm)?,
            (None, Some((nl, nm))) => SpecDiff::added(&nl, &nm),
            (Some((ol, om)), None) => SpecDiff::removed(&ol, &om),
            (None, None) => {
                return Err(format!("`{display}` exists neither here nor at `{rev}`"));
            }
        });
    }
    Ok(diffs)
}

/// `path` (relative to `cwd`) as a path relative to the repository root, `/`-separated.
fn repo_relative(top: &Path, cwd: &Path, path: &Path) -> Result<String, String> {
    let top = top.canonicalize().unwrap_or_else(|_| top.to_path_buf());
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let absolute = normalize(&cwd.join(path));
    Path::new(&absolute)
        .strip_prefix(&top)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .map_err(|_| format!("`{}` is outside the git repository", path.display()))
}

/// Folds `.` and `..` lexically (git revision paths do not accept them).
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut absolute = false;
    for component in path.components() {
        match component {
            Component::RootDir => absolute = true,
            Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Runs git in `dir`; its stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}
