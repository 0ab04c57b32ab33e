//! The example job specs under `deploy/` (issue 18): the Kubernetes Indexed Job validates
//! against the vendored batch/v1 Job schema, the Slurm array script parses (`bash -n`), and
//! both split the sweep into as many shards as they run tasks.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::schema;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Job schema with every `$ref` inlined (the definitions reachable from a Job do not
/// refer back to themselves).
fn job_schema() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/kubernetes/batch-v1-job.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let defs = doc["$defs"].as_object().unwrap().clone();
    fn inline(v: &Value, defs: &serde_json::Map<String, Value>, depth: usize) -> Value {
        assert!(depth < 64, "the Job schema refers back to itself");
        match v {
            Value::Object(o) => {
                if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                    let name = r.trim_start_matches("#/$defs/");
                    let mut target = inline(&defs[name], defs, depth + 1);
                    // Keys beside a $ref (nullable) add to the referenced schema.
                    for (k, x) in o.iter().filter(|(k, _)| *k != "$ref") {
                        target[k] = inline(x, defs, depth + 1);
                    }
                    return target;
                }
                Value::Object(
                    o.iter()
                        .map(|(k, x)| (k.clone(), inline(x, defs, depth + 1)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| inline(x, defs, depth + 1)).collect()),
            x => x.clone(),
        }
    }
    inline(&defs[doc["root"].as_str().unwrap()], &defs, 0)
}

fn job() -> Value {
    let text = std::fs::read_to_string(repo().join("deploy/k8s/sweep-indexed-job.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn errors(schema: &Value, v: &Value) -> Vec<String> {
    let mut errs = vec![];
    schema::check(schema, v, "", &mut errs);
    errs
}

#[test]
fn the_indexed_job_is_a_valid_batch_v1_job() {
    let s = job_schema();
    let j = job();
    assert_eq!(errors(&s, &j), Vec::<String>::new());
    assert_eq!(
        (j["apiVersion"].as_str(), j["kind"].as_str()),
        (Some("batch/v1"), Some("Job"))
    );
    assert_eq!(j["spec"]["completionMode"], "Indexed");
    // The validator is not a yes-machine: a typo, a wrong type and a missing container name fail.
    let mut bad = j.clone();
    bad["spec"]["paralelism"] = 16.into();
    assert!(errors(&s, &bad).iter().any(|e| e.contains("paralelism")));
    let mut bad = j.clone();
    bad["spec"]["completions"] = "sixteen".into();
    assert!(!errors(&s, &bad).is_empty());
    let mut bad = j.clone();
    bad["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    assert!(
        errors(&s, &bad).iter().any(|e| e.contains("name")),
        "{:?}",
        errors(&s, &bad)
    );
}

#[test]
fn the_indexed_job_runs_one_shard_per_index() {
    let j = job();
    let n = j["spec"]["completions"].as_u64().unwrap();
    assert_eq!(j["spec"]["parallelism"].as_u64(), Some(n));
    let args = j["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap();
    assert!(args.contains("xpufleet sweep"), "{args}");
    assert!(
        args.contains(&format!("--shard \"${{JOB_COMPLETION_INDEX}}/{n}\"")),
        "{args}"
    );
}

#[test]
fn the_slurm_array_parses_and_runs_one_shard_per_task() {
    let p = repo().join("deploy/slurm/sweep-array.sbatch");
    let o = std::process::Command::new("bash")
        .arg("-n")
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&p).unwrap();
    let range = text
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .unwrap();
    let (lo, hi) = range.split_once('-').unwrap();
    let tasks = hi.parse::<u64>().unwrap() - lo.parse::<u64>().unwrap() + 1;
    assert_eq!(lo, "0");
    assert!(text.contains(&format!("SHARDS={tasks}\n")), "{range}");
    assert!(text.contains("--shard \"${SLURM_ARRAY_TASK_ID}/${SHARDS}\""));
}
