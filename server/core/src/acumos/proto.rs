//! Compiling .proto text in memory with protox: a pushed bundle's `model.proto`, the one sent
//! with an ONNX model, or the one Caravan generates. Nothing touches the file system; the only
//! imports that resolve are Google's well-known types.

use prost_reflect::DescriptorPool;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};

/// The name the file is compiled under (what Acumos calls it).
pub const FILE: &str = "model.proto";
/// The largest .proto Caravan reads.
pub const MAX_PROTO: usize = 256 << 10;

struct OneFile(String);

impl FileResolver for OneFile {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == FILE {
            File::from_source(name, &self.0)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

/// Compiles `source`; the reason it does not compile otherwise (the file's own line and
/// column, never anything of the server's).
pub fn compile(source: &str) -> Result<DescriptorPool, String> {
    if source.len() > MAX_PROTO {
        return Err(format!("the .proto is larger than {} KiB", MAX_PROTO >> 10));
    }
    let mut resolver = ChainFileResolver::new();
    resolver.add(OneFile(source.to_owned()));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler
        .open_file(FILE)
        .map_err(|e| format!("the .proto does not compile: {e}"))?;
    Ok(compiler.descriptor_pool())
}

/// The rpc methods `source` declares: (method, input message, output message), in order.
pub fn methods(pool: &DescriptorPool) -> Vec<(String, String, String)> {
    pool.services()
        .filter(|s| s.parent_file().name() == FILE)
        .flat_map(|s| s.methods().collect::<Vec<_>>())
        .map(|m| {
            (
                m.name().to_owned(),
                m.input().name().to_owned(),
                m.output().name().to_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_an_acumos_proto_and_lists_its_methods() {
        let pool = compile(
            r#"syntax = "proto3";
            package abc;
            service Model { rpc add (AddIn) returns (AddOut); }
            message AddIn { int64 x = 1; int64 y = 2; }
            message AddOut { int64 value = 1; }"#,
        )
        .unwrap();
        assert_eq!(
            methods(&pool),
            vec![("add".to_owned(), "AddIn".to_owned(), "AddOut".to_owned())]
        );
    }

    #[test]
    fn refuses_what_does_not_compile_and_every_import_but_google_types() {
        assert!(compile("syntax = \"proto3\"; message {").is_err());
        let import = compile("syntax = \"proto3\"; import \"/etc/passwd\"; message A {}");
        assert!(import.is_err());
        let google = compile(
            "syntax = \"proto3\"; import \"google/protobuf/empty.proto\"; \
             service S { rpc f (google.protobuf.Empty) returns (google.protobuf.Empty); }",
        )
        .unwrap();
        assert_eq!(methods(&google).len(), 1);
        assert!(compile(&"x".repeat(MAX_PROTO + 1)).is_err());
    }
}
