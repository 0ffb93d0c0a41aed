"""Validates an OpenAPI document and generates a Python client from it.

usage: check.py DOCUMENT OUT_DIR
Prints each problem and exits 1, or prints "ok N" where N is the number of operations, each
of which the generator produced.
"""
import collections
import json
import pathlib
import subprocess
import sys

from openapi_spec_validator import OpenAPIV31SpecValidator

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}

doc_path, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
spec = json.loads(doc_path.read_text())
problems = [f"invalid: {e.message}" for e in OpenAPIV31SpecValidator(spec).iter_errors()]

operations = [
    (path, method, op)
    for path, item in spec["paths"].items()
    for method, op in item.items()
    if method in METHODS
]
ids = collections.Counter(op.get("operationId") for _, _, op in operations)
problems += [f"operation id {i!r} used {n} times" for i, n in ids.items() if n > 1 or not i]

config = out / "config.yaml"
config.parent.mkdir(parents=True, exist_ok=True)
# The generator reads no gzip responses; the bundle download is bytes to it.
config.write_text("content_type_overrides:\n  application/gzip: application/octet-stream\npost_hooks: []\n")
generator = pathlib.Path(sys.executable).parent / "openapi-python-client"
run = subprocess.run(
    [generator, "generate", "--path", doc_path, "--output-path", out / "client", "--meta", "none",
     "--config", config],
    capture_output=True, text=True,
)
said = run.stdout + run.stderr
if run.returncode != 0:
    problems.append(f"the generator failed: {said}")
problems += [f"generator: {line}" for line in said.splitlines() if line.startswith("WARNING")]
generated = [p for p in (out / "client" / "api").rglob("*.py") if p.name != "__init__.py"]
if len(generated) != len(operations):
    problems.append(f"{len(generated)} operations generated of {len(operations)}")

for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
print(f"ok {len(operations)}")
