//! Verdicts, and the one question every other engine asks: "may this entity use this pool (or
//! candidate) for this workload on this date?"

use serde::{Deserialize, Serialize};
use xpufleet_model::{Date, Purpose, Review, ReviewDecision};

/// The outcome of evaluating the rules for one use, strictest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// No rule restricts this use.
    Allowed,
    /// Allowed under a licence exception (NAC, LPP, ...), within its quantity limit.
    LicenceException,
    /// A person must review this use before it goes ahead (due-diligence red flag).
    RedFlag,
    /// A licence is required and none that covers it is held.
    LicenceRequired,
    /// Not allowed at all (or presumption of denial).
    Prohibited,
}

impl Outcome {
    /// May an engine plan or place onto this? Only allowed uses and uses within a licence
    /// exception; red flags wait for a person, and a held licence turns "licence required" into
    /// "allowed" before this is asked.
    pub fn usable(self) -> bool {
        matches!(self, Outcome::Allowed | Outcome::LicenceException)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::LicenceException => "licence-exception",
            Outcome::RedFlag => "red-flag",
            Outcome::LicenceRequired => "licence-required",
            Outcome::Prohibited => "prohibited",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the user does with the chips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseKind {
    /// Buys and owns them.
    Own,
    /// Operates the data centre they sit in.
    Operate,
    /// Uses them remotely: leased capacity or IaaS.
    Remote,
}

/// The question: may `user` use `target` (a pool id or a candidate id) in this way, for a
/// workload of `workload_flops` operations, on `date`?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UseRequest {
    /// Entity id of the end user (tenant).
    pub user: String,
    /// Pool id or candidate id.
    pub target: String,
    pub kind: UseKind,
    /// Training operations of the workload, if known (some rules turn on 1e26).
    pub workload_flops: Option<f64>,
    pub date: Date,
}

/// A verdict with the rules that decided it and what would change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Ids of the rules that decided the outcome ("us-ear-2023-10/hq-d5").
    pub rules: Vec<String>,
    /// Plain-language reasons, one per deciding rule or missing verification.
    pub reasons: Vec<String>,
    /// What would lift the restriction, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub would_change: Option<String>,
    /// False when owner/operator verification is missing or expired: then no engine may use the
    /// target, whatever the outcome.
    pub verified: bool,
    /// The one answer planners and schedulers use: `Verdict::usable()` when the verdict was
    /// made, written out so that JSON readers need not repeat the reasoning.
    #[serde(default)]
    pub usable: bool,
    /// The compliance review applied to this use, if any (`[[review]]`): a cleared review that
    /// covers every deciding red flag, a denial, or an escalation of a red flag.
    #[serde(default)]
    pub review: Option<Review>,
}

impl Verdict {
    pub fn allowed() -> Verdict {
        Verdict {
            outcome: Outcome::Allowed,
            rules: vec![],
            reasons: vec![],
            would_change: None,
            verified: true,
            usable: true,
            review: None,
        }
    }

    /// A verified prohibition under `rule`, for `reason` (what a test gate or a simple policy
    /// returns; the engine builds its own from the rule packs).
    pub fn prohibited(rule: impl Into<String>, reason: impl Into<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Prohibited,
            rules: vec![rule.into()],
            reasons: vec![reason.into()],
            would_change: None,
            verified: true,
            usable: false,
            review: None,
        }
    }

    /// May an engine plan or place onto this? Verified, and either allowed or within a licence
    /// exception, or a red flag that a cleared review covers; never when a review denied it.
    /// A review never lifts a licence requirement or a prohibition.
    pub fn usable(&self) -> bool {
        let reviewed = match &self.review {
            Some(r) if r.decision == ReviewDecision::Denied => return false,
            Some(r) => r.decision == ReviewDecision::Cleared && self.outcome == Outcome::RedFlag,
            None => false,
        };
        self.verified && (self.outcome.usable() || reviewed)
    }

    /// Sets the `usable` field from the others; call after changing them.
    pub fn sealed(mut self) -> Verdict {
        self.usable = self.usable();
        self
    }

    /// Applies the officer's decision among `reviews` to this verdict for `user`'s use of
    /// `target` on `date`: the latest review in force (on a tie the strictest: denied, then
    /// escalated, then cleared). A cleared review applies only to a red flag whose every
    /// deciding rule it lists; one that misses a rule is named in the reasons instead. The
    /// outcome itself never changes: a review decides whether the use goes ahead, not what the
    /// rules say.
    pub fn review_with(
        mut self,
        reviews: &[Review],
        target: &str,
        user: &str,
        date: Date,
    ) -> Verdict {
        let rank = |d: ReviewDecision| match d {
            ReviewDecision::Denied => 2,
            ReviewDecision::Escalated => 1,
            ReviewDecision::Cleared => 0,
        };
        let latest = reviews
            .iter()
            .filter(|r| r.applies(target, user, date))
            .max_by(|a, b| (a.date, rank(a.decision)).cmp(&(b.date, rank(b.decision))));
        if let Some(r) = latest {
            match r.decision {
                ReviewDecision::Denied => {
                    self.reasons.insert(
                        0,
                        format!(
                            "review {} by {} on {}: denied ({})",
                            r.id, r.reviewer, r.date, r.evidence
                        ),
                    );
                    self.review = Some(r.clone());
                }
                ReviewDecision::Escalated if self.outcome == Outcome::RedFlag => {
                    self.review = Some(r.clone());
                }
                ReviewDecision::Escalated => {}
                ReviewDecision::Cleared if self.outcome == Outcome::RedFlag => {
                    let uncovered: Vec<&str> = self
                        .rules
                        .iter()
                        .filter(|rule| !r.rules.contains(rule))
                        .map(String::as_str)
                        .collect();
                    if uncovered.is_empty() {
                        self.review = Some(r.clone());
                    } else {
                        self.reasons.push(format!(
                            "review {} clears {} but not {}: the red flag stands",
                            r.id,
                            r.rules.join(", "),
                            uncovered.join(", ")
                        ));
                    }
                }
                ReviewDecision::Cleared => {}
            }
        }
        self.sealed()
    }

    /// One line for "why not": the outcome, the deciding rule and the first reason, the rule
    /// named once (a rule's reason starts with its own id, which the line already gives).
    pub fn summary(&self) -> String {
        let why = self.reasons.first().map(String::as_str).unwrap_or("");
        if let Some(r) = &self.review {
            let how = match r.decision {
                ReviewDecision::Cleared => "cleared",
                ReviewDecision::Denied => "denied",
                ReviewDecision::Escalated => "escalated, waiting",
            };
            if self.verified || r.decision == ReviewDecision::Denied {
                let rule = self
                    .rules
                    .first()
                    .map_or(String::new(), |r| format!(" by {r}"));
                return format!(
                    "{}{rule}, {how} by review {} until {}",
                    self.outcome, r.id, r.valid_until
                );
            }
        }
        match (self.verified, self.rules.first()) {
            (false, _) => format!("unverified: {why}"),
            (true, Some(r)) => {
                let why = why
                    .strip_prefix(r.as_str())
                    .and_then(|w| w.strip_prefix(": "))
                    .unwrap_or(why);
                format!("{} by {r}: {why}", self.outcome)
            }
            (true, None) => self.outcome.to_string(),
        }
    }
}

/// The gate the planner and the scheduler ask before they use anything. The rule engine
/// implements it; tests may implement it with a table.
pub trait Gate {
    /// The verdict for the use the target declares (`use` on the pool or candidate), or for
    /// either use when it declares none (then a rule that names one use applies).
    fn verdict(&self, req: &UseRequest) -> Verdict;

    /// The verdict for this use judged as training or as serving: a rule that names one use
    /// applies to that use only (the planner asks `Purpose::Serving` for services). A gate
    /// that knows no uses answers as `verdict`.
    fn verdict_for(&self, req: &UseRequest, purpose: Purpose) -> Verdict {
        let _ = purpose;
        self.verdict(req)
    }
}

/// A gate that allows everything: for tests and for traces with no rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Gate for AllowAll {
    fn verdict(&self, _req: &UseRequest) -> Verdict {
        Verdict::allowed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_17_a_summary_names_the_rule_once() {
        let v = Verdict::prohibited("us/d5-site", "us/d5-site: chips to D:5 need a licence");
        assert_eq!(
            v.summary(),
            "prohibited by us/d5-site: chips to D:5 need a licence"
        );
        // A reason that does not start with the rule's id is kept whole.
        let v = Verdict::prohibited("us/d5-site", "us/d5-site-2: other");
        assert_eq!(v.summary(), "prohibited by us/d5-site: us/d5-site-2: other");
        let v = Verdict::prohibited("us/d5-site", "chips to D:5 need a licence");
        assert_eq!(
            v.summary(),
            "prohibited by us/d5-site: chips to D:5 need a licence"
        );
    }
}
