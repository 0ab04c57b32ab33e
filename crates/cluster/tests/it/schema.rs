//! A validator for the subset of OpenAPI v3 that Kubernetes structural schemas (CRD
//! `openAPIV3Schema`) use, strict where the API server is lenient: unknown fields are errors
//! (the server would prune them silently, which hides typos). A keyword it does not know fails
//! validation rather than being skipped. CEL rules (`x-kubernetes-validations`) are not
//! evaluated; the export tests assert the ones that bear on our objects directly.

use std::path::Path;

use regex::Regex;
use serde_json::Value;

/// The vendored CRDs, parsed.
pub struct Crds {
    crds: Vec<Value>,
}

const KNOWN: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "pattern",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "minimum",
    "maximum",
    "maxProperties",
    "minProperties",
    "anyOf",
    "format",
    "default",
    "description",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

impl Crds {
    /// Reads every `*.yaml` under `dir` (recursively one level).
    pub fn load(dir: &Path) -> Crds {
        let mut crds = vec![];
        for sub in std::fs::read_dir(dir).unwrap() {
            let sub = sub.unwrap().path();
            if !sub.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&sub).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&f).unwrap();
                    let v: Value = serde_yaml_ng::from_str(&text).unwrap();
                    assert_eq!(v["kind"], "CustomResourceDefinition", "{}", f.display());
                    crds.push(v);
                }
            }
        }
        Crds { crds }
    }

    /// The `openAPIV3Schema` for `apiVersion` and `kind`.
    pub fn schema(&self, api_version: &str, kind: &str) -> Option<&Value> {
        let (group, version) = api_version.split_once('/')?;
        self.crds
            .iter()
            .filter(|c| c["spec"]["group"] == group && c["spec"]["names"]["kind"] == kind)
            .flat_map(|c| c["spec"]["versions"].as_array().into_iter().flatten())
            .find(|v| v["name"] == version && v["served"] == true)
            .map(|v| &v["schema"]["openAPIV3Schema"])
    }

    /// Every problem with `obj`, as `path: message`.
    pub fn validate(&self, obj: &Value) -> Vec<String> {
        let api = obj["apiVersion"].as_str().unwrap_or("");
        let kind = obj["kind"].as_str().unwrap_or("");
        let Some(schema) = self.schema(api, kind) else {
            return vec![format!("no served CRD version for {api} {kind}")];
        };
        let mut errs = vec![];
        check(schema, obj, "", &mut errs);
        // The API server validates metadata itself (the CRD says only `type: object`).
        let dns = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .unwrap();
        match obj["metadata"]["name"].as_str() {
            Some(n) if n.len() <= 253 && dns.is_match(n) => {}
            n => errs.push(format!(".metadata.name: not a DNS-1123 subdomain: {n:?}")),
        }
        if let Some(ns) = obj["metadata"].get("namespace") {
            let label = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").unwrap();
            if !ns
                .as_str()
                .is_some_and(|s| s.len() <= 63 && label.is_match(s))
            {
                errs.push(format!(".metadata.namespace: not a DNS-1123 label: {ns}"));
            }
        }
        errs
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        _ => false,
    }
}

pub fn check(s: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let Some(sm) = s.as_object() else {
        errs.push(format!("{path}: schema is not an object"));
        return;
    };
    for k in sm.keys() {
        if !KNOWN.contains(&k.as_str()) {
            errs.push(format!(
                "{path}: schema keyword {k:?} is not supported by this validator"
            ));
        }
    }
    if v.is_null() && s["nullable"] == true {
        return;
    }
    let int_or_string = s["x-kubernetes-int-or-string"] == true;
    if int_or_string {
        if !(v.is_i64() || v.is_u64() || v.is_string()) {
            errs.push(format!(
                "{path}: expected an integer or a string, found {v}"
            ));
            return;
        }
    } else if let Some(ty) = s["type"].as_str() {
        if !type_ok(ty, v) {
            errs.push(format!("{path}: expected {ty}, found {v}"));
            return;
        }
    }
    if let Some(any) = s["anyOf"].as_array() {
        let ok = any.iter().any(|alt| {
            let mut e = vec![];
            check(alt, v, path, &mut e);
            e.is_empty()
        });
        if !ok {
            errs.push(format!("{path}: matches none of anyOf"));
        }
    }
    if let Some(e) = s["enum"].as_array() {
        if !e.contains(v) {
            errs.push(format!(
                "{path}: {v} is not one of {}",
                Value::Array(e.clone())
            ));
        }
    }
    if let Some(text) = v.as_str() {
        if let Some(p) = s["pattern"].as_str() {
            match Regex::new(p) {
                Ok(re) if !re.is_match(text) => {
                    errs.push(format!("{path}: {text:?} does not match {p}"))
                }
                Ok(_) => {}
                Err(e) => errs.push(format!("{path}: pattern {p}: {e}")),
            }
        }
        let n = text.chars().count() as u64;
        if s["maxLength"].as_u64().is_some_and(|m| n > m) {
            errs.push(format!("{path}: longer than {}", s["maxLength"]));
        }
        if s["minLength"].as_u64().is_some_and(|m| n < m) {
            errs.push(format!("{path}: shorter than {}", s["minLength"]));
        }
    }
    if let Some(x) = v.as_f64().filter(|_| v.is_number()) {
        if s["minimum"].as_f64().is_some_and(|m| x < m) {
            errs.push(format!("{path}: {x} below minimum {}", s["minimum"]));
        }
        if s["maximum"].as_f64().is_some_and(|m| x > m) {
            errs.push(format!("{path}: {x} above maximum {}", s["maximum"]));
        }
        let range = match s["format"].as_str() {
            Some("int32") => Some((i32::MIN as f64, i32::MAX as f64)),
            _ => None,
        };
        if range.is_some_and(|(lo, hi)| x < lo || x > hi) {
            errs.push(format!("{path}: {x} outside int32"));
        }
    }
    if let Some(o) = v.as_object() {
        let props = s["properties"].as_object();
        for r in s["required"].as_array().into_iter().flatten() {
            if let Some(r) = r.as_str() {
                if !o.contains_key(r) {
                    errs.push(format!("{path}: missing required field {r:?}"));
                }
            }
        }
        let n = o.len() as u64;
        if s["maxProperties"].as_u64().is_some_and(|m| n > m) {
            errs.push(format!(
                "{path}: more than {} properties",
                s["maxProperties"]
            ));
        }
        if s["minProperties"].as_u64().is_some_and(|m| n < m) {
            errs.push(format!(
                "{path}: fewer than {} properties",
                s["minProperties"]
            ));
        }
        for (k, fv) in o {
            let p = format!("{path}.{k}");
            match (props.and_then(|m| m.get(k)), &s["additionalProperties"]) {
                (Some(ps), _) => check(ps, fv, &p, errs),
                (None, ap) if ap.is_object() => check(ap, fv, &p, errs),
                (None, Value::Bool(true)) => {}
                (None, _) if s["x-kubernetes-preserve-unknown-fields"] == true => {}
                (None, _)
                    if props.is_none()
                        && s["type"] == "object"
                        && s["additionalProperties"].is_null() =>
                {
                    // `type: object` with no properties (metadata): anything goes here.
                }
                (None, _) => errs.push(format!("{p}: unknown field")),
            }
        }
    }
    if let Some(a) = v.as_array() {
        let n = a.len() as u64;
        if s["maxItems"].as_u64().is_some_and(|m| n > m) {
            errs.push(format!("{path}: more than {} items", s["maxItems"]));
        }
        if s["minItems"].as_u64().is_some_and(|m| n < m) {
            errs.push(format!("{path}: fewer than {} items", s["minItems"]));
        }
        if let Some(items) = s.get("items") {
            for (i, x) in a.iter().enumerate() {
                check(items, x, &format!("{path}[{i}]"), errs);
            }
        }
        match s["x-kubernetes-list-type"].as_str() {
            Some("map") => {
                let keys: Vec<&str> = s["x-kubernetes-list-map-keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut seen = vec![];
                for x in a {
                    let k: Vec<&Value> = keys.iter().map(|k| &x[*k]).collect();
                    if seen.contains(&k) {
                        errs.push(format!("{path}: duplicate list-map key {k:?}"));
                    }
                    seen.push(k);
                }
            }
            Some("set") => {
                for (i, x) in a.iter().enumerate() {
                    if a[..i].contains(x) {
                        errs.push(format!("{path}: duplicate set item {x}"));
                    }
                }
            }
            _ => {}
        }
    }
}
