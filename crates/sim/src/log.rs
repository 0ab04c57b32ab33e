//! The event log: one JSON object per line, enough for an independent checker to replay the run
//! and re-verify it (capacity, gangs, verdicts).

use serde::{Deserialize, Serialize};
use xpufleet_model::SimTime;

/// A pool as the log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogPool {
    pub id: String,
    pub accel_type: String,
    pub site: String,
    pub nodes: u32,
    pub accels_per_node: u32,
}

/// One line of the event log. Every line after the first carries `t`, and lines are in the
/// order the simulator processed them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "kebab-case")]
pub enum LogEvent {
    /// First line: the fleet and the (tenant, pool) pairs the verdicts deny.
    Fleet {
        policy: String,
        seed: u64,
        pools: Vec<LogPool>,
        denied: Vec<(u32, u32)>,
    },
    /// A job is submitted.
    Arrive {
        t: SimTime,
        job: u32,
        accels: u32,
        tenant: u32,
        /// The job may be placed across sites (written only when true, so logs of jobs that
        /// may not are unchanged).
        #[serde(default, skip_serializing_if = "is_false")]
        may_span_sites: bool,
        /// A moldable job's smallest gang (written only for moldable jobs, so rigid jobs' logs
        /// are unchanged): it may start with any of its sizes from this to `accels`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_accels: Option<u32>,
    },
    /// A job can never run on this fleet; it leaves the queue.
    Reject {
        t: SimTime,
        job: u32,
        reason: String,
    },
    /// A gang starts: `slots` are `[pool, node, count]`.
    Start {
        t: SimTime,
        job: u32,
        accel_type: String,
        slots: Vec<[u32; 3]>,
    },
    /// A running job is stopped and requeued by the policy.
    Preempt { t: SimTime, job: u32 },
    /// A job completes.
    Finish { t: SimTime, job: u32 },
    /// An accelerator on `node` of `pool` fails; `job`, if any, was running on it and is stopped
    /// (all its slots freed) before the accelerator goes down.
    Fail {
        t: SimTime,
        pool: u32,
        node: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        job: Option<u32>,
    },
    /// A failed accelerator on `node` of `pool` is back.
    Repair { t: SimTime, pool: u32, node: u32 },
    /// `pool` arrives (`present`) or leaves: a purchase delivered, a lease ended. A pool that
    /// arrives later is logged as leaving at the start. The jobs on a leaving pool are stopped
    /// first (a `preempt` line each).
    Capacity {
        t: SimTime,
        pool: u32,
        present: bool,
    },
}

impl LogEvent {
    pub fn time(&self) -> Option<SimTime> {
        match self {
            LogEvent::Fleet { .. } => None,
            LogEvent::Arrive { t, .. }
            | LogEvent::Reject { t, .. }
            | LogEvent::Start { t, .. }
            | LogEvent::Preempt { t, .. }
            | LogEvent::Finish { t, .. }
            | LogEvent::Fail { t, .. }
            | LogEvent::Repair { t, .. }
            | LogEvent::Capacity { t, .. } => Some(*t),
        }
    }
}

/// The log as JSONL text.
pub fn to_jsonl(events: &[LogEvent]) -> String {
    let mut s = String::with_capacity(events.len() * 64);
    for e in events {
        s.push_str(&serde_json::to_string(e).expect("log events serialise"));
        s.push('\n');
    }
    s
}

fn is_false(b: &bool) -> bool {
    !*b
}
