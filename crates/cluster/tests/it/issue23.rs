//! Issue 23: exports that cannot be injected, and imports that cannot be made to count a node
//! twice or to exhaust memory. Exports are parsed back (YAML documents, Slurm lines as Slurm
//! splits them) and compared with the export of a benign policy: hostile text may change
//! comments, never an object, a partition or a field.

use proptest::prelude::*;
use serde_json::{json, Value};
use xpufleet_cluster::export::{self, ExportOptions};
use xpufleet_cluster::k8s::{import_nodes, NodeOptions};
use xpufleet_cluster::policy::{Access, PoolInfo};
use xpufleet_cluster::{slurm, Mapping, Policy};

/// Characters some parser takes as the end of a line: YAML 1.1 (libyaml) takes NEL, U+2028 and
/// U+2029 as line breaks as well as `\n` and `\r`.
const BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// Two pools at two sites, two tenants; `text` goes into every free-text field (the scenario
/// name, verdict summaries, citations, the country), `ids` maps each id before use.
fn policy(text: &str, ids: &dyn Fn(&str) -> String) -> Policy {
    let pools = vec![
        PoolInfo {
            id: ids("my-h100"),
            site: ids("my-johor"),
            country: format!("MY{text}"),
            accelerator: ids("h100-sxm"),
            nodes: 4,
            accels_per_node: 8,
            scaleup_domain: 8,
        },
        PoolInfo {
            id: ids("cn-h100"),
            site: ids("cn-wuhu"),
            country: "CN".into(),
            accelerator: ids("h100-sxm"),
            nodes: 2,
            accels_per_node: 8,
            scaleup_domain: 8,
        },
    ];
    let tenants = vec![ids("acme-ai"), ids("globex")];
    let mut access = vec![];
    for p in &pools {
        for t in &tenants {
            // The Chinese pool is prohibited to everyone; globex may not use any.
            let usable = p.site.contains("johor") && t.contains("acme");
            access.push(Access {
                pool: p.id.clone(),
                tenant: t.clone(),
                usable,
                outcome: if usable { "allowed" } else { "prohibited" }.into(),
                verified: true,
                rules: vec!["r1".into()],
                summary: format!("prohibited by r1: {text}"),
                citations: vec![format!("r1: 88 FR 73458 {text}")],
            });
        }
    }
    Policy {
        scenario: format!("demo{text}"),
        as_of: "2025-06-01".parse().unwrap(),
        tenants,
        pools,
        access,
    }
}

fn same(s: &str) -> String {
    s.to_string()
}

fn all(p: &Policy) -> Result<Vec<export::File>, String> {
    let (m, c) = (Mapping::default(), xpufleet_io::builtin_catalog());
    let mut files =
        export::kueue(p, &m, &c, &ExportOptions { taints: true }).map_err(|e| e.to_string())?;
    files.extend(export::volcano(p, &m, &c).map_err(|e| e.to_string())?);
    files.extend(export::slurm(p, &m).map_err(|e| e.to_string())?);
    Ok(files)
}

/// What a file means to its reader: YAML documents as values; Slurm lines split at every line
/// break any parser knows, comments cut at `#`, as `key=value` fields.
fn meaning(f: &export::File) -> Vec<String> {
    if f.name.ends_with(".yaml") {
        return serde_yaml_ng::Deserializer::from_str(&f.text)
            .map(|d| {
                let v: Value = serde::Deserialize::deserialize(d)
                    .unwrap_or_else(|e| panic!("{} does not parse back: {e}\n{}", f.name, f.text));
                v.to_string()
            })
            .collect();
    }
    f.text
        .split(BREAKS)
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| format!("{:?}", slurm::fields(l)))
        .collect()
}

/// Hostile text in every free-text field leaves every object and line as the benign policy's.
fn check_text_cannot_inject(text: &str) {
    let benign = all(&policy("", &same)).unwrap();
    let hostile = all(&policy(text, &same)).unwrap();
    assert_eq!(benign.len(), hostile.len());
    for (b, h) in benign.iter().zip(&hostile) {
        let (mb, mh) = (meaning(b), meaning(h));
        // The cohort's name is made from the scenario's; nothing else may differ.
        let strip = |v: Vec<String>| -> Vec<String> {
            v.into_iter()
                .map(|d| {
                    let mut v: Value = serde_json::from_str(&d).unwrap_or(Value::Null);
                    if v["kind"] == "Cohort" {
                        v["metadata"]["name"] = json!("-");
                    }
                    if v["kind"] == "ClusterQueue" {
                        v["spec"]["cohortName"] = json!("-");
                    }
                    if v.is_null() {
                        d
                    } else {
                        v.to_string()
                    }
                })
                .collect()
        };
        assert_eq!(strip(mb), strip(mh), "{}:\n{}", h.name, h.text);
        // No line break but `\n` anywhere, and no comment line that does not start with `#`.
        assert!(!h.text.contains(&BREAKS[1..]), "{}: {:?}", h.name, h.text);
    }
}

#[test]
fn hostile_text_in_names_verdicts_and_citations_stays_in_comments() {
    for text in [
        "\nPartitionName=open Nodes=ALL AllowAccounts=ALL State=UP",
        "\r\nPartitionName=open Nodes=ALL",
        "\n---\napiVersion: kueue.x-k8s.io/v1beta2\nkind: ClusterQueue\nmetadata: {name: evil}",
        "\u{2028}kind: Queue\u{2029}x: 1\u{85}y: 2",
        "\" # ' : , = [ ] { } \\ \t\x0b\x0c \u{0}\u{1b}[31m \u{202e}\u{feff}\u{200b}",
    ] {
        check_text_cannot_inject(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any text made of the characters that mean something to Slurm, YAML or a terminal.
    #[test]
    fn no_text_can_add_an_object_or_a_line(
        text in proptest::collection::vec(prop::sample::select(vec![
            "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}", "#", ":", "-", "---", "'", "\"", ",",
            "=", "[", "]", "{", "}", "|", ">", "&", "*", "!", "%", "@", "`", " ", "\t", "\u{0}",
            "\u{1b}", "\u{202e}", "PartitionName=x", "kind: Queue", "é", "\\",
        ]), 0..24).prop_map(|v| v.concat())
    ) {
        check_text_cannot_inject(&text);
    }
}

#[test]
fn hostile_ids_are_refused_by_every_export() {
    for bad in [
        "x\nPartitionName=open",
        "x#y",
        "x: y",
        "x\"y",
        "x,y",
        "x\u{2028}y",
        "x y",
        "..",
        "",
    ] {
        for target in ["my-h100", "my-johor", "h100-sxm", "globex"] {
            let p = policy("", &|s| {
                if s == target {
                    bad.to_string()
                } else {
                    s.to_string()
                }
            });
            let (m, c) = (Mapping::default(), xpufleet_io::builtin_catalog());
            let errs = [
                export::kueue(&p, &m, &c, &ExportOptions::default()).map(|_| ()),
                export::volcano(&p, &m, &c).map(|_| ()),
                export::slurm(&p, &m).map(|_| ()),
            ];
            for e in errs {
                let e = e.expect_err("a hostile id was exported").to_string();
                assert!(
                    e.contains("is not allowed in an export"),
                    "{target} {bad:?}: {e}"
                );
                assert!(!e.contains(BREAKS), "{e:?}");
            }
        }
    }
}

#[test]
fn ids_that_would_share_a_name_are_refused() {
    // Two tenants named one ClusterQueue: the second would replace the first.
    let p = policy("", &|s| {
        if s == "globex" {
            "acme.ai".into()
        } else {
            s.into()
        }
    });
    let (m, c) = (Mapping::default(), xpufleet_io::builtin_catalog());
    let e = export::kueue(&p, &m, &c, &ExportOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("\"acme-ai\" and \"acme.ai\" would both be named \"acme-ai\""),
        "{e}"
    );
    assert!(export::volcano(&p, &m, &c).is_err());
    // Two pools named one partition.
    let p = policy("", &|s| {
        if s == "cn-h100" {
            "my.h100".into()
        } else {
            s.into()
        }
    });
    let e = export::slurm(&p, &m).unwrap_err();
    assert!(
        e.to_string().contains("would both be named \"my-h100\""),
        "{e}"
    );
}

#[test]
fn a_mapped_gres_type_that_is_not_an_id_is_refused() {
    let m = Mapping::with_user(
        "[[product]]\nkeys = [\"slurm:gres/gpu\"]\nvalues = [\"h100\\nPartitionName=x\"]\naccelerator = \"h100-sxm\"\n",
        "map.toml",
    )
    .unwrap();
    let e = export::slurm(&policy("", &same), &m)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("gres type") && e.contains("is not allowed"),
        "{e}"
    );
}

// ---------------------------------------------------------------- imports

fn node(name: &str, zone: &str) -> Value {
    json!({"kind": "Node", "metadata": {"name": name, "labels": {
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
        "topology.kubernetes.io/zone": zone,
    }}, "status": {"capacity": {"nvidia.com/gpu": "8"}}})
}

#[test]
fn a_kubernetes_site_label_that_is_not_an_id_is_a_located_error() {
    let list = json!({"kind": "List", "items": [node("g1", "dc1"), node("g2", "dc1\n[[pool]]")]});
    let e = import_nodes(
        "n.json",
        &list.to_string(),
        &Mapping::default(),
        &NodeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "n.json: items[1] (node g2).metadata.labels[\"topology.kubernetes.io/zone\"]: expected a site id"
        ),
        "{e}"
    );
    assert!(
        e.contains("found \"dc1\\n[[pool]]\" (it contains U+000A)"),
        "{e}"
    );
}

#[test]
fn a_node_listed_twice_is_an_error_not_counted_twice() {
    let list =
        json!({"kind": "List", "items": [node("g1", "dc1"), node("g2", "dc1"), node("g1", "dc1")]});
    let e = import_nodes(
        "n.json",
        &list.to_string(),
        &Mapping::default(),
        &NodeOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "n.json: items[2].metadata.name: expected each node listed once (it is also items[0]), found \"g1\" again"
    );

    let opts = slurm::SlurmOptions {
        site: Some("dc1".into()),
        country: None,
    };
    let scontrol =
        "NodeName=g1 Gres=gpu:h100:8\nNodeName=g2 Gres=gpu:h100:8\nNodeName=g1 Gres=gpu:h100:8\n";
    let e = slurm::import_nodes(
        "n.txt",
        scontrol,
        slurm::SlurmFiles::default(),
        &Mapping::default(),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "n.txt: line 3: NodeName: expected each node once (it is also at line 1), found \"g1\" again"
    );
    let conf = "NodeName=g[1-4] Gres=gpu:h100:8\nNodeName=g[4-5] Gres=gpu:h100:8\n";
    let e = slurm::import_nodes(
        "n.txt",
        "",
        slurm::SlurmFiles {
            conf: Some(("slurm.conf", conf)),
            ..Default::default()
        },
        &Mapping::default(),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "slurm.conf: line 2: NodeName: expected each node once (it is also at line 1), found \"g4\" again"
    );
    // A node in both the scontrol output and slurm.conf is one node (the conf fills its gres).
    let inv = slurm::import_nodes(
        "n.txt",
        "NodeName=g1 Gres=(null)\n",
        slurm::SlurmFiles {
            conf: Some((
                "slurm.conf",
                "NodeName=g[1-2] Gres=gpu:nvidia_h100_80gb_hbm3:8\n",
            )),
            ..Default::default()
        },
        &Mapping::default(),
        &opts,
    )
    .unwrap();
    assert_eq!(inv.pool[0]["nodes"], json!(2));
}

#[test]
fn a_68_byte_hostlist_cannot_exhaust_memory() {
    // 10^18 names in 68 bytes.
    let bomb = "NodeName=n[000000-999999]x[000000-999999]y[000000-999999] Gres=gpu:8";
    assert_eq!(bomb.len(), 68);
    let opts = slurm::SlurmOptions {
        site: Some("dc1".into()),
        country: None,
    };
    let e = slurm::import_nodes(
        "n.txt",
        "",
        slurm::SlurmFiles {
            conf: Some(("slurm.conf", bomb)),
            ..Default::default()
        },
        &Mapping::default(),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("slurm.conf: line 1: NodeName: expected a Slurm hostlist naming at most 1000000 more hosts"),
        "{e}"
    );
    // The limit is for the whole import: many lines under it each do not add up past it.
    let many = "NodeName=a[0-599999] Gres=gpu:8\nNodeName=b[0-599999] Gres=gpu:8\n";
    let e = slurm::import_nodes(
        "n.txt",
        "",
        slurm::SlurmFiles {
            conf: Some(("slurm.conf", many)),
            ..Default::default()
        },
        &Mapping::default(),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "slurm.conf: line 2: NodeName: expected a Slurm hostlist naming at most 400000 more"
        ),
        "{e}"
    );
    for (conf, at) in [
        (
            "Name=gpu Type=h100 File=/dev/nvidia[0-999999][0-999999]\n",
            "gres.conf: line 1: File",
        ),
        (
            "NodeName=n[0-999999]m[0-9] Name=gpu Type=h100 Count=8\n",
            "gres.conf: line 1: NodeName",
        ),
    ] {
        let e = slurm::import_nodes(
            "n.txt",
            "NodeName=g1 Gres=gpu:8\n",
            slurm::SlurmFiles {
                gres: Some(("gres.conf", conf)),
                ..Default::default()
            },
            &Mapping::default(),
            &opts,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with(at) && e.contains("at most"), "{e}");
    }
    let e = slurm::import_nodes(
        "n.txt",
        "NodeName=g1 Gres=gpu:h100:8\n",
        slurm::SlurmFiles {
            topology: Some(("topology.conf", "BlockName=b1 Nodes=n[0-99999999]\n")),
            ..Default::default()
        },
        &Mapping::default(),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("topology.conf: line 1: Nodes: expected a Slurm hostlist naming at most"),
        "{e}"
    );
}

#[test]
fn the_imported_fragment_keeps_hostile_node_names_in_comments() {
    let mut cpu = node("cpu\n[[pool]]\nid = \"evil\"", "dc1");
    cpu["status"]["capacity"] = json!({});
    let list = json!({"kind": "List", "items": [node("g1", "dc1"), cpu]});
    let inv = import_nodes(
        "n\u{2028}.json",
        &list.to_string(),
        &Mapping::default(),
        &NodeOptions::default(),
    )
    .unwrap();
    let toml_text = inv.to_toml("n\u{2028}.json");
    let v: toml::Table = toml::from_str(&toml_text).unwrap();
    assert_eq!(v["pool"].as_array().unwrap().len(), 1, "{toml_text}");
    assert!(!toml_text.contains(&BREAKS[1..]), "{toml_text:?}");
    assert!(
        toml_text.contains("#   cpu [[pool]] id = \"evil\": no-accelerator"),
        "{toml_text}"
    );
}
