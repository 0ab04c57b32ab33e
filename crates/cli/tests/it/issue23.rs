//! Issue 23: the binary names its build, output errors are errors (not panics) in every command,
//! and a failed `export` or `run --out` leaves the earlier files whole and no partial one.

use std::path::Path;

use crate::support::*;

/// The build script, compiled here too so that its three ways of naming a build are tested.
#[allow(dead_code)]
#[path = "../../build.rs"]
mod build_script;

#[test]
fn version_names_the_build() {
    let o = xpufleet(&["--version"]);
    assert!(o.status.success());
    let v = stdout(&o);
    let version = env!("CARGO_PKG_VERSION");
    let rest = v
        .trim()
        .strip_prefix(&format!("xpufleet {version} ("))
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{v:?}"));
    let (kind, id) = rest.split_once(' ').unwrap();
    assert!(kind == "git" || kind == "src", "{v}");
    assert!(
        id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{v}"
    );
    // From this checkout: the commit git itself names (when git is installed).
    if repo().join(".git").exists() {
        assert_eq!(kind, "git", "{v}");
        if let Ok(o) = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(repo())
            .output()
        {
            if o.status.success() {
                assert!(stdout(&o).starts_with(id), "{v} vs HEAD {}", stdout(&o));
            }
        }
    }
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn the_build_is_named_from_git_files_a_tarball_or_the_sources() {
    let d = scratch("issue23-build");
    let a = "1111111111111111111111111111111111111111";
    let b = "2222222222222222222222222222222222222222";
    // A checkout: HEAD names a branch whose file holds the commit.
    let repo1 = d.join("repo1");
    write(&repo1.join(".git/HEAD"), "ref: refs/heads/main\n");
    write(&repo1.join(".git/refs/heads/main"), &format!("{a}\n"));
    let (c, watched) = build_script::git_commit(&repo1.join("crates/cli")).unwrap();
    assert_eq!(c, a);
    assert!(
        watched.contains(&repo1.join(".git/refs/heads/main")),
        "{watched:?}"
    );
    // A branch only in packed-refs.
    std::fs::remove_file(repo1.join(".git/refs/heads/main")).unwrap();
    write(
        &repo1.join(".git/packed-refs"),
        &format!("# pack-refs\n{b} refs/heads/main\n"),
    );
    assert_eq!(build_script::git_commit(&repo1).unwrap().0, b);
    // A detached HEAD.
    write(&repo1.join(".git/HEAD"), &format!("{a}\n"));
    assert_eq!(build_script::git_commit(&repo1).unwrap().0, a);
    // A worktree: `.git` is a file naming its git folder, which names the shared one.
    let wt = d.join("wt");
    let gd = repo1.join(".git/worktrees/wt");
    write(&wt.join(".git"), &format!("gitdir: {}\n", gd.display()));
    write(&gd.join("HEAD"), "ref: refs/heads/topic\n");
    write(&gd.join("commondir"), "../..\n");
    write(&repo1.join(".git/refs/heads/topic"), &format!("{b}\n"));
    assert_eq!(build_script::git_commit(&wt).unwrap().0, b);
    // A crates.io tarball: no git, the commit `cargo package` recorded.
    let tarball = d.join("xpufleet-0.1.0");
    write(
        &tarball.join(".cargo_vcs_info.json"),
        &format!("{{\n  \"git\": {{\n    \"sha1\": \"{a}\"\n  }},\n  \"path_in_vcs\": \"crates/cli\"\n}}"),
    );
    assert_eq!(build_script::vcs_info_commit(&tarball).unwrap(), a);
    // Neither: a hash of the sources, the same wherever they lie, different when one changes.
    let src = |root: &Path, main: &str| {
        write(&root.join("Cargo.toml"), "[package]\n");
        write(&root.join("src/main.rs"), main);
        let (base, roots) = build_script::source_roots(root);
        build_script::hash_files(&base, &roots)
    };
    let (h1, h2) = (
        src(&d.join("x/pkg"), "fn main() {}"),
        src(&d.join("y/pkg"), "fn main() {}"),
    );
    assert_eq!(h1, h2);
    assert_ne!(h1, src(&d.join("z/pkg"), "fn main() { }"));
}

/// `xpufleet CMD > /dev/full`: a full disk is a one-line error and status 2 in every command
/// that prints, never a panic.
#[test]
fn writing_to_a_full_disk_is_an_error_not_a_panic() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    for args in [
        &["catalog"][..],
        &["catalog", "--json"],
        &["check", "--as-of", "2025-06-01"],
        &["fleet"],
        &["validate"],
    ] {
        let o = bin()
            .args(args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("error: writing standard output: No space left on device"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Runs `xpufleet ARGS` allowed to write files of at most 1 KiB, as on a full disk: writes past
/// that fail with "File too large".
fn with_small_disk(args: &[&str]) -> std::process::Output {
    std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_xpufleet"))
        .args(args)
        .output()
        .unwrap()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_failed_export_or_run_leaves_the_earlier_files_and_no_partial_one() {
    if !Path::new("/bin/bash").exists() && !Path::new("/usr/bin/bash").exists() {
        return;
    }
    let d = scratch("issue23-partial");
    for (args, files) in [
        (
            &["export", "slurm"][..],
            &["gres.conf", "slurm-xpufleet.conf"][..],
        ),
        (&["run"], &["report.html", "report.json"]),
    ] {
        let out = d.join(args.join("-"));
        std::fs::create_dir_all(&out).unwrap();
        for f in files {
            std::fs::write(out.join(f), "earlier").unwrap();
        }
        let before = names_in(&out);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--out", out.to_str().unwrap()]);
        let o = with_small_disk(&all);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("File too large"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            names_in(&out),
            before,
            "{args:?}: a temporary or partial file is left"
        );
        for f in files {
            assert_eq!(
                std::fs::read_to_string(out.join(f)).unwrap(),
                "earlier",
                "{f}"
            );
        }
        // And with room, the same command replaces them.
        let o = xpufleet(&all);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert_ne!(
            std::fs::read_to_string(out.join(files[0])).unwrap(),
            "earlier"
        );
    }
}

#[test]
fn validate_and_export_refuse_a_hostile_pool_id() {
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    let line = "id = \"cn-a800\"";
    assert!(text.contains(line));
    let path = scratch("issue23-hostile").join("s.toml");
    std::fs::write(
        &path,
        text.replacen(
            line,
            "id = \"cn-a800\\nPartitionName=open AllowAccounts=ALL\"",
            1,
        ),
    )
    .unwrap();
    let s = path.display().to_string();
    let out = scratch("issue23-hostile-out");
    for args in [
        vec!["validate", s.as_str()],
        vec![
            "export",
            "slurm",
            s.as_str(),
            "--out",
            out.to_str().unwrap(),
        ],
    ] {
        let o = xpufleet(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("pool[0].id: id \"cn-a800\\nPartitionName=open AllowAccounts=ALL\" is not allowed: it contains U+000A"), "{args:?}: {err}");
    }
    assert!(names_in(&out).is_empty());
}
