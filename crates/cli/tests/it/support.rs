//! Running the binary under test.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `xpufleet` binary built for these tests, fitting its output to 100 columns: `COLUMNS`
/// from the shell that runs the tests would change every table.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xpufleet"));
    c.env_remove("COLUMNS");
    c
}

/// Runs `xpufleet ARGS...` and returns its output.
pub fn xpufleet(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
