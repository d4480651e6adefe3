//! Records the git revision the binary is built from, for `switchboard --version`:
//! `SWITCHBOARD_GIT_REVISION` when set (a container build passes it, having no `.git`), else
//! `git rev-parse --short HEAD`, else `unknown` (a source archive, no git installed).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_GIT_REVISION");
    let revision = std::env::var("SWITCHBOARD_GIT_REVISION")
        .ok()
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=SWITCHBOARD_GIT_REVISION={revision}");
}

/// The short hash of HEAD, asking cargo to build again when HEAD moves: HEAD itself (a
/// checkout), the branch it names (a commit) and packed-refs (a `git gc`).
fn git_revision() -> Option<String> {
    let revision = git(&["rev-parse", "--short", "HEAD"])?;
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
    }
    watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    // A path that does not exist would make cargo run this script on every build.
    for path in watched.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    Some(revision)
}

/// The trimmed output of a successful `git` command, run in this crate's directory.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}
