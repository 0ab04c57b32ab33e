//! Restricted-party lists in the layout of the US Consolidated Screening List (CSL,
//! trade.gov): the CSV download (`consolidated.csv`, one entry a row, list fields separated by
//! ';') and the JSON of its API (`{"results": [...]}`, or a bare array). Only the fields
//! screening needs are read: id (`_id`, `id` or `entity_number`), `name`, `alt_names`,
//! `addresses`, `source`, `start_date`, `end_date`. Every problem names the file, the line
//! (CSV) or entry (JSON), the field and what was expected.

use std::path::Path;

use serde_json::Value;
use xpufleet_comply::{ScreeningEntry, ScreeningList};
use xpufleet_model::Date;

use crate::diag::{Diagnostic, Diagnostics};

/// Parses a list's text; JSON when it starts with `{` or `[`, CSV otherwise.
pub fn parse_screening(text: &str, origin: &str) -> Result<ScreeningList, Diagnostics> {
    let t = text.trim_start_matches('\u{feff}');
    let entries = if t.trim_start().starts_with(['{', '[']) {
        parse_json(t, origin)?
    } else {
        parse_csv(t, origin)?
    };
    Ok(ScreeningList {
        files: vec![origin.to_string()],
        entries,
    })
}

/// Reads one list file.
pub fn read_screening_file(path: &Path) -> Result<ScreeningList, Diagnostics> {
    let origin = path.display().to_string();
    if let Err(e) = std::fs::metadata(path) {
        return Err(Diagnostics::from(Diagnostic::new(
            &origin,
            format!("cannot read the screening list: {e}"),
        )));
    }
    // A byte that is not UTF-8 is located by line and column.
    let text = crate::diag::read_text(path).map_err(Diagnostics::from)?;
    parse_screening(&text, &origin)
}

/// Reads and merges several list files.
pub fn read_screening_files(paths: &[std::path::PathBuf]) -> Result<ScreeningList, Diagnostics> {
    let mut all = ScreeningList::default();
    let mut errs = Diagnostics::default();
    for p in paths {
        match read_screening_file(p) {
            Ok(l) => {
                all.files.extend(l.files);
                all.entries.extend(l.entries);
            }
            Err(d) => errs.0.extend(d.0),
        }
    }
    if errs.is_empty() {
        Ok(all)
    } else {
        Err(errs)
    }
}

fn date(s: &str) -> Result<Option<Date>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    // The CSL gives ISO dates; some rows carry a time after the date.
    let day = s.get(..10).unwrap_or(s);
    day.parse::<Date>()
        .map(Some)
        .map_err(|_| format!("expected a date YYYY-MM-DD, found {s:?}"))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

fn parse_csv(text: &str, origin: &str) -> Result<Vec<ScreeningEntry>, Diagnostics> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rd
        .headers()
        .map_err(|e| Diagnostics::from(Diagnostic::new(origin, format!("not a CSV file: {e}"))))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let mut errs = Diagnostics::default();
    let (Some(name_c), Some(source_c)) = (col("name"), col("source")) else {
        errs.push(
            Diagnostic::new(
                origin,
                "expected a header row with at least the CSL columns `name` and `source` (and optionally `_id`, `alt_names`, `addresses`, `start_date`, `end_date`)",
            )
            .field("header"),
        );
        return Err(errs);
    };
    let id_c = col("_id")
        .or_else(|| col("id"))
        .or_else(|| col("entity_number"));
    let (alt_c, addr_c, start_c, end_c) = (
        col("alt_names"),
        col("addresses"),
        col("start_date"),
        col("end_date"),
    );
    let mut out = vec![];
    for rec in rd.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let mut d = Diagnostic::new(origin, format!("malformed CSV row: {e}"));
                if let Some(p) = e.position() {
                    d.line = Some(p.line() as usize);
                }
                errs.push(d);
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim();
        let mut bad = |field: &str, msg: String| {
            let mut d = Diagnostic::new(origin, msg).field(field);
            d.line = Some(line);
            errs.push(d);
        };
        let name = get(Some(name_c));
        if name.is_empty() {
            bad(
                "name",
                "expected the party's name, found an empty cell".into(),
            );
            continue;
        }
        let source = get(Some(source_c));
        if source.is_empty() {
            bad(
                "source",
                "expected the source list, found an empty cell".into(),
            );
        }
        let start = date(get(start_c)).unwrap_or_else(|m| {
            bad("start_date", m);
            None
        });
        let end = date(get(end_c)).unwrap_or_else(|m| {
            bad("end_date", m);
            None
        });
        let id = get(id_c);
        out.push(ScreeningEntry {
            id: if id.is_empty() {
                format!("row-{line}")
            } else {
                id.to_string()
            },
            name: name.to_string(),
            alt_names: split_list(get(alt_c)),
            addresses: split_list(get(addr_c)),
            source: source.to_string(),
            start_date: start,
            end_date: end,
            at: format!("{origin}:{line}"),
        });
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

fn parse_json(text: &str, origin: &str) -> Result<Vec<ScreeningEntry>, Diagnostics> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        let mut d = Diagnostic::new(origin, format!("malformed JSON: {e}"));
        d.line = Some(e.line());
        d.column = Some(e.column());
        Diagnostics::from(d)
    })?;
    let items = match &v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("results") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(Diagnostic::new(
                    origin,
                    "expected an array of entries or an object with a \"results\" array (the CSL API layout)",
                )
                .field("results")
                .into())
            }
        },
        _ => {
            return Err(Diagnostic::new(origin, "expected a JSON array or object").into());
        }
    };
    let mut errs = Diagnostics::default();
    let mut out = vec![];
    for (i, it) in items.iter().enumerate() {
        let at = format!("results[{i}]");
        let s = |k: &str| {
            it.get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let list = |k: &str| -> Vec<String> {
            match it.get(k) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| match x {
                        Value::String(s) => Some(s.trim().to_string()),
                        // Addresses are objects in the API: join their parts.
                        Value::Object(o) => Some(
                            ["address", "city", "state", "postal_code", "country"]
                                .iter()
                                .filter_map(|k| o.get(*k).and_then(Value::as_str))
                                .filter(|x| !x.trim().is_empty())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        _ => None,
                    })
                    .filter(|x| !x.is_empty())
                    .collect(),
                Some(Value::String(s)) => split_list(s),
                _ => vec![],
            }
        };
        let name = s("name");
        if name.is_empty() {
            errs.push(
                Diagnostic::new(origin, "expected the party's name (a string)")
                    .field(format!("{at}.name")),
            );
            continue;
        }
        let mut dates = [None, None];
        for (k, slot) in ["start_date", "end_date"].iter().zip(dates.iter_mut()) {
            match date(&s(k)) {
                Ok(d) => *slot = d,
                Err(m) => errs.push(Diagnostic::new(origin, m).field(format!("{at}.{k}"))),
            }
        }
        let id = ["id", "_id", "entity_number"]
            .iter()
            .map(|k| match it.get(*k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            })
            .find(|x| !x.is_empty())
            .unwrap_or_else(|| at.clone());
        out.push(ScreeningEntry {
            id,
            name,
            alt_names: list("alt_names"),
            addresses: list("addresses"),
            source: s("source"),
            start_date: dates[0],
            end_date: dates[1],
            at: format!("{origin} {at}"),
        });
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "_id,source,name,alt_names,addresses,start_date,end_date\n\
        e1,Entity List (EL) - Bureau of Industry and Security,ACME A.I. CO. LTD.,Acme Artificial Intelligence; AAI,\"1 Road, Beijing, CN\",2024-05-01,\n\
        e2,Specially Designated Nationals (SDN) - Treasury,Other Party,,,2020-01-01,2021-01-01\n";

    #[test]
    fn csl_csv_rows_are_read_with_their_lines() {
        let l = parse_screening(CSV, "list.csv").unwrap();
        assert_eq!(l.entries.len(), 2);
        let e = &l.entries[0];
        assert_eq!(e.id, "e1");
        assert_eq!(e.alt_names, vec!["Acme Artificial Intelligence", "AAI"]);
        assert_eq!(e.addresses, vec!["1 Road, Beijing, CN"]);
        assert_eq!(e.start_date, Some("2024-05-01".parse().unwrap()));
        assert_eq!(e.at, "list.csv:2");
        assert_eq!(l.entries[1].end_date, Some("2021-01-01".parse().unwrap()));
    }

    #[test]
    fn csl_json_results_are_read() {
        let j = r#"{"results":[{"id":"x9","name":"ACME A.I. CO. LTD.","alt_names":["AAI"],
            "addresses":[{"address":"1 Road","city":"Beijing","country":"CN"}],
            "source":"Entity List (EL) - Bureau of Industry and Security","start_date":"2024-05-01"}]}"#;
        let l = parse_screening(j, "list.json").unwrap();
        assert_eq!(l.entries[0].addresses, vec!["1 Road, Beijing, CN"]);
        assert_eq!(l.entries[0].id, "x9");
    }

    #[test]
    fn bad_lists_give_located_errors() {
        let e = parse_screening("name,source\n,EL\n", "l.csv").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("l.csv:2") && s.contains("name"), "{s}");
        let e = parse_screening("who,what\nx,y\n", "l.csv").unwrap_err();
        assert!(e.to_string().contains("`name` and `source`"), "{e}");
        let e = parse_screening("name,source,start_date\nA,EL,soon\n", "l.csv").unwrap_err();
        assert!(e.to_string().contains("start_date"), "{e}");
        let e = parse_screening("{\"results\": [{\"source\": \"EL\"}]}", "l.json").unwrap_err();
        assert!(e.to_string().contains("results[0].name"), "{e}");
        let e = parse_screening("{\"results\": [", "l.json").unwrap_err();
        assert!(e.to_string().contains("malformed JSON"), "{e}");
    }
}
