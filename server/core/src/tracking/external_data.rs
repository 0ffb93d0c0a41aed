//! MLflow saves ONNX models with their large tensors in a separate file beside `model.onnx`
//! (`save_as_external_data=True` is its default). Caravan stores one self-contained file, so
//! the top-level graph's initializers that point into files of the same model directory are
//! inlined as `raw_data`, streamed from the artifact store into the staged model. Locations are
//! checked as artifact paths (no `..`, never outside the directory's owner); anything left
//! external (a subgraph's tensors, say) is then refused by the validator as for any push.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};

use super::artifacts::{ArtifactPath, missing};
use super::wire::{Field, delimited_header, fields, text};
use crate::{Core, CoreError, Result, Staged};

const MODEL_GRAPH: u32 = 7;
const GRAPH_INITIALIZER: u32 = 5;
const TENSOR_RAW_DATA: u32 = 9;
const TENSOR_EXTERNAL_DATA: u32 = 13;
const TENSOR_DATA_LOCATION: u32 = 14;
const DATA_LOCATION_EXTERNAL: u64 = 1;
/// Larger model files are not read for external references: a model that keeps its tensors
/// outside is small without them.
pub(crate) const MAX_SCANNED: u64 = 64 << 20;

/// A piece of the rewritten model: bytes, or a range of an artifact.
enum Piece {
    Bytes(Vec<u8>),
    Artifact { path: String, offset: u64, len: u64 },
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Artifact { len, .. } => *len,
        }
    }
}

fn malformed() -> CoreError {
    CoreError::Invalid("the ONNX file is not a well-formed model".into())
}

impl Core {
    /// The model with its external initializers inlined, if it has any (`None`: use it as
    /// it is). `model_path` is the ONNX file's artifact path.
    pub(crate) async fn inline_external_data(
        &self,
        model_path: &ArtifactPath,
        staged: &Staged,
    ) -> Result<Option<Staged>> {
        if staged.size() > MAX_SCANNED {
            return Ok(None);
        }
        let bytes = tokio::fs::read(staged.path())
            .await
            .map_err(CoreError::internal)?;
        let Some(model) = fields(&bytes) else {
            return Ok(None); // not a message: the validator says why
        };
        let graphs: Vec<&Field<'_>> = model.iter().filter(|f| f.number == MODEL_GRAPH).collect();
        let [graph] = graphs.as_slice() else {
            return Ok(None);
        };
        let graph_fields = fields(graph.payload.ok_or_else(malformed)?).ok_or_else(malformed)?;
        let dir = model_path
            .path
            .rsplit_once('/')
            .map_or(model_path.path.as_str(), |(d, _)| d);
        let mut graph_pieces = Vec::new();
        let mut inlined = 0usize;
        for field in &graph_fields {
            let tensor = match (field.number, field.payload) {
                (GRAPH_INITIALIZER, Some(payload)) => fields(payload).ok_or_else(malformed)?,
                _ => {
                    graph_pieces.push(Piece::Bytes(field.raw.to_vec()));
                    continue;
                }
            };
            match self.external_piece(dir, &tensor).await? {
                None => graph_pieces.push(Piece::Bytes(field.raw.to_vec())),
                Some(data) => {
                    inlined += 1;
                    let mut kept: Vec<u8> = tensor
                        .iter()
                        .filter(|f| {
                            ![TENSOR_RAW_DATA, TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION]
                                .contains(&f.number)
                        })
                        .flat_map(|f| f.raw.iter().copied())
                        .collect();
                    kept.extend(delimited_header(TENSOR_RAW_DATA, data.len()));
                    let len = kept.len() as u64 + data.len();
                    graph_pieces.push(Piece::Bytes(delimited_header(GRAPH_INITIALIZER, len)));
                    graph_pieces.push(Piece::Bytes(kept));
                    graph_pieces.push(data);
                }
            }
        }
        if inlined == 0 {
            return Ok(None);
        }
        let graph_len: u64 = graph_pieces.iter().map(Piece::len).sum();
        let mut pieces = Vec::new();
        for field in &model {
            if field.number == MODEL_GRAPH {
                pieces.push(Piece::Bytes(delimited_header(MODEL_GRAPH, graph_len)));
                pieces.append(&mut graph_pieces);
            } else {
                pieces.push(Piece::Bytes(field.raw.to_vec()));
            }
        }
        let total: u64 = pieces.iter().map(Piece::len).sum();
        let limit = self.model_limit();
        if total > limit.max_bytes {
            return Err(CoreError::TooLarge(format!(
                "the model with its external data is {total} bytes, more than {} ({})",
                limit.max_bytes, limit.setting
            )));
        }
        tracing::info!(tensors = inlined, bytes = total, "inlining external data");
        let store = self.blobs.clone();
        let body: BoxStream<'static, std::io::Result<Bytes>> = futures::stream::iter(pieces)
            .then(move |piece| {
                let store = store.clone();
                async move {
                    match piece {
                        Piece::Bytes(b) => {
                            Ok(futures::stream::once(async { Ok(Bytes::from(b)) }).boxed())
                        }
                        Piece::Artifact { path, offset, len } => store
                            .read_artifact_range(&path, offset..offset + len)
                            .await
                            .map(|read| read.stream)
                            .map_err(std::io::Error::other),
                    }
                }
            })
            .try_flatten()
            .boxed();
        Ok(Some(self.stage(body, limit).await?))
    }

    /// The data of a tensor kept in an external file of `dir`, checked against that file.
    async fn external_piece(&self, dir: &str, tensor: &[Field<'_>]) -> Result<Option<Piece>> {
        let external = tensor
            .iter()
            .any(|f| f.number == TENSOR_DATA_LOCATION && f.varint == Some(DATA_LOCATION_EXTERNAL));
        if !external {
            return Ok(None);
        }
        let (mut location, mut offset, mut length) = (None, 0u64, None);
        for entry in tensor.iter().filter(|f| f.number == TENSOR_EXTERNAL_DATA) {
            let kv = fields(entry.payload.ok_or_else(malformed)?).ok_or_else(malformed)?;
            let key = kv
                .iter()
                .find(|f| f.number == 1)
                .and_then(text)
                .unwrap_or_default();
            let value = kv
                .iter()
                .find(|f| f.number == 2)
                .and_then(text)
                .unwrap_or_default();
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    CoreError::Invalid(format!("external data {key} {value:?} is not a number"))
                })
            };
            match key.as_str() {
                "location" => location = Some(value.clone()),
                "offset" => offset = number()?,
                "length" => length = Some(number()?),
                _ => {}
            }
        }
        let location = location.ok_or_else(|| {
            CoreError::Invalid("a tensor's external data names no location".into())
        })?;
        let path = ArtifactPath::parse(&format!("{dir}/{location}")).map_err(|_| {
            CoreError::Invalid(format!(
                "external data location {:?} is not a file of the model directory",
                location.chars().take(80).collect::<String>()
            ))
        })?;
        let size = self
            .blobs
            .read_artifact(&path.path)
            .await
            .map_err(|e| missing(e, &path.path))
            .map_err(|e| match e {
                CoreError::NotFound { .. } => CoreError::Invalid(format!(
                    "external data file {location:?} is not in the model directory"
                )),
                other => other,
            })?
            .size;
        let len = length.unwrap_or(size.saturating_sub(offset));
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(CoreError::Invalid(format!(
                "a tensor's external data ({offset}+{len}) runs past the end of {location:?} ({size} bytes)"
            )));
        }
        Ok(Some(Piece::Artifact {
            path: path.path,
            offset,
            len,
        }))
    }
}
