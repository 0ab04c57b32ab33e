//! Names the build for `xpufleet --version` and for run ids (`XPUFLEET_BUILD`): `git COMMIT`
//! when built from a git checkout, `git COMMIT` from `.cargo_vcs_info.json` when built from a
//! crates.io tarball, else `src HASH`, a hash of the sources. Two builds of different code
//! never share a name, so a server never serves an answer of an older build as current.
//!
//! It stays cheap: from a git checkout it reads `HEAD` and the ref files itself (no `git`
//! binary, no walk of the sources) and asks Cargo to rerun it only when they change, so an
//! edit does not rerun it and only a new commit recompiles this crate. Without git it hashes
//! the sources and reruns when they change, which an edit recompiles anyway.

use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let id = match git_commit(&manifest) {
        Some((commit, watched)) => {
            for p in watched {
                println!("cargo:rerun-if-changed={}", p.display());
            }
            format!("git {}", &commit[..commit.len().min(12)])
        }
        None => match vcs_info_commit(&manifest) {
            Some(commit) => {
                println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
                format!("git {}", &commit[..commit.len().min(12)])
            }
            None => {
                let (base, roots) = source_roots(&manifest);
                for r in &roots {
                    println!("cargo:rerun-if-changed={}", r.display());
                }
                format!("src {:016x}", hash_files(&base, &roots))
            }
        },
    };
    println!("cargo:rustc-env=XPUFLEET_BUILD={id}");
}

/// The commit checked out in the repository holding `dir`, and the files whose change means a
/// new commit: `HEAD`, the branch's ref folder and `packed-refs`. `None` outside git.
pub(crate) fn git_commit(dir: &Path) -> Option<(String, Vec<PathBuf>)> {
    let dot_git = dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    // A worktree's `.git` is a file naming its git folder, which names the shared one.
    let git_dir = if dot_git.is_file() {
        let text = std::fs::read_to_string(&dot_git).ok()?;
        let rel = text.strip_prefix("gitdir:")?.trim();
        dot_git.parent()?.join(rel)
    } else {
        dot_git
    };
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim()),
        Err(_) => git_dir.clone(),
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let mut watched = vec![git_dir.join("HEAD")];
    let head = head.trim();
    let commit = match head.strip_prefix("ref:") {
        None => head.to_string(),
        Some(r) => {
            let r = r.trim();
            // The branch's own file when it has one (a commit rewrites it); when the branch is
            // only in packed-refs, that file and the folder where a commit would create it.
            watched.push(common.join("packed-refs"));
            match std::fs::read_to_string(common.join(r)) {
                Ok(c) => {
                    watched.push(common.join(r));
                    c.trim().to_string()
                }
                Err(_) => {
                    if let Some(folder) = common.join(r).parent() {
                        watched.push(folder.to_path_buf());
                    }
                    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
                    packed
                        .lines()
                        .find_map(|l| l.strip_suffix(r).map(|c| c.trim().to_string()))?
                }
            }
        }
    };
    let hex = commit.len() >= 12 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    watched.retain(|p| p.exists());
    hex.then_some((commit, watched))
}

/// The commit `cargo package` recorded in a crates.io tarball.
pub(crate) fn vcs_info_commit(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let after = &text[text.find("\"sha1\"")? + 6..];
    let start = after.find('"')? + 1;
    let end = start + after[start..].find('"')?;
    let sha = &after[start..end];
    (sha.len() >= 12 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| sha.to_string())
}

/// What the build is made of: the workspace's crates and data when this is a workspace
/// checkout, else this package alone.
/// Returns the folder paths are taken relative to (so the hash does not depend on where the
/// sources lie) and the roots.
pub(crate) fn source_roots(manifest: &Path) -> (PathBuf, Vec<PathBuf>) {
    let root = manifest.join("../..");
    if root.join("Cargo.toml").is_file() && root.join("crates").is_dir() {
        let roots = ["crates", "data", "Cargo.toml", "Cargo.lock"]
            .iter()
            .map(|p| root.join(p))
            .filter(|p| p.exists())
            .collect();
        (root, roots)
    } else {
        (manifest.to_path_buf(), vec![manifest.to_path_buf()])
    }
}

/// FNV-1a over every file's path and bytes, in path order; build outputs are left out.
pub(crate) fn hash_files(base: &Path, roots: &[PathBuf]) -> u64 {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target" || n == ".git") {
                return;
            }
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    walk(&e.path(), out);
                }
            }
        } else {
            out.push(p.to_path_buf());
        }
    }
    let mut files = vec![];
    for r in roots {
        walk(r, &mut files);
    }
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in files {
        let rel = f.strip_prefix(base).unwrap_or(&f);
        eat(rel.to_string_lossy().as_bytes());
        eat(&[0]);
        eat(&std::fs::read(&f).unwrap_or_default());
        eat(&[0]);
    }
    h
}
