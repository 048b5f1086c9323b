//! Reading a spec and the lifecycle files it pulls in, then parse → check → Model.

use std::io;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::ast::LifecycleFile;
use crate::check;
use crate::diagnostic::{Diagnostic, Report};
use crate::model::{Model, Provenance};
use crate::parse;
use crate::source::{FileId, SourceFile, SourceMap, Span};

/// How deep `extends` chains may go; deeper is almost certainly a mistake.
const MAX_EXTENDS_DEPTH: usize = 16;

/// A file to read: the path shown to users and the path opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// Shown in diagnostics and provenance (relative, as the user named it).
    pub display: String,
    /// Opened on disk.
    pub real: PathBuf,
}

impl FileRef {
    /// A file named the same way for users and on disk.
    pub fn new(path: impl Into<String>) -> FileRef {
        let display = path.into();
        FileRef {
            real: PathBuf::from(&display),
            display,
        }
    }

    /// The file `relative` names, resolved against this file's directory.
    pub fn sibling(&self, relative: &str) -> FileRef {
        let display_dir = Path::new(&self.display).parent().unwrap_or(Path::new(""));
        let real_dir = self.real.parent().unwrap_or(Path::new(""));
        FileRef {
            display: normalize(&display_dir.join(relative)),
            real: real_dir.join(relative),
        }
    }
}

/// Lexically folds `.` and `..` so display paths read `specs/lifecycle/x`, not
/// `specs/./lifecycle/../lifecycle/x`.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    let joined = parts.join("/");
    joined.replace("//", "/")
}

/// The result of loading a spec: the Model or the report, plus every file that was read (so a
/// build can be rerun when any of them changes, even when checking failed).
#[derive(Debug)]
pub struct Loaded {
    /// The checked Model, or every problem found.
    pub result: Result<Model, Report>,
    /// Paths opened, in the order read (spec first).
    pub files_read: Vec<PathBuf>,
}

/// Loads the spec at `path` from disk, showing it as `display_path` in diagnostics and
/// provenance. Lifecycle paths in the spec are relative to the spec's directory.
pub fn load(path: &Path, display_path: &str) -> Loaded {
    let spec = FileRef {
        display: display_path.to_string(),
        real: path.to_path_buf(),
    };
    check_with(spec, &mut |file: &FileRef| std::fs::read(&file.real))
}

/// Checks a spec whose files come from `read` (tests and fuzzers pass an in-memory map).
pub fn check_with(spec: FileRef, read: &mut dyn FnMut(&FileRef) -> io::Result<Vec<u8>>) -> Loaded {
    let mut run = Run {
        sources: SourceMap::default(),
        diagnostics: Vec::new(),
        files_read: Vec::new(),
        hasher: Sha256::new(),
        read,
    };
    let model = run.spec(&spec);
    let files_read = std::mem::take(&mut run.files_read);
    let result = match model {
        Some(model) if run.diagnostics.is_empty() => Ok(model),
        _ => {
            if run.diagnostics.is_empty() {
                // Every path that fails to build a model reports why; this is a guard against a
                // checker bug turning into a silent failure.
                run.diagnostics.push(Diagnostic::error(
                    Span::default(),
                    "internal error: the spec was rejected without a diagnostic",
                ));
            }
            Err(Report::new(run.sources, run.diagnostics))
        }
    };
    Loaded { result, files_read }
}

struct Run<'r> {
    sources: SourceMap,
    diagnostics: Vec<Diagnostic>,
    files_read: Vec<PathBuf>,
    hasher: Sha256,
    read: &'r mut dyn FnMut(&FileRef) -> io::Result<Vec<u8>>,
}

impl Run<'_> {
    /// Reads a file into the source map. `from` is where the path was written (for errors).
    fn read(&mut self, file: &FileRef, from: Option<Span>) -> Option<FileId> {
        self.files_read.push(file.real.clone());
        let bytes = match (self.read)(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                let at = from.unwrap_or_default();
                let message = format!("cannot read `{}`: {}", file.display, io_reason(&e));
                self.diagnostics.push(match from {
                    Some(_) => Diagnostic::error(at, message)
                        .label("named here")
                        .help("paths are relative to the directory of the file that names them"),
                    None => Diagnostic::error(at, message),
                });
                if from.is_none() {
                    // Nothing to point into: give the report a file so it can render.
                    self.sources
                        .add(SourceFile::new(file.display.clone(), String::new()));
                }
                return None;
            }
        };
        // Length-prefixed so that moving bytes between files changes the hash.
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(&bytes);
        let (text, invalid_at) = match String::from_utf8(bytes) {
            Ok(text) => (text, None),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let byte = e.as_bytes().get(at).copied().unwrap_or(0);
                (
                    String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    Some((at, byte)),
                )
            }
        };
        let id = self
            .sources
            .add(SourceFile::new(file.display.clone(), text));
        if let Some((at, byte)) = invalid_at {
            self.diagnostics.push(
                Diagnostic::error(Span::new(id, at, at + 1), "file is not valid UTF-8")
                    .label(format!("byte {byte:#04x} starts no UTF-8 character"))
                    .help("specs are UTF-8 text; re-save the file as UTF-8"),
            );
            return None;
        }
        Some(id)
    }

    /// Parses a file already read, keeping its non-fatal diagnostics.
    fn parse<T>(&mut self, id: FileId, parser: fn(FileId, &str) -> parse::Parsed<T>) -> Option<T> {
        match parser(id, &self.sources.get(id).text) {
            Ok((ast, diagnostics)) => {
                self.diagnostics.extend(diagnostics);
                Some(ast)
            }
            Err(d) => {
                self.diagnostics.push(d);
                None
            }
        }
    }

    fn spec(&mut self, spec: &FileRef) -> Option<Model> {
        let id = self.read(spec, None)?;
        let ast = self.parse(id, parse::spec)?;
        let parts = check::spec::check(&ast, Span::new(id, 0, 0), &mut self.diagnostics);
        let (lifecycle_path, lifecycle_span) = parts.lifecycle.clone()?;
        let lifecycle_file = spec.sibling(&lifecycle_path);
        let chain = self.lifecycle_chain(lifecycle_file.clone(), lifecycle_span)?;
        let mut lifecycle_paths: Vec<String> =
            chain.iter().map(|(f, _)| f.display.clone()).collect();
        lifecycle_paths.dedup();
        let files: Vec<LifecycleFile> = chain.into_iter().map(|(_, l)| l).collect();
        let lifecycle = check::lifecycle::check(&files, &mut self.diagnostics)?;
        let content_hash = self
            .hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some(Model {
            provenance: Provenance {
                spec_path: spec.display.clone(),
                lifecycle_paths,
                content_hash,
            },
            name: parts.name,
            doc: parts.doc,
            uapi_prefix: parts.uapi_prefix,
            pci_vendor: parts.pci_vendor,
            pci_devices: parts.pci_devices,
            limits: parts.limits,
            features: parts.features,
            engines: parts.engines,
            queues: parts.queues,
            reserved_queue_ids: parts.reserved_queue_ids,
            reserved_engine_ids: parts.reserved_engine_ids,
            reserved_cqs: parts.reserved_cqs,
            sync_manager: parts.sync_manager,
            binning: parts.binning,
            lifecycle,
        })
    }

    /// Reads a lifecycle and everything it extends, most derived first.
    fn lifecycle_chain(
        &mut self,
        first: FileRef,
        named_at: Span,
    ) -> Option<Vec<(FileRef, LifecycleFile)>> {
        let mut chain: Vec<(FileRef, LifecycleFile)> = Vec::new();
        let mut next = Some((first, named_at));
        while let Some((file, at)) = next.take() {
            if chain.iter().any(|(f, _)| f.display == file.display) {
                let cycle: Vec<&str> = chain
                    .iter()
                    .map(|(f, _)| f.display.as_str())
                    .chain([file.display.as_str()])
                    .collect();
                self.diagnostics.push(
                    Diagnostic::error(at, "lifecycle extends itself")
                        .label(format!("cycle: {}", cycle.join(" -> ")))
                        .help("break the cycle: a lifecycle extends one that does not come back to it"),
                );
                return None;
            }
            if chain.len() >= MAX_EXTENDS_DEPTH {
                self.diagnostics.push(
                    Diagnostic::error(at, "lifecycle `extends` chain is too deep")
                        .label(format!("more than {MAX_EXTENDS_DEPTH} levels"))
                        .help("flatten the chain"),
                );
                return None;
            }
            let id = self.read(&file, Some(at))?;
            let parsed = self.parse(id, parse::lifecycle)?;
            next = parsed
                .extends
                .as_ref()
                .map(|(path, span)| (file.sibling(path), *span));
            chain.push((file, parsed));
        }
        Some(chain)
    }
}

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siblings_resolve_against_the_naming_file() {
        let spec = FileRef {
            display: "specs/gaudi.asic".into(),
            real: PathBuf::from("/abs/specs/gaudi.asic"),
        };
        let lc = spec.sibling("lifecycle/default.lifecycle");
        assert_eq!(lc.display, "specs/lifecycle/default.lifecycle");
        assert_eq!(
            lc.real,
            PathBuf::from("/abs/specs/lifecycle/default.lifecycle")
        );
        assert_eq!(lc.sibling("../x.lifecycle").display, "specs/x.lifecycle");
        assert_eq!(FileRef::new("a.asic").sibling("b").display, "b");
    }
}
