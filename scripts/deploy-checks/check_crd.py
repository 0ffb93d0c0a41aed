"""Validates custom resources against a CRD's openAPIV3Schema (kubernetes-validate skips
CRD kinds). Usage: check_crd.py CRD.yaml RESOURCE.yaml...; exits 1 on the first invalid one."""

import sys

import jsonschema
import yaml


def schemas(crd_path):
    """The schema of every served version, by (group/version, kind)."""
    found = {}
    for doc in yaml.safe_load_all(open(crd_path)):
        if not doc or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        for version in spec["versions"]:
            api = f"{spec['group']}/{version['name']}"
            found[(api, spec["names"]["kind"])] = version["schema"]["openAPIV3Schema"]
    return found


def strict(schema):
    """Unknown fields are errors, as the API server's strict field validation makes them,
    except where the CRD keeps them (x-kubernetes-preserve-unknown-fields)."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            schema.setdefault("additionalProperties", False)
        return schema
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    return schema


def main():
    known = schemas(sys.argv[1])
    for path in sys.argv[2:]:
        for doc in yaml.safe_load_all(open(path)):
            key = (doc.get("apiVersion"), doc.get("kind"))
            if key not in known:
                sys.exit(f"{path}: no schema for {key} in {sys.argv[1]}")
            # metadata is checked by the API server, not by the CRD's schema.
            body = {k: v for k, v in doc.items() if k != "metadata"}
            schema = strict(known[key])
            schema.get("properties", {}).pop("metadata", None)
            try:
                jsonschema.validate(body, schema)
            except jsonschema.ValidationError as e:
                sys.exit(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
            print(f"{path}: {key[1]} valid against the CRD")


if __name__ == "__main__":
    main()
