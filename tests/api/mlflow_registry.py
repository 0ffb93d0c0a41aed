"""Drives Caravan's MLflow Model Registry surface with the real MLflow client.

Usage: mlflow_registry.py BASE_URL MODEL (credentials from MLFLOW_TRACKING_* as the client reads
them). MODEL has versions 1 and 2 pushed through Caravan's own API. Prints one JSON object of
what the client saw; the Rust test asserts on it.
"""
import json
import sys

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException


def code(call):
    try:
        call()
    except RestException as e:
        return e.error_code
    except MlflowException as e:
        return "MlflowException: " + str(e)
    return "no error"


base, name = sys.argv[1], sys.argv[2]
c = MlflowClient(tracking_uri=base, registry_uri=base)
empty = name + "-empty"
out = {}
out["created"] = c.create_registered_model(empty, tags={"team": "risk"}, description="registered by mlflow").name
out["created_tags"] = c.get_registered_model(empty).tags
out["duplicate"] = code(lambda: c.create_registered_model(empty))
out["empty_versions"] = [v.version for v in c.get_registered_model(empty).latest_versions]
model = c.get_registered_model(name)
out["latest"] = [v.version for v in model.latest_versions]
c.set_registered_model_alias(name, "champion", "1")
by_alias = c.get_model_version_by_alias(name, "champion")
out["alias"] = [by_alias.version, by_alias.status, list(by_alias.aliases)]
out["model_aliases"] = {k: v for k, v in c.get_registered_model(name).aliases.items()}
out["search"] = sorted(m.name for m in c.search_registered_models())
page = c.search_registered_models(filter_string=f"name LIKE '{name}%'", max_results=1, order_by=["name DESC"])
out["page"] = [[m.name for m in page], bool(page.token)]
rest = c.search_registered_models(filter_string=f"name LIKE '{name}%'", max_results=1, order_by=["name DESC"], page_token=page.token)
out["next_page"] = [m.name for m in rest]
out["bad_filter"] = code(lambda: c.search_registered_models(filter_string="description = 'x'"))
out["versions"] = sorted(v.version for v in c.search_model_versions(f"name='{name}'"))
c.set_registered_model_tag(name, "owner team", name + "-ops")
c.set_model_version_tag(name, "1", "validated", "yes")
out["tagged_search"] = [m.name for m in c.search_registered_models(filter_string=f"tags.`owner team` = '{name}-ops'")]
out["tagged_versions"] = [v.version for v in c.search_model_versions(f"name = '{name}' AND tags.validated = 'yes'")]
out["version_tags"] = c.get_model_version(name, "1").tags
c.delete_registered_model_tag(empty, "team")
out["tag_deleted"] = c.get_registered_model(empty).tags
out["delete_missing_tag"] = code(lambda: c.delete_registered_model_tag(empty, "team"))
out["version_status"] = c.get_model_version(name, "2").status
out["download_uri"] = c.get_model_version_download_uri(name, "2")
out["latest_versions"] = [v.version for v in c.get_latest_versions(name)]
out["missing"] = code(lambda: c.get_registered_model("no-such-model"))
out["missing_version"] = code(lambda: c.get_model_version(name, "9"))
out["create_version"] = code(lambda: c.create_model_version(name, source="s3://bucket/key"))
c.update_registered_model(name, description="updated by mlflow")
out["description"] = c.get_registered_model(name).description
out["version_description"] = c.update_model_version(name, "1", description="the first one").description
out["version_description_read"] = c.get_model_version(name, "1").description
out["version_description_long"] = code(lambda: c.update_model_version(name, "1", description="x" * 5001))
out["delete_aliased"] = code(lambda: c.delete_model_version(name, "1"))
c.delete_registered_model_alias(name, "champion")
out["alias_gone"] = code(lambda: c.get_model_version_by_alias(name, "champion"))
c.delete_model_version(name, "2")
out["after_delete"] = sorted(v.version for v in c.search_model_versions(f"name='{name}'"))
renamed = empty + "-renamed"
c.rename_registered_model(empty, renamed)
out["renamed"] = c.get_registered_model(renamed).name
out["renamed_description"] = c.get_registered_model(renamed).description
out["old_name_gone"] = code(lambda: c.get_registered_model(empty))
out["rename_taken"] = code(lambda: c.rename_registered_model(renamed, name))
out["rename_missing"] = code(lambda: c.rename_registered_model(empty, empty + "-x"))
# A model with versions keeps them under its new name; renamed back for the checks after this.
moved = name + "-moved"
c.rename_registered_model(name, moved)
out["moved_versions"] = sorted(v.version for v in c.search_model_versions(f"name='{moved}'"))
out["moved_version_status"] = c.get_model_version(moved, "1").status
c.rename_registered_model(moved, name)
c.delete_registered_model(renamed)
out["empty_gone"] = code(lambda: c.get_registered_model(renamed))
print(json.dumps(out))
