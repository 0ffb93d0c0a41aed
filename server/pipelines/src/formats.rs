//! Datasets of either format (CSV or Parquet) behind one interface: sniffing, previews,
//! numeric columns in chunks (evaluation) and rows as text in chunks (scoring), and columns
//! as a model's input tensor.

use std::path::Path;

use caravan_domain::{DatasetSchema, TensorType};
use caravan_inference::serving::{NamedTensor, TensorData};

use crate::{
    StepError,
    dataset::{DatasetError, NumericChunks, invalid, preview_csv, reader, sniff_csv},
};

/// A dataset file of either format, sniffed.
pub fn sniff(path: &Path) -> Result<(&'static str, DatasetSchema), DatasetError> {
    if crate::columnar::is_parquet(path) {
        Ok(("parquet", crate::columnar::sniff_parquet(path)?))
    } else {
        Ok(("csv", sniff_csv(path)?))
    }
}

/// The header and the first rows of a file of `format`.
pub fn preview(
    path: &Path,
    format: &str,
    rows: usize,
) -> Result<(Vec<String>, Vec<Vec<String>>), DatasetError> {
    match format {
        "parquet" => crate::columnar::preview_parquet(path, rows),
        _ => preview_csv(path, rows),
    }
}

/// Numeric columns of a file of either format, in chunks.
pub enum Numbers {
    Csv(NumericChunks),
    Parquet(crate::columnar::ParquetChunks),
}

impl Numbers {
    pub fn open(
        path: &Path,
        format: &str,
        columns: &[String],
        chunk: usize,
    ) -> Result<Self, DatasetError> {
        Ok(match format {
            "parquet" => {
                Numbers::Parquet(crate::columnar::ParquetChunks::open(path, columns, chunk)?)
            }
            _ => Numbers::Csv(NumericChunks::open(path, columns, chunk)?),
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<(usize, Vec<f64>)>, DatasetError> {
        match self {
            Numbers::Csv(c) => c.next_chunk(),
            Numbers::Parquet(p) => p.next_chunk(),
        }
    }
}

/// Every column of a file of either format as text, in chunks of rows.
pub enum TextRows {
    Csv {
        reader: csv::Reader<std::fs::File>,
        header: Vec<String>,
        chunk: usize,
    },
    Parquet(crate::columnar::TextBatches),
}

impl TextRows {
    pub fn open(path: &Path, format: &str, chunk: usize) -> Result<Self, DatasetError> {
        Ok(match format {
            "parquet" => TextRows::Parquet(crate::columnar::TextBatches::open(path, chunk)?),
            _ => {
                let mut reader = reader(path)?;
                let header = reader
                    .headers()
                    .map_err(invalid)?
                    .iter()
                    .map(str::to_owned)
                    .collect();
                TextRows::Csv {
                    reader,
                    header,
                    chunk: chunk.max(1),
                }
            }
        })
    }

    pub fn header(&self) -> &[String] {
        match self {
            TextRows::Csv { header, .. } => header,
            TextRows::Parquet(p) => &p.header,
        }
    }

    /// The next rows (one allocation per row for CSV), or `None` at the end.
    pub fn next_rows(&mut self) -> Result<Option<Vec<csv::StringRecord>>, DatasetError> {
        match self {
            TextRows::Parquet(p) => Ok(p
                .next_rows()?
                .map(|rows| rows.into_iter().map(csv::StringRecord::from).collect())),
            TextRows::Csv { reader, chunk, .. } => {
                let mut rows = Vec::with_capacity(*chunk);
                let mut record = csv::StringRecord::new();
                while rows.len() < *chunk && reader.read_record(&mut record).map_err(invalid)? {
                    rows.push(std::mem::take(&mut record));
                }
                Ok((!rows.is_empty()).then_some(rows))
            }
        }
    }
}

/// Numbers read from dataset columns as the model input `name` of `datatype`: `rows` rows of
/// `width` values (evaluation and scoring fill inputs this one way).
pub(crate) fn columns_tensor(
    name: &str,
    datatype: TensorType,
    rows: usize,
    width: usize,
    values: Vec<f64>,
) -> Result<NamedTensor, StepError> {
    let data = match datatype {
        TensorType::Fp32 => TensorData::F32(values.into_iter().map(|v| v as f32).collect()),
        TensorType::Fp64 => TensorData::F64(values),
        TensorType::Int64 => TensorData::I64(values.into_iter().map(|v| v as i64).collect()),
        TensorType::Int32 => TensorData::I32(values.into_iter().map(|v| v as i32).collect()),
        other => {
            return Err(StepError::Permanent(format!(
                "input {name} is {other:?}; only FP32, FP64, INT64 and INT32 inputs can be filled from columns"
            )));
        }
    };
    Ok(NamedTensor {
        name: name.to_owned(),
        shape: vec![rows, width],
        data,
    })
}
