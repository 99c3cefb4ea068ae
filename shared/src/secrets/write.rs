//! Writing output files atomically, and the git checks that guard plaintext output.
//!
//! Every output goes to a temporary file first (created 0600, synced), then is renamed over
//! the target; the temporary is registered with [`crate::deadline::cleanup`] so that the
//! watchdog, a signal or Ctrl-C removes it. A plaintext temporary is never created where git
//! could pick it up: inside a git work tree it is created in the repository's git directory
//! (`git rev-parse --absolute-git-dir`, which git never lists), on the same filesystem as
//! the work tree, then renamed into place.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::SecretsError;
use crate::deadline::cleanup;

/// File permissions for an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: plaintext secrets.
    Private,
    /// 0644: sealed or secret-free values.
    Public,
}

/// The prefix of temporary files.
pub const TEMP_PREFIX: &str = ".todo-secrets-";

/// Write `contents` to `path` atomically. On any error nothing is left behind.
pub fn write_atomic(path: &Path, contents: &[u8], mode: Mode) -> Result<(), SecretsError> {
    let dir = match mode {
        Mode::Private => temp_dir_for_plaintext(path),
        Mode::Public => parent_dir(path),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| SecretsError::write(&dir, e))?;
    let _guard = cleanup::register(tmp.path());
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| SecretsError::write(tmp.path(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let bits = if mode == Mode::Private { 0o600 } else { 0o644 };
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(bits))
            .map_err(|e| SecretsError::write(tmp.path(), e))?;
    }
    tmp.persist(path).map_err(|e| {
        // The temporary is removed when `e.file` drops.
        SecretsError::write(path, e.error)
    })?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Where a plaintext temporary goes: the git directory of the work tree `path` is in, when
/// it is on the same filesystem as `path`'s directory; else beside `path`.
fn temp_dir_for_plaintext(path: &Path) -> PathBuf {
    let dir = parent_dir(path);
    match git_dir(&dir) {
        Some(git) if same_filesystem(&git, &dir) => git,
        _ => dir,
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
}

fn git_dir(dir: &Path) -> Option<PathBuf> {
    let out = git(dir, &["rev-parse", "--absolute-git-dir"])?;
    let text = String::from_utf8(out.stdout).ok()?;
    let path = PathBuf::from(text.trim_end_matches(['\n', '\r']));
    (out.status.success() && path.is_dir()).then_some(path)
}

#[cfg(unix)]
fn same_filesystem(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_filesystem(_: &Path, _: &Path) -> bool {
    false
}

/// What git says about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitStatus {
    /// `git check-ignore` says the path is ignored.
    Ignored,
    /// Inside a repository and not ignored: git would pick it up.
    NotIgnored,
    /// Not inside a git work tree: git cannot pick it up.
    NoRepository,
    /// git could not be run.
    Unknown(String),
}

/// Ask `git check-ignore` whether `path` is ignored, from the path's directory.
pub fn git_status(path: &Path) -> GitStatus {
    let dir = parent_dir(path);
    let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
        return GitStatus::Unknown("the file name is not UTF-8".into());
    };
    match git(&dir, &["rev-parse", "--is-inside-work-tree"]) {
        None => return GitStatus::Unknown("cannot run git".into()),
        Some(out) if !out.status.success() => return GitStatus::NoRepository,
        Some(out) if String::from_utf8_lossy(&out.stdout).trim() != "true" => {
            return GitStatus::NoRepository;
        }
        Some(_) => {}
    }
    match git(&dir, &["check-ignore", "-q", "--", file]).map(|o| o.status.code()) {
        Some(Some(0)) => GitStatus::Ignored,
        Some(Some(1)) => GitStatus::NotIgnored,
        Some(code) => GitStatus::Unknown(format!("git check-ignore exited with {code:?}")),
        None => GitStatus::Unknown("cannot run git".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn atomic_write_sets_mode_and_leaves_no_temp_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        write_atomic(&path, b"a: 1\n", Mode::Private).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(&path, b"a: 2\n", Mode::Public).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn git_status_outside_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let status = git_status(&dir.path().join("x.yaml"));
        assert!(
            matches!(status, GitStatus::NoRepository | GitStatus::Unknown(_)),
            "{status:?}"
        );
    }

    #[test]
    fn plaintext_temporaries_go_to_the_git_directory_of_a_work_tree() {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return; // no git here: nothing to place
        }
        let target = dir.path().join("secrets.values.yaml");
        let tmp_dir = temp_dir_for_plaintext(&target);
        assert!(tmp_dir.ends_with(".git"), "{}", tmp_dir.display());
        write_atomic(&target, b"k: v\n", Mode::Private).unwrap();
        let stray: Vec<_> = std::fs::read_dir(&tmp_dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
            .collect();
        assert!(stray.is_empty());
    }
}
