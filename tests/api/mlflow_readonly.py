"""A read-only token: reads work, writes answer PERMISSION_DENIED (usage as mlflow_registry.py)."""
import json
import sys

from mlflow import MlflowClient
from mlflow.exceptions import RestException

base, name = sys.argv[1], sys.argv[2]
c = MlflowClient(tracking_uri=base, registry_uri=base)
out = {"read": c.get_registered_model(name).name}
try:
    c.create_registered_model(name + "-new")
    out["write"] = "no error"
except RestException as e:
    out["write"] = e.error_code
print(json.dumps(out))
