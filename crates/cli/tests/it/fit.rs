//! Issue 17, item 8: fit and finish. Every table command's output fits a 100-column terminal
//! without `--wide` (and `--wide` prints lines whole), no `--help` entry is empty, no command
//! prints `NaN` or `inf`, and the README's tour runs as written from a checkout.

use std::process::Output;

use crate::support::{bin, repo, scratch, stderr, stdout, xpufleet};

/// The width tables and prose are fitted to when stdout is not a terminal.
const WIDTH: usize = 100;

fn too_wide(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.chars().count() > WIDTH).collect()
}

/// Numbers no output should print: JSON cannot hold them, and people cannot use them.
fn assert_no_bad_numbers(cmd: &str, out: &str) {
    for word in out.split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.') {
        let w = word.trim_start_matches('-');
        assert!(
            !matches!(w, "NaN" | "nan" | "inf" | "Infinity" | "infinity"),
            "{cmd} prints {word:?}:\n{out}"
        );
        assert!(
            !(word.starts_with("-0")
                && word
                    .trim_start_matches("-0")
                    .trim_matches(['.', '0'])
                    .is_empty()
                && word.len() > 2),
            "{cmd} prints a negative zero {word:?}:\n{out}"
        );
    }
}

const TABLE_COMMANDS: &[&[&str]] = &[
    &["catalog"],
    &["fleet"],
    &["check"],
    &["check", "--as-of", "2025-06-01"],
    &["check", "--as-of", "2024-06-01"],
    &["check", "--screening", "data/screening/synthetic-csl.csv"],
    &[
        "classify",
        "h100-sxm",
        "h20",
        "a800-sxm",
        "--as-of",
        "2023-06-01",
    ],
    &[
        "estimate", "--params", "70e9", "--tokens", "2e12", "--accel", "h100-sxm", "--count",
        "2048",
    ],
    &[
        "estimate",
        "--params",
        "70e9",
        "--tokens",
        "2e12",
        "--count",
        "2048",
        "--compare",
        "h20,ascend-910b,h100-sxm",
    ],
    &[
        "estimate",
        "serving",
        "--params",
        "671e9",
        "--active-params",
        "37e9",
        "--input-tokens-per-day",
        "608e9",
        "--output-tokens-per-day",
        "168e9",
        "--accel",
        "h800-sxm",
    ],
    &[
        "estimate",
        "serving",
        "--params",
        "70e9",
        "--input-tokens-per-day",
        "1e10",
        "--output-tokens-per-day",
        "2e9",
        "--compare",
        "h20,h100-sxm,ascend-910b,a100-sxm-80gb",
    ],
    &["plan"],
    &["plan", "--what-if", "examples/what-if-h20.toml"],
    &["plan", "--objective", "min-cost", "--target", "40000"],
    &[
        "simulate",
        "--scenario",
        "examples/capex-2025.toml",
        "--policy",
        "easy-backfill",
    ],
];

fn run_in_repo(args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(repo())
        .output()
        .expect("the binary runs")
}

#[test]
fn every_table_command_fits_100_columns_and_wide_prints_lines_whole() {
    for args in TABLE_COMMANDS {
        let o = run_in_repo(args);
        let cmd = args.join(" ");
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        let out = stdout(&o);
        let wide = too_wide(&out);
        assert!(
            wide.is_empty(),
            "{cmd}: lines over {WIDTH} columns:\n{}",
            wide.join("\n")
        );
        assert_no_bad_numbers(&cmd, &out);
    }
    // `--wide` keeps prose and cells on one line: the check's long reasons come back whole.
    let o = run_in_repo(&["--wide", "check"]);
    assert!(o.status.success());
    assert!(!too_wide(&stdout(&o)).is_empty(), "--wide wraps nothing");
}

#[test]
fn json_outputs_hold_no_nan_or_infinity() {
    for args in TABLE_COMMANDS {
        if args[0] == "catalog" && args.len() > 1 {
            continue;
        }
        let mut a: Vec<&str> = args.to_vec();
        a.push("--json");
        let o = run_in_repo(&a);
        let cmd = a.join(" ");
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        let out = stdout(&o);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd}: not JSON: {e}"));
        assert!(!v.is_null(), "{cmd}");
        assert_no_bad_numbers(&cmd, &out);
    }
}

/// Issue 27, item 1: at every width a terminal might have, every table command's lines fit,
/// every table is drawn straight (each line as wide as its top border, the column separators
/// under the top border's), and no number is split across lines (`989.` over `5`). The width
/// is forced the way the CLI reads it, through `COLUMNS`.
#[test]
fn every_table_command_is_aligned_at_80_100_120_and_200_columns() {
    let mut commands: Vec<&[&str]> = TABLE_COMMANDS.to_vec();
    commands.push(&["validate", "examples/capex-2025.toml"]);
    commands.push(&[
        "estimate",
        "--params",
        "7e9",
        "--tokens",
        "1e12",
        "--accel",
        "a100-sxm-80gb",
        "--count",
        "256",
        "--stack",
        "best",
    ]);
    for width in [80usize, 100, 120, 200] {
        for args in &commands {
            let o = bin()
                .args(*args)
                .env("COLUMNS", width.to_string())
                .current_dir(repo())
                .output()
                .expect("the binary runs");
            let cmd = format!("COLUMNS={width} {}", args.join(" "));
            assert!(o.status.success(), "{cmd}: {}", stderr(&o));
            let out = stdout(&o);
            if let Err(e) = check_layout(&out, width) {
                panic!("{cmd}: {e}\n{out}");
            }
        }
    }
}

/// Whether `out` fits `width` and its tables are straight and keep numbers whole.
fn check_layout(out: &str, width: usize) -> Result<(), String> {
    let mut top: Option<(usize, Vec<usize>)> = None;
    for (n, line) in out.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        if chars.len() > width {
            return Err(format!("line {} is {} columns wide", n + 1, chars.len()));
        }
        let Some(&first) = chars.first() else {
            continue;
        };
        let joints = |cs: &[char]| -> Vec<usize> {
            cs.iter()
                .enumerate()
                .filter(|(_, c)| matches!(c, '┬' | '┆' | '│' | '╪' | '┼' | '┴'))
                .map(|(i, _)| i)
                .filter(|&i| i > 0 && i + 1 < cs.len())
                .collect()
        };
        match first {
            '┌' => top = Some((chars.len(), joints(&chars))),
            '│' | '╞' | '├' | '└' => {
                let Some((w, cols)) = &top else {
                    return Err(format!("line {} is a table line without a top", n + 1));
                };
                if chars.len() != *w || joints(&chars) != *cols {
                    return Err(format!("line {} is out of line with its table", n + 1));
                }
                if first == '│' {
                    for cell in line.split(['│', '┆']) {
                        let cell = cell.trim();
                        let split_number = cell.ends_with('.')
                            && cell[..cell.len() - 1].ends_with(|c: char| c.is_ascii_digit());
                        if split_number {
                            return Err(format!("line {}: a number split: {cell:?}", n + 1));
                        }
                    }
                }
                if first == '└' {
                    top = None;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Issue 27: `serve`, `token` and `audit` neither offer nor take `--catalog` and `--wide`,
/// which would do nothing there; every other command still does.
#[cfg(feature = "serve")]
#[test]
fn commands_without_catalog_or_tables_do_not_offer_catalog_or_wide() {
    for sub in [&["serve"][..], &["token", "create"], &["audit", "verify"]] {
        let mut args = sub.to_vec();
        args.push("--help");
        let help = stdout(&run_in_repo(&args));
        assert!(help.contains("Usage"), "{args:?}: {help}");
        assert!(
            !help.contains("--catalog") && !help.contains("--wide"),
            "{args:?}: {help}"
        );
        let mut args = sub.to_vec();
        args.extend(["--catalog", "data/catalog.toml"]);
        let o = run_in_repo(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("reads no catalog"), "{}", stderr(&o));
    }
    let help = stdout(&run_in_repo(&["plan", "--help"]));
    assert!(
        help.contains("--catalog") && help.contains("--wide"),
        "{help}"
    );
    let o = run_in_repo(&["plan", "--wide", "--catalog", "data/catalog.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Extreme but valid inputs: the outputs stay finite and fitted.
#[test]
fn extreme_valid_inputs_print_no_nan_or_infinity() {
    let cases: &[&[&str]] = &[
        &[
            "estimate", "--params", "1e6", "--tokens", "1e6", "--accel", "h100-sxm", "--count", "1",
        ],
        &[
            "estimate",
            "--params",
            "1e13",
            "--tokens",
            "1e15",
            "--accel",
            "mlu370-x8",
            "--count",
            "100000",
        ],
        &["plan", "--objective", "min-cost", "--target", "1"],
        &["plan", "--objective", "compute-per-dollar"],
        &["check", "--as-of", "1990-01-01"],
        &["check", "--as-of", "2099-12-31"],
        &["classify", "h100-sxm", "--as-of", "2022-01-01"],
    ];
    for args in cases {
        let cmd = args.join(" ");
        for json in [false, true] {
            let mut a: Vec<&str> = args.to_vec();
            if json {
                a.push("--json");
            }
            let o = run_in_repo(&a);
            let (out, err) = (stdout(&o), stderr(&o));
            // A located refusal is an answer too; a crash is not.
            assert!(matches!(o.status.code(), Some(0 | 2)), "{cmd}: {err}");
            assert_no_bad_numbers(&cmd, &out);
            assert_no_bad_numbers(&cmd, &err);
            if !json {
                let wide = too_wide(&out);
                assert!(wide.is_empty(), "{cmd}:\n{}", wide.join("\n"));
            }
        }
    }
}

/// The entries of one `--help` page that have no description: option, argument and command
/// lines whose text after the name is empty.
fn empty_entries(help: &str) -> Vec<String> {
    let mut empty = Vec::new();
    let mut section = "";
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        if !matches!(section, "Commands:" | "Options:" | "Arguments:") {
            continue;
        }
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let is_entry = match section {
            "Commands:" => indent == 2,
            _ => body.starts_with('-') || body.starts_with('<') || body.starts_with('['),
        };
        if is_entry && body.split("  ").filter(|p| !p.trim().is_empty()).count() < 2 {
            empty.push(line.to_string());
        }
    }
    empty
}

/// The subcommands listed on a `--help` page.
fn subcommands(help: &str) -> Vec<String> {
    let mut in_commands = false;
    let mut out = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') {
            in_commands = line == "Commands:";
            continue;
        }
        if in_commands && line.len() - line.trim_start().len() == 2 {
            let name = line.split_whitespace().next().unwrap_or("");
            if name != "help" {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn no_help_entry_is_empty_in_any_command() {
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    let mut problems = Vec::new();
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let o = xpufleet(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let help = stdout(&o);
        seen += 1;
        for e in empty_entries(&help) {
            problems.push(format!("xpufleet {}: {e}", path.join(" ")));
        }
        for sub in subcommands(&help) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    assert!(seen > 15, "walked only {seen} help pages");
    assert!(
        problems.is_empty(),
        "empty help entries:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_helper_finds_an_empty_entry() {
    let help = "Usage: x\n\nArguments:\n  <NODES.json>  \n  <B>  has text\n\nOptions:\n      --json\n  -h, --help  Print help\n";
    assert_eq!(empty_entries(help).len(), 2);
}

/// The commands of the README's "A short tour" block, continuation lines joined and comments
/// dropped, as argument lists without the leading `xpufleet`.
fn tour_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("## A short tour").expect("README has a tour");
    let block = &readme[start..];
    let block = &block[block.find("```sh\n").unwrap() + 6..];
    let block = &block[..block.find("```").unwrap()];
    let mut cmds = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let code = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        let code = code.trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(code);
        let words: Vec<String> = current.split_whitespace().map(String::from).collect();
        current.clear();
        if words.is_empty() {
            continue;
        }
        assert_eq!(
            words[0], "xpufleet",
            "a tour line that is not xpufleet: {words:?}"
        );
        cmds.push(words[1..].to_vec());
    }
    cmds
}

#[test]
fn the_readme_tour_runs_as_written() {
    let cmds = tour_commands();
    assert!(cmds.len() >= 15, "the tour has {} commands", cmds.len());
    let out_dir = scratch("readme-tour");
    for (i, cmd) in cmds.iter().enumerate() {
        // Files the tour writes go to a scratch folder instead of the checkout.
        let mut args: Vec<String> = cmd.clone();
        for j in 0..args.len() {
            if args[j] == "--out" && j + 1 < args.len() {
                args[j + 1] = out_dir
                    .join(format!("{i}-{}", args[j + 1]))
                    .display()
                    .to_string();
            }
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = run_in_repo(&a);
        let line = cmd.join(" ");
        assert!(
            o.status.success(),
            "README tour: xpufleet {line}\n{}",
            stderr(&o)
        );
        let out = stdout(&o);
        assert_no_bad_numbers(&line, &out);
        if !cmd.iter().any(|w| w == "--json") {
            // Lines naming the scratch folder are longer than the tour's own would be.
            let scratch_path = out_dir.display().to_string();
            let wide: Vec<&str> = too_wide(&out)
                .into_iter()
                .filter(|l| !l.contains(&scratch_path))
                .collect();
            assert!(
                wide.is_empty(),
                "README tour: xpufleet {line}:\n{}",
                wide.join("\n")
            );
        }
    }
}
