//! Criterion benches of the cluster formats: importing a 10,000-node `kubectl get nodes -o json`
//! list and a 100,000-job `squeue --json`, and exporting Kueue policy for the imported fleet.
//! The small sizes run as tests (`tests/it/main.rs`, `bench_sizes_run`).

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_cluster::k8s::{import_nodes, NodeOptions};
use xpufleet_cluster::queue::{import_squeue, QueueOptions};
use xpufleet_cluster::{synth, Mapping};

fn nodes(c: &mut Criterion) {
    let text = synth::node_list(10_000);
    let m = Mapping::default();
    let mut g = c.benchmark_group("import");
    g.sample_size(10);
    g.bench_function("kubernetes-10k-nodes", |b| {
        b.iter(|| import_nodes("nodes.json", &text, &m, &NodeOptions::default()).unwrap())
    });
    let sq = synth::squeue(100_000);
    let opts = QueueOptions::default();
    g.bench_function("squeue-100k-jobs", |b| {
        b.iter(|| import_squeue("squeue.json", &sq, &m, &opts).unwrap())
    });
    g.finish();
}

criterion_group!(benches, nodes);
criterion_main!(benches);
