//! Generated inputs of any size, in the shapes the real tools emit, for benchmarks and the
//! tests that keep them from rotting: a `kubectl get nodes -o json` list and a `squeue --json`
//! document. Deterministic: the same size gives the same text.

use serde_json::{json, Value};

/// A node list of `n` nodes over 8 zones: H20, H100, Ascend 910B and A3 super pods, 1 in 20 a
/// CPU node and 1 in 50 an unmapped PCIe H100, with GPU Feature Discovery and Ascend labels.
pub fn node_list(n: usize) -> String {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let zone = format!("zone-{}", i % 8);
            let mut labels = serde_json::Map::new();
            labels.insert(
                "kubernetes.io/hostname".into(),
                json!(format!("node-{i:06}")),
            );
            labels.insert("topology.kubernetes.io/zone".into(), json!(zone));
            labels.insert(
                "topology.kubernetes.io/region".into(),
                json!(format!("region-{}", i % 2)),
            );
            let mut capacity = serde_json::Map::new();
            capacity.insert("cpu".into(), json!("192"));
            capacity.insert("memory".into(), json!("2113515452Ki"));
            capacity.insert("pods".into(), json!("110"));
            let (resource, count) = match i % 100 {
                0..=4 => (None, 0),
                5 | 6 => {
                    labels.insert("nvidia.com/gpu.product".into(), json!("NVIDIA-H100-PCIe"));
                    (Some("nvidia.com/gpu"), 2)
                }
                7..=39 => {
                    labels.insert("nvidia.com/gpu.product".into(), json!("NVIDIA-H20"));
                    labels.insert("nvidia.com/gpu.count".into(), json!("8"));
                    (Some("nvidia.com/gpu"), 8)
                }
                40..=69 => {
                    labels.insert(
                        "nvidia.com/gpu.product".into(),
                        json!("NVIDIA-H100-80GB-HBM3"),
                    );
                    labels.insert("nvidia.com/gpu.count".into(), json!("8"));
                    (Some("nvidia.com/gpu"), 8)
                }
                70..=89 => {
                    labels.insert("accelerator-type".into(), json!("module-910b-8"));
                    labels.insert("node.kubernetes.io/npu.chip.name".into(), json!("910B3"));
                    (Some("huawei.com/Ascend910"), 8)
                }
                _ => {
                    labels.insert("accelerator-type".into(), json!("module-a3-16-super-pod"));
                    // Super pods of the A3 nodes of one zone in each hundred (one or two nodes).
                    labels.insert("superPodID".into(), json!(format!("{zone}-{}", i / 100)));
                    (Some("huawei.com/Ascend910"), 16)
                }
            };
            if let Some(r) = resource {
                capacity.insert(r.into(), json!(count.to_string()));
            }
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": { "name": format!("node-{i:06}"), "labels": labels,
                              "creationTimestamp": "2025-01-14T09:12:44Z" },
                "spec": { "podCIDR": format!("10.{}.{}.0/24", i / 256 % 256, i % 256) },
                "status": { "capacity": capacity.clone(), "allocatable": capacity },
            })
        })
        .collect();
    json!({ "apiVersion": "v1", "kind": "List", "metadata": { "resourceVersion": "" }, "items": items })
        .to_string()
}

/// `squeue --json` with `n` jobs: pending and running GPU jobs of 1 to 64 nodes, one in ten
/// finished, one in ten CPU-only.
pub fn squeue(n: usize) -> String {
    let num = |x: u64| json!({ "set": true, "infinite": false, "number": x });
    let jobs: Vec<Value> = (0..n)
        .map(|i| {
            let state = match i % 10 {
                0 => "COMPLETED",
                1..=3 => "RUNNING",
                _ => "PENDING",
            };
            let nodes = 1u64 << (i % 7);
            let mut j = json!({
                "job_id": 100_000 + i, "account": format!("team-{}", i % 17), "partition": "gpu",
                "job_state": [state], "submit_time": num(1_740_000_000 + i as u64 * 7),
                "time_limit": num(60 + (i as u64 % 48) * 30), "priority": num(10_000 + i as u64 % 5000),
                "node_count": num(nodes),
            });
            if i % 10 == 9 {
                j["tres_req_str"] = json!(format!("cpu={},mem=64G,node={nodes},billing=8", 8 * nodes));
            } else {
                j["tres_per_node"] = json!("gres/gpu:nvidia_h100_80gb_hbm3:8");
                j["tres_req_str"] = json!(format!("cpu={},node={nodes},gres/gpu={}", 96 * nodes, 8 * nodes));
            }
            j
        })
        .collect();
    json!({ "jobs": jobs, "meta": { "plugin": { "data_parser": "data_parser/v0.0.41" } } })
        .to_string()
}
