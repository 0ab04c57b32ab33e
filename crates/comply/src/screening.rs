//! Party screening: every entity of a scenario (owners, operators, lessors, tenants and their
//! parents) against a restricted-party list in the layout of the US Consolidated Screening
//! List (name, alternative names, addresses, source list, dates).
//!
//! Matching is fuzzy on purpose: lists spell names their own way ("ACME A.I. CO., LTD." for
//! "Acme AI Ltd"). Names are normalised (case, punctuation, common company suffixes dropped,
//! words sorted) and compared by normalised Levenshtein similarity; a pair at or above the
//! threshold is a hit. Every hit is a finding for a person to review, never silently dropped,
//! and never silently cleared: a hit on a false match is dismissed by a person, not by the tool.

use serde::Serialize;
use xpufleet_model::{Date, Entities};

/// The similarity at or above which a name pair is a hit (0..=1; 1 is the same normalised name).
pub const DEFAULT_THRESHOLD: f64 = 0.88;

/// The name matcher's version: `normalise`, `similarity` and `screen`. Change it whenever they
/// would give a different answer for the same input, so that a screening's answer says which
/// matcher made it: (the lists' SHA-256, this version, the threshold, the parties) reproduce it.
pub const MATCHER_VERSION: &str = "comply-screening-1";

/// One entry of a screening list (a CSL row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreeningEntry {
    /// The list's own id of the entry ("_id" / "id" in the CSL).
    pub id: String,
    pub name: String,
    pub alt_names: Vec<String>,
    pub addresses: Vec<String>,
    /// The source list ("Entity List (EL) - Bureau of Industry and Security").
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// Where in the file it came from ("list.csv:12").
    pub at: String,
}

impl ScreeningEntry {
    /// On the list on `date`: started (or no start given) and not ended.
    pub fn listed_on(&self, date: Date) -> bool {
        self.start_date.is_none_or(|s| s <= date) && self.end_date.is_none_or(|e| date <= e)
    }
}

/// A loaded list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScreeningList {
    /// The files it was read from.
    pub files: Vec<String>,
    pub entries: Vec<ScreeningEntry>,
}

/// A scenario entity whose name (or whose parent's) matches a list entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreeningHit {
    /// The entity screened.
    pub entity: String,
    pub entity_name: String,
    /// Its roles in the scenario: company, owner, operator, lessor, tenant, parent.
    pub roles: Vec<String>,
    pub entry_id: String,
    /// The entry's name or alternative name that matched.
    pub matched_name: String,
    pub entry_name: String,
    pub source: String,
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<Date>,
    /// Similarity of the normalised names (0..=1).
    pub score: f64,
    pub at: String,
}

/// Lower-case, punctuation to spaces, company-form words dropped, words sorted.
pub fn normalise(name: &str) -> String {
    const FORMS: &[&str] = &[
        "co",
        "company",
        "corp",
        "corporation",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "plc",
        "pte",
        "sdn",
        "bhd",
        "gmbh",
        "ag",
        "sa",
        "bv",
        "nv",
        "kk",
        "group",
        "holdings",
        "holding",
        "the",
    ];
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else if c == '.' || c == '\'' {
                // "A.I." and "Acme's" stay one word.
                '\0'
            } else {
                ' '
            }
        })
        .filter(|c| *c != '\0')
        .collect();
    let mut words: Vec<&str> = cleaned
        .split_whitespace()
        .filter(|w| !FORMS.contains(w))
        .collect();
    words.sort_unstable();
    words.join(" ")
}

/// 1 - Levenshtein distance / length of the longer string, over characters.
pub fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let n = a.len().max(b.len());
    if n == 0 {
        return 1.0;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    1.0 - prev[b.len()] as f64 / n as f64
}

/// Screens each `(entity id, roles)` (and the entity's parents, which inherit a "parent of"
/// role) against the entries listed on `date` (every entry when `None`). Returns every hit at or above `threshold`,
/// best first per entity.
pub fn screen(
    list: &ScreeningList,
    entities: &Entities,
    parties: &[(String, Vec<String>)],
    date: Option<Date>,
    threshold: f64,
) -> Vec<ScreeningHit> {
    // Each entity once, with all its roles; parents join with the role "parent of X".
    let mut who: Vec<(String, Vec<String>)> = vec![];
    let mut add = |id: &str, role: String| match who.iter_mut().find(|(e, _)| e == id) {
        Some((_, roles)) => {
            if !roles.contains(&role) {
                roles.push(role)
            }
        }
        None => who.push((id.to_string(), vec![role])),
    };
    for (id, roles) in parties {
        for r in roles {
            add(id, r.clone());
        }
        if let Ok(chain) = entities.chain(id) {
            for p in chain.iter().skip(1) {
                add(&p.id, format!("parent of {id}"));
            }
        }
    }
    let listed: Vec<(&ScreeningEntry, Vec<(String, String)>)> = list
        .entries
        .iter()
        .filter(|e| date.is_none_or(|d| e.listed_on(d)))
        .map(|e| {
            let names = std::iter::once(&e.name)
                .chain(&e.alt_names)
                .map(|n| (n.clone(), normalise(n)))
                .collect();
            (e, names)
        })
        .collect();
    let mut hits = vec![];
    for (id, roles) in who {
        let Some(ent) = entities.get(&id) else {
            continue;
        };
        let mine = normalise(&ent.name);
        let mut found: Vec<ScreeningHit> = vec![];
        for (e, names) in &listed {
            let best = names
                .iter()
                .map(|(raw, norm)| (raw, similarity(&mine, norm)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((raw, score)) = best {
                if score >= threshold {
                    found.push(ScreeningHit {
                        entity: id.clone(),
                        entity_name: ent.name.clone(),
                        roles: roles.clone(),
                        entry_id: e.id.clone(),
                        matched_name: raw.clone(),
                        entry_name: e.name.clone(),
                        source: e.source.clone(),
                        addresses: e.addresses.clone(),
                        start_date: e.start_date,
                        end_date: e.end_date,
                        score,
                        at: e.at.clone(),
                    });
                }
            }
        }
        found.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.entry_id.cmp(&b.entry_id))
        });
        hits.extend(found);
    }
    hits
}

impl ScreeningHit {
    /// The entry was on its list on `date`.
    pub fn listed_on(&self, date: Date) -> bool {
        self.start_date.is_none_or(|s| s <= date) && self.end_date.is_none_or(|e| date <= e)
    }
}

/// A list bound to a scenario: every entity screened once (dates are applied per question).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Screening {
    pub files: Vec<String>,
    pub threshold: f64,
    /// Entries in the list, all dates.
    pub entries: usize,
    /// Entities screened, with their roles.
    pub screened: Vec<(String, Vec<String>)>,
    /// Every hit, whatever its dates.
    pub hits: Vec<ScreeningHit>,
}

/// What `check` reports about screening on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreeningReport {
    pub files: Vec<String>,
    pub threshold: f64,
    pub entries: usize,
    /// Entity ids screened (with parents).
    pub screened: Vec<String>,
    /// Hits whose entry is listed on the date.
    pub hits: Vec<ScreeningHit>,
    /// SHA-256 of each list file's text (lower-case hex), in the order of `files`, when the
    /// caller read the files (`check --screening`); with `matcher_version`, the threshold and
    /// the scenario, what reproduces these hits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sha256: Vec<String>,
    /// `MATCHER_VERSION`.
    pub matcher_version: String,
    /// The previous version of the list the hits were compared with (`--screening-previous`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousList>,
    /// Hits the list gives that the previous one did not (a hit is an entity and a list entry
    /// id, both listed on the date); each needs a person's review. Only with `previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_hits: Option<Vec<ScreeningHit>>,
    /// Hits the previous list gave that this one no longer does (delisted, renamed past the
    /// threshold, or no longer listed on the date). Only with `previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleared_hits: Option<Vec<ScreeningHit>>,
}

/// The previous version of a list, as `ScreeningReport::previous` names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousList {
    pub files: Vec<String>,
    pub sha256: Vec<String>,
    pub entries: usize,
    /// Its hits on the date.
    pub hits: usize,
}

impl ScreeningReport {
    /// Compares these hits with `before`'s (the same parties screened against the previous
    /// list on the same date, with the same threshold) and records the new and cleared ones.
    pub fn compare_with(&mut self, before: &ScreeningReport) {
        let key = |h: &ScreeningHit| (h.entity.clone(), h.entry_id.clone());
        let old: std::collections::BTreeSet<_> = before.hits.iter().map(key).collect();
        let now: std::collections::BTreeSet<_> = self.hits.iter().map(key).collect();
        self.new_hits = Some(
            self.hits
                .iter()
                .filter(|h| !old.contains(&key(h)))
                .cloned()
                .collect(),
        );
        self.cleared_hits = Some(
            before
                .hits
                .iter()
                .filter(|h| !now.contains(&key(h)))
                .cloned()
                .collect(),
        );
        self.previous = Some(PreviousList {
            files: before.files.clone(),
            sha256: before.sha256.clone(),
            entries: before.entries,
            hits: before.hits.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_across_spellings() {
        assert_eq!(normalise("ACME A.I. CO., LTD."), "acme ai");
        assert_eq!(normalise("Acme AI Ltd"), "acme ai");
        assert_eq!(
            normalise("Lion City GPU Cloud Pte. Ltd."),
            "city cloud gpu lion"
        );
    }

    #[test]
    fn similarity_is_one_for_equal_and_drops_with_edits() {
        assert_eq!(similarity("abc", "abc"), 1.0);
        assert!((similarity("kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("a", ""), 0.0);
    }
}
