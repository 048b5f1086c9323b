//! `asicgen completions <shell>` prints a completion script that names every subcommand, and the
//! bash one is valid bash.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use support::{asicgen, workspace};

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = asicgen(&["completions", shell], &workspace());
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        for sub in ["check", "emit", "graph", "new", "completions"] {
            assert!(
                script.contains(sub),
                "{shell} script lacks `{sub}`:\n{script}"
            );
        }
    }
}

#[test]
fn the_bash_script_parses_and_an_unknown_shell_is_refused() {
    let out = asicgen(&["completions", "bash"], &workspace());
    assert!(out.status.success());
    // why: a script bash cannot read would break every new shell of the user who installs it.
    if let Ok(mut bash) = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        bash.stdin
            .take()
            .map(|mut stdin| stdin.write_all(&out.stdout))
            .transpose()
            .expect("write to bash");
        let checked = bash.wait_with_output().expect("bash -n runs");
        assert!(
            checked.status.success(),
            "bash -n: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    let bad = asicgen(&["completions", "cmd.exe"], &workspace());
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
