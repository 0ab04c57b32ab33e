//! What every command shares: the global options, loading a scenario, printing JSON.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::Serialize;
use xpufleet_io::LoadedScenario;
use xpufleet_model::Catalog;

/// Global options.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// `--catalog FILE`.
    pub catalog: Option<PathBuf>,
}

impl Ctx {
    /// The built-in catalog overridden by `--catalog`.
    pub fn catalog(&self) -> Result<Catalog> {
        let mut c = xpufleet_io::builtin_catalog();
        if let Some(f) = &self.catalog {
            c.merge(xpufleet_io::load_catalog_file(f).map_err(|d| anyhow!("{d}"))?);
        }
        Ok(c)
    }

    /// The scenario at `path` parsed but not cross-checked, for `estimate`, whose flags (`--fx`,
    /// `--figure`) may supply what the file lacks; it reports what is still missing itself.
    pub fn scenario_unchecked(&self, path: Option<&Path>) -> Result<LoadedScenario> {
        xpufleet_io::load_scenario(path, self.catalog.as_deref()).map_err(|d| anyhow!("{d}"))
    }

    /// The scenario at `path`, or the built-in example, checked like `xpufleet validate` checks
    /// it: every command refuses a scenario with a dangling reference, naming each problem.
    pub fn scenario(&self, path: Option<&Path>) -> Result<LoadedScenario> {
        xpufleet_io::validate::check_scenario(path, self.catalog.as_deref()).map_err(|d| {
            let n = d.len();
            anyhow!("{d}\n{n} problem(s) found; run `xpufleet validate` for the full report")
        })
    }
}

/// Prints a value as pretty JSON on stdout. A negative zero (an empty float sum, a solver's
/// rounding) is printed as `0.0`: it means zero, and `-0.0` reads as a sign error.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> Result<()> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, NoNegativeZero::default());
    v.serialize(&mut ser)?;
    println!("{}", String::from_utf8(out)?);
    Ok(())
}

/// serde_json's pretty formatter, writing `-0.0` as `0.0`.
#[derive(Default)]
struct NoNegativeZero(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for NoNegativeZero {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f64) -> std::io::Result<()> {
        self.0.write_f64(w, if v == 0.0 { 0.0 } else { v })
    }
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, v: f32) -> std::io::Result<()> {
        self.0.write_f32(w, if v == 0.0 { 0.0 } else { v })
    }
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Set by `--wide`: tables keep every column at full width.
static WIDE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The width tables are fitted to when the output is not a terminal (a terminal's own width is
/// used when it is one).
pub const TABLE_WIDTH: u16 = 100;

/// `--wide`: draw tables at full width instead of fitting them.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, std::sync::atomic::Ordering::Relaxed);
}

/// Prints prose fitted to [`TABLE_WIDTH`] columns, like the tables: each line of `text` longer
/// than that is broken at spaces, continuation lines indented two more than the line's own
/// indent. `--wide` prints every line whole.
pub fn say_line(text: &str) {
    let wide = WIDE.load(std::sync::atomic::Ordering::Relaxed);
    for line in text.split('\n') {
        if wide || line.chars().count() <= usize::from(TABLE_WIDTH) {
            println!("{line}");
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = " ".repeat(indent + 2);
        let width = usize::from(TABLE_WIDTH);
        // The first line keeps its own indent; the others hang under it.
        let mut first = true;
        let mut pending = String::new();
        for part in wrap(line.trim_start_matches(' '), width - indent - 2) {
            if first {
                pending = format!("{}{part}", " ".repeat(indent));
                first = false;
            } else {
                println!("{pending}");
                pending = format!("{rest}{part}");
            }
        }
        println!("{pending}");
    }
}

/// `println!` for prose: the line is fitted to [`TABLE_WIDTH`] columns by [`say_line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::common::say_line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// `text` broken at spaces into lines of at most `width` columns (a word longer than `width`
/// stands alone on its line), so prose fits a 100-column terminal beside the tables.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let width = width.max(1);
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if !line.is_empty() && !fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A table in the house style, fitted to the terminal or, when printing elsewhere, to
/// [`TABLE_WIDTH`] columns by wrapping cells; `--wide` keeps every cell on one line.
pub fn table() -> comfy_table::Table {
    use comfy_table::ContentArrangement;
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    if WIDE.load(std::sync::atomic::Ordering::Relaxed) {
        t.set_content_arrangement(ContentArrangement::Disabled);
    } else {
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            t.set_width(TABLE_WIDTH);
        }
    }
    t
}

/// Writes `text` to `path` whole or not at all: into a temporary file beside it, flushed to
/// disk, then renamed over `path`. A failure (a full disk, an unwritable folder) leaves any
/// earlier file at `path` as it was and no partial one.
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = temp_beside(path);
    if let Err(e) = write_synced(&tmp, text) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("writing {}: {e}", path.display())
    })
}

/// Writes several files into `dir` (created if missing) so that either all of them are
/// replaced or none: every file is written to a temporary name first, and only when all are on
/// disk are they renamed into place.
pub fn write_files_atomic(dir: &Path, files: &[(String, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        let tmp = temp_beside(&path);
        if let Err(e) = write_synced(&tmp, text) {
            let _ = std::fs::remove_file(&tmp);
            for (t, _) in &written {
                let _ = std::fs::remove_file(t);
            }
            return Err(e).with_context(|| format!("writing {}", path.display()));
        }
        written.push((tmp, path));
    }
    for (i, (tmp, path)) in written.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            for (t, _) in &written[i..] {
                let _ = std::fs::remove_file(t);
            }
            return Err(anyhow!("writing {}: {e}", path.display()));
        }
    }
    Ok(())
}

/// `.NAME.tmp-PID` in the same folder, so the rename never crosses file systems.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// Installs a panic hook for the output errors `println!` panics on, in every command: a closed
/// stdout (`xpufleet check | head`) ends the program quietly with status 0, as `cat` and `grep`
/// do; any other failure to write the output (`xpufleet catalog > /dev/full`: a full disk) is a
/// one-line error and status 2, the project's exit status for an error, never a panic message.
/// Every other panic is reported as before.
pub fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if is_closed_pipe(msg) {
            std::process::exit(0);
        }
        if let Some(why) = output_error(msg) {
            // When stderr is what failed, the message cannot be shown; the status still says.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "error: {why}");
            std::process::exit(2);
        }
        default(info);
    }));
}

/// What a failure to print was (`writing standard output: No space left on device ...`), from
/// the message `std` panics with; `None` for any other panic.
fn output_error(msg: &str) -> Option<String> {
    let (stream, why) = msg
        .strip_prefix("failed printing to stdout: ")
        .map(|w| ("standard output", w))
        .or_else(|| {
            msg.strip_prefix("failed printing to stderr: ")
                .map(|w| ("standard error", w))
        })?;
    Some(format!("writing {stream}: {why}"))
}

/// Flushes standard output at the end of a command: text still buffered (a `print!` without a
/// newline) must reach its file or be an error, not be dropped silently at exit.
pub fn flush_stdout() -> Result<()> {
    use std::io::Write as _;
    match std::io::stdout().flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow!("writing standard output: {e}"))
        }
        _ => Ok(()),
    }
}

/// The message `std` panics with when printing to a closed stdout.
fn is_closed_pipe(msg: &str) -> bool {
    msg.starts_with("failed printing to stdout")
        && (msg.contains("Broken pipe") || msg.contains("os error 32"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_errors_are_named_and_other_panics_are_not() {
        assert_eq!(
            output_error("failed printing to stdout: No space left on device (os error 28)")
                .as_deref(),
            Some("writing standard output: No space left on device (os error 28)")
        );
        assert!(output_error("failed printing to stderr: x").is_some());
        assert_eq!(output_error("index out of bounds"), None);
    }

    #[test]
    fn only_the_closed_pipe_panic_is_recognised() {
        assert!(is_closed_pipe(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_pipe("failed printing to stdout: No space left"));
        assert!(!is_closed_pipe("index out of bounds"));
    }

    #[test]
    fn a_failed_atomic_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("xpufleet-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        write_atomic(&path, "old").unwrap();
        // A folder where the temporary file should go makes the write fail.
        std::fs::create_dir(temp_beside(&path)).unwrap();
        assert!(write_atomic(&path, "new").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        std::fs::remove_dir(temp_beside(&path)).unwrap();
        // Several files: one failing keeps every earlier one as it was.
        let files = vec![
            ("a.json".to_string(), "new a".to_string()),
            ("b.json".to_string(), "new b".to_string()),
        ];
        std::fs::create_dir(temp_beside(&dir.join("b.json"))).unwrap();
        assert!(write_files_atomic(&dir, &files).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(!dir.join("b.json").exists());
        std::fs::remove_dir(temp_beside(&dir.join("b.json"))).unwrap();
        write_files_atomic(&dir, &files).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new a");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporaries left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
