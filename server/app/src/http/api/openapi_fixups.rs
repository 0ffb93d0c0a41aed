//! Rules every operation of the OpenAPI document follows, applied in one place rather than on
//! each handler: every `{segment}` of a path is a required string path parameter (declared
//! where a handler did not), and operation ids are unique (a handler's name that another
//! surface shares is prefixed with its tag), so validators and client generators take it.

use std::collections::BTreeMap;

use utoipa::{
    Modify,
    openapi::{
        OpenApi, Required,
        path::{Operation, ParameterBuilder, ParameterIn, PathItem},
        schema::{ObjectBuilder, Type},
    },
};

pub struct Fixups;

impl Modify for Fixups {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let segments = templated_segments(path);
            for operation in operations(item) {
                declare_path_parameters(operation, &segments);
            }
        }
        unique_operation_ids(openapi);
    }
}

/// The names in a path's `{...}` segments, in order.
fn templated_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn declare_path_parameters(operation: &mut Operation, segments: &[String]) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for (i, name) in segments.iter().enumerate() {
        let declared = parameters
            .iter()
            .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
        if !declared {
            let parameter = ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            parameters.insert(i.min(parameters.len()), parameter);
        }
    }
}

/// Prefixes every id that more than one operation has with the operation's first tag.
fn unique_operation_ids(openapi: &mut OpenApi) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            if let Some(id) = &operation.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for item in openapi.paths.paths.values_mut() {
        for operation in operations(item) {
            let Some(id) = operation.operation_id.clone() else {
                continue;
            };
            if seen.get(&id).is_some_and(|n| *n > 1) {
                let tag = operation
                    .tags
                    .as_ref()
                    .and_then(|t| t.first())
                    .cloned()
                    .unwrap_or_else(|| "api".into());
                operation.operation_id = Some(format!("{tag}_{id}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templated_segments_are_the_braced_ones_in_order() {
        assert_eq!(
            templated_segments("/api/v1/models/{name}/versions/{version}/artifact"),
            ["name", "version"]
        );
        assert!(templated_segments("/api/v1/models").is_empty());
    }
}
