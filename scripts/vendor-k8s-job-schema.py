#!/usr/bin/env python3
"""Vendors the Kubernetes batch/v1 Job schema for the deploy/ tests (crates/cluster/tests/it/deploy.rs).

Input: `_definitions.json` of a Kubernetes release in kubernetes-validate's "local-strict" JSON
schemas (generated from the Kubernetes OpenAPI spec, Apache-2.0), e.g. from the PyPI wheel
kubernetes-validate 1.37.0: kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict/.
Output: the definitions reachable from io.k8s.api.batch.v1.Job, descriptions dropped, in the
OpenAPI structural subset that crates/cluster/tests/it/schema.rs validates ($ref kept as
"#/$defs/NAME" and inlined by the test).

    python3 scripts/vendor-k8s-job-schema.py _definitions.json > crates/cluster/schemas/kubernetes/batch-v1-job.json
"""
import json
import re
import sys

DROP = {"description", "x-kubernetes-group-version-kind", "x-kubernetes-patch-merge-key",
        "x-kubernetes-patch-strategy", "x-kubernetes-unions", "$schema", "$id"}


def convert(s):
    if isinstance(s, list):
        return [convert(x) for x in s]
    if not isinstance(s, dict):
        return s
    if "oneOf" in s:
        types = sorted(t for alt in s["oneOf"] for t in alt.get("type", []) if t != "null")
        if types == ["integer", "string"]:
            return {"x-kubernetes-int-or-string": True, "nullable": True}
        if types == ["number", "string"]:
            return {"anyOf": [{"type": "string"}, {"type": "number"}], "nullable": True}
        raise SystemExit(f"unhandled oneOf: {s}")
    out = {}
    for k, v in s.items():
        if k in DROP:
            continue
        if k == "$ref":
            out[k] = "#/$defs/" + v.split("#/$defs/")[1]
        elif k == "type" and isinstance(v, list):
            real = [t for t in v if t != "null"]
            out["type"] = real[0]
            if "null" in v:
                out["nullable"] = True
        elif k == "properties":
            out[k] = {name: convert(p) for name, p in v.items()}
        else:
            out[k] = convert(v)
    return out


defs = json.load(open(sys.argv[1]))["$defs"]
seen, stack = set(), ["io.k8s.api.batch.v1.Job"]
while stack:
    n = stack.pop()
    if n not in seen:
        seen.add(n)
        stack += re.findall(r'#/\$defs/([^"]+)', json.dumps(defs[n]))
doc = {
    "source": "kubernetes-validate 1.37.0 (PyPI), kubernetes-json-schema/v1.37.0-local-strict/_definitions.json, "
              "generated from the Kubernetes v1.37 OpenAPI spec; Apache-2.0 (see LICENSE)",
    "root": "io.k8s.api.batch.v1.Job",
    "$defs": {n: convert(defs[n]) for n in sorted(seen)},
}
json.dump(doc, sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
