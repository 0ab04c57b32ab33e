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
            xpufleet_io::overlay_catalog_file(&mut c, f).map_err(|d| anyhow!("{d}"))?;
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

/// `x` with `prec` decimals, never `-0.0`: a value that rounds to zero is printed as zero (an
/// empty plan's sums, a solver's rounding), since a minus sign there reads as a sign error.
pub fn fixed(x: f64, prec: usize) -> String {
    let s = format!("{x:.prec$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => s,
    }
}

/// [`fixed`] with a sign always shown for a change (`+1.5`, `-0.3`), zero as `+0.0`.
pub fn signed(x: f64, prec: usize) -> String {
    let s = fixed(x, prec);
    if s.starts_with('-') {
        s
    } else {
        format!("+{s}")
    }
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

/// The width tables and prose are fitted to when the output is not a terminal and `COLUMNS`
/// is not set.
pub const TABLE_WIDTH: u16 = 100;

/// `--wide`: draw tables at full width instead of fitting them.
pub fn set_wide(wide: bool) {
    WIDE.store(wide, std::sync::atomic::Ordering::Relaxed);
}

/// The narrowest width anything is fitted to: below it a table of two columns cannot be drawn.
const MIN_WIDTH: u16 = 40;

/// The width output is fitted to, or `None` under `--wide`. `COLUMNS` wins when set (as for
/// `ls`), so a script or a test can force a width; then the terminal's own width; then
/// [`TABLE_WIDTH`] when stdout is a file or a pipe.
pub fn out_width() -> Option<u16> {
    if WIDE.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let forced = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0);
    let width = forced.or_else(|| {
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            comfy_table::Table::new().width()
        } else {
            None
        }
    });
    Some(width.unwrap_or(TABLE_WIDTH).max(MIN_WIDTH))
}

/// Prints prose fitted to [`out_width`] columns, like the tables: each line of `text` longer
/// than that is broken at spaces, continuation lines indented two more than the line's own
/// indent. `--wide` prints every line whole. Never give it a table: [`fit`] lays tables out.
pub fn say_line(text: &str) {
    let Some(width) = out_width().map(usize::from) else {
        println!("{text}");
        return;
    };
    for line in text.split('\n') {
        if line.chars().count() <= width {
            println!("{line}");
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = " ".repeat(indent + 2);
        // The first line keeps its own indent; the others hang under it.
        let mut first = true;
        let mut pending = String::new();
        for part in wrap(
            line.trim_start_matches(' '),
            width.saturating_sub(indent + 2),
        ) {
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

/// `println!` for prose: the line is fitted to [`out_width`] columns by [`say_line`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::common::say_line(&format!($($arg)*))
    };
}
pub(crate) use say;

/// `text` broken at spaces into lines of at most `width` columns (a word longer than `width`
/// stands alone on its line), so prose fits the terminal beside the tables.
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

/// A table in the house style, fitted to [`out_width`] by wrapping cells at spaces; `--wide`
/// keeps every cell on one line. Print it with [`fit`], which keeps numbers and ids whole.
pub fn table() -> comfy_table::Table {
    use comfy_table::ContentArrangement;
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    match out_width() {
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
        }
    }
    t
}

/// The table laid out for printing. Columns are sized here rather than by comfy-table's own
/// dynamic layout, which may narrow a column below its longest word and then split the word:
/// no column is made narrower than its longest unbreakable word (a number, an id, an amount
/// with its currency), so a cell is only ever wrapped at a space and `989.5` never becomes
/// `989.` over `5`. The space left over goes to the columns whose text still wraps, the
/// narrowest needs first. When those words alone do not fit the width (the catalog's fifteen
/// columns in 120), the columns are printed as several tables, each led by the first column,
/// when that column names its rows uniquely; otherwise each row is printed as a record, one
/// `column  value` line per cell. Either way nothing is split and nothing runs past the edge.
pub fn fit(t: &mut comfy_table::Table) -> String {
    use comfy_table::{ColumnConstraint, Width};
    let Some(width) = t.width().map(usize::from) else {
        return t.to_string();
    };
    // Per column: the longest word (the least it may be) and the longest line (all it needs).
    let mut min_w: Vec<usize> = Vec::new();
    let mut max_w: Vec<usize> = Vec::new();
    let mut note = |i: usize, text: &str| {
        if min_w.len() <= i {
            min_w.resize(i + 1, 1);
            max_w.resize(i + 1, 1);
        }
        min_w[i] = min_w[i].max(longest_word(text));
        let line = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        max_w[i] = max_w[i].max(line);
    };
    if let Some(h) = t.header() {
        for (i, c) in h.cell_iter().enumerate() {
            note(i, &c.content());
        }
    }
    for r in t.row_iter() {
        for (i, c) in r.cell_iter().enumerate() {
            note(i, &c.content());
        }
    }
    let n = min_w.len();
    // Borders (one before each column and one after the last) and one space each side of a cell.
    let available = width.saturating_sub(n + 1 + 2 * n);
    if n == 0 || max_w.iter().sum::<usize>() <= available {
        return t.to_string();
    }
    if min_w.iter().sum::<usize>() > available {
        return column_groups(t, &min_w, width).unwrap_or_else(|| records(t, width));
    }
    let mut w = min_w.clone();
    let mut spare = available.saturating_sub(w.iter().sum());
    // Columns that fit whole in an equal share of what is left take it; the rest share the
    // remainder equally.
    loop {
        let wanting: Vec<usize> = (0..n).filter(|&i| w[i] < max_w[i]).collect();
        if wanting.is_empty() || spare == 0 {
            break;
        }
        let share = spare / wanting.len();
        let settled: Vec<usize> = wanting
            .iter()
            .copied()
            .filter(|&i| max_w[i] - w[i] <= share)
            .collect();
        if settled.is_empty() {
            for (k, &i) in wanting.iter().enumerate() {
                let extra = share + usize::from(k < spare % wanting.len());
                w[i] = (w[i] + extra).min(max_w[i]);
            }
            break;
        }
        for i in settled {
            spare -= max_w[i] - w[i];
            w[i] = max_w[i];
        }
    }
    for (i, &cw) in w.iter().enumerate() {
        if let Some(col) = t.column_mut(i) {
            // comfy-table's absolute widths include the cell's padding.
            let cw = u16::try_from(cw + 2).unwrap_or(u16::MAX);
            col.set_constraint(ColumnConstraint::Absolute(Width::Fixed(cw)));
        }
    }
    t.to_string()
}

/// `t` as several tables of its columns, each led by its first column, or `None` when the first
/// column does not tell the rows apart or a group of two columns does not fit.
fn column_groups(t: &comfy_table::Table, min_w: &[usize], width: usize) -> Option<String> {
    let cells: Vec<Vec<String>> = t
        .row_iter()
        .map(|r| r.cell_iter().map(|c| c.content()).collect())
        .collect();
    let keys: std::collections::BTreeSet<&str> = cells
        .iter()
        .map(|r| r.first().map_or("", String::as_str))
        .collect();
    let header: Vec<String> = t
        .header()
        .map(|h| h.cell_iter().map(|c| c.content()).collect())
        .unwrap_or_default();
    if keys.len() != cells.len() || header.is_empty() {
        return None;
    }
    // A group of k columns needs its words, k + 1 borders and two spaces a column.
    let need = |cols: &[usize]| cols.iter().map(|&i| min_w[i] + 3).sum::<usize>() + 1;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group = vec![0];
    for i in 1..min_w.len() {
        group.push(i);
        if need(&group) > width {
            group.pop();
            if group.len() == 1 {
                return None;
            }
            groups.push(std::mem::replace(&mut group, vec![0, i]));
        }
    }
    groups.push(group);
    let mut out = Vec::new();
    for cols in groups {
        let mut g = table();
        g.set_header(
            cols.iter()
                .map(|&i| header.get(i).cloned().unwrap_or_default()),
        );
        for row in &cells {
            g.add_row(
                cols.iter()
                    .map(|&i| row.get(i).cloned().unwrap_or_default()),
            );
        }
        out.push(fit(&mut g));
    }
    Some(out.join("\n"))
}

/// `t` as records for a width its columns cannot share: a rule, then each cell under its
/// column's name, values wrapped at spaces and hanging under the first.
fn records(t: &comfy_table::Table, width: usize) -> String {
    let names: Vec<String> = t
        .header()
        .map(|h| h.cell_iter().map(|c| c.content()).collect())
        .unwrap_or_default();
    let key_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let value_w = width.saturating_sub(key_w + 2).max(1);
    let mut out = String::new();
    for (r, row) in t.row_iter().enumerate() {
        if r > 0 {
            out.push('\n');
        }
        out.push_str(&"─".repeat(width.min(40)));
        out.push('\n');
        for (i, c) in row.cell_iter().enumerate() {
            let name = names.get(i).map_or("", String::as_str);
            let mut first = true;
            for line in c.content().lines() {
                for part in wrap(line, value_w) {
                    let key = if first { name } else { "" };
                    out.push_str(format!("{key:<key_w$}  {part}").trim_end());
                    out.push('\n');
                    first = false;
                }
            }
            if first {
                out.push_str(name);
                out.push('\n');
            }
        }
    }
    out.pop();
    out
}

/// The widest run of `text` that must stay on one line: a word, or a currency code with the
/// amount after it (`USD 294.5M`), counted in characters.
pub fn longest_word(text: &str) -> usize {
    let mut longest = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').filter(|w| !w.is_empty()).collect();
        let mut i = 0;
        while i < words.len() {
            let mut n = words[i].chars().count();
            let is_code = words[i].len() == 3 && words[i].bytes().all(|b| b.is_ascii_uppercase());
            let amount_follows = words
                .get(i + 1)
                .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_digit() || c == '-'));
            if is_code && amount_follows {
                n += 1 + words[i + 1].chars().count();
                i += 1;
            }
            longest = longest.max(n);
            i += 1;
        }
    }
    longest
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
    fn a_zero_is_never_negative() {
        assert_eq!(fixed(-0.0, 1), "0.0");
        assert_eq!(fixed(-0.04, 1), "0.0");
        assert_eq!(fixed(-0.05001, 1), "-0.1");
        assert_eq!(signed(-0.0, 1), "+0.0");
        assert_eq!(signed(2.25, 1), "+2.2");
    }

    #[test]
    fn an_amount_stays_with_its_currency_and_numbers_stay_whole() {
        assert_eq!(longest_word("989.5 TFLOPS"), 6);
        assert_eq!(longest_word("USD 294.5M spent"), 10);
        assert_eq!(longest_word("ascend-910b\nx"), 11);
        assert_eq!(longest_word(""), 0);
    }

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
