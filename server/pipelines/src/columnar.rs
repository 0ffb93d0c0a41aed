//! Parquet datasets: the schema (flat columns only) with null counts, a preview, numeric
//! columns in chunks, and rows as text, all read batch by batch (memory bounded by a batch).

use std::{fs::File, io::Read, path::Path};

use arrow_array::{Array, RecordBatch, cast::AsArray, types::Float64Type};
use arrow_cast::{
    cast,
    display::{ArrayFormatter, FormatOptions},
};
use arrow_schema::DataType;
use caravan_domain::{Column, ColumnKind, DatasetSchema};
use parquet::arrow::{
    ProjectionMask,
    arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder},
};

use crate::dataset::DatasetError;

/// Rows per batch when a whole file is read.
const BATCH: usize = 8192;

/// Whether the file starts with Parquet's magic bytes.
pub fn is_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PAR1"
}

fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, DatasetError> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)
        .map_err(|e| DatasetError::Invalid(format!("not a readable Parquet file: {e}")))
}

fn unreadable(e: impl std::fmt::Display) -> DatasetError {
    DatasetError::Invalid(format!("reading the Parquet data: {e}"))
}

fn kind(data_type: &DataType) -> Option<ColumnKind> {
    use DataType::*;
    Some(match data_type {
        Boolean => ColumnKind::Boolean,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => ColumnKind::Integer,
        Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..)
        | Decimal256(..) => ColumnKind::Float,
        Utf8 | LargeUtf8 | Utf8View | Date32 | Date64 | Timestamp(..) | Time32(_) | Time64(_) => {
            ColumnKind::String
        }
        _ => return None,
    })
}

/// Reads the whole file once: flat columns of known types, their empty (null) cells, the rows.
pub fn sniff_parquet(path: &Path) -> Result<DatasetSchema, DatasetError> {
    let builder = builder(path)?;
    let mut columns = Vec::new();
    for field in builder.schema().fields() {
        let kind = kind(field.data_type()).ok_or_else(|| DatasetError::Invalid(format!(
            "column {:?} is {}; only flat columns of numbers, booleans, text and dates are supported",
            field.name(),
            field.data_type()
        )))?;
        columns.push(Column {
            name: field.name().clone(),
            kind,
            empty: 0,
        });
    }
    let mut rows = 0u64;
    for batch in builder.with_batch_size(BATCH).build().map_err(unreadable)? {
        let batch = batch.map_err(unreadable)?;
        rows += batch.num_rows() as u64;
        for (column, array) in columns.iter_mut().zip(batch.columns()) {
            column.empty += array.null_count() as u64;
        }
    }
    if columns.is_empty() || rows == 0 {
        return Err(DatasetError::Invalid(
            "the Parquet file has no columns or no rows".into(),
        ));
    }
    Ok(DatasetSchema { columns, rows })
}

/// Every cell of a batch as text (empty for nulls).
pub fn batch_as_text(batch: &RecordBatch) -> Result<Vec<Vec<String>>, DatasetError> {
    let options = FormatOptions::default().with_null("");
    let formatters = batch
        .columns()
        .iter()
        .map(|a| ArrayFormatter::try_new(a.as_ref(), &options).map_err(unreadable))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect()
        })
        .collect())
}

/// The header and the first `rows` rows, as text.
pub fn preview_parquet(
    path: &Path,
    rows: usize,
) -> Result<(Vec<String>, Vec<Vec<String>>), DatasetError> {
    let builder = builder(path)?;
    let header = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut reader = builder
        .with_batch_size(rows.max(1))
        .build()
        .map_err(unreadable)?;
    let cells = match reader.next() {
        Some(batch) => batch_as_text(&batch.map_err(unreadable)?)?,
        None => Vec::new(),
    };
    Ok((header, cells))
}

/// All columns, `chunk` rows at a time, as text.
pub struct TextBatches {
    pub header: Vec<String>,
    reader: ParquetRecordBatchReader,
}

impl TextBatches {
    pub fn open(path: &Path, chunk: usize) -> Result<Self, DatasetError> {
        let builder = builder(path)?;
        let header = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let reader = builder
            .with_batch_size(chunk.max(1))
            .build()
            .map_err(unreadable)?;
        Ok(TextBatches { header, reader })
    }

    pub fn next_rows(&mut self) -> Result<Option<Vec<Vec<String>>>, DatasetError> {
        match self.reader.next() {
            Some(batch) => Ok(Some(batch_as_text(&batch.map_err(unreadable)?)?)),
            None => Ok(None),
        }
    }
}

/// Chosen columns as f64, `chunk` rows at a time (row-major); a null is an error.
pub struct ParquetChunks {
    reader: ParquetRecordBatchReader,
    names: Vec<String>,
    /// Where each requested column is in the projected batch.
    positions: Vec<usize>,
    row: u64,
}

impl ParquetChunks {
    pub fn open(path: &Path, columns: &[String], chunk: usize) -> Result<Self, DatasetError> {
        let builder = builder(path)?;
        let fields = builder.schema().fields().clone();
        let indices = columns
            .iter()
            .map(|c| {
                fields.iter().position(|f| f.name() == c).ok_or_else(|| {
                    DatasetError::Invalid(format!("the dataset has no column {c:?}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut projected: Vec<usize> = indices.clone();
        projected.sort_unstable();
        projected.dedup();
        let positions = indices
            .iter()
            .map(|i| projected.binary_search(i).expect("projected"))
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), projected);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(chunk.max(1))
            .build()
            .map_err(unreadable)?;
        Ok(ParquetChunks {
            reader,
            names: columns.to_vec(),
            positions,
            row: 0,
        })
    }

    pub fn next_chunk(&mut self) -> Result<Option<(usize, Vec<f64>)>, DatasetError> {
        let Some(batch) = self.reader.next() else {
            return Ok(None);
        };
        let batch = batch.map_err(unreadable)?;
        let rows = batch.num_rows();
        let mut columns = Vec::with_capacity(self.positions.len());
        for (&p, name) in self.positions.iter().zip(&self.names) {
            let values = cast(batch.column(p), &DataType::Float64).map_err(|e| {
                DatasetError::Invalid(format!("column {name:?} is not numeric: {e}"))
            })?;
            if let Some(i) = (0..rows).find(|&i| values.is_null(i)) {
                return Err(DatasetError::Invalid(format!(
                    "row {}: column {name:?} is empty",
                    self.row + i as u64 + 1
                )));
            }
            columns.push(values);
        }
        let mut out = Vec::with_capacity(rows * columns.len());
        for i in 0..rows {
            for values in &columns {
                out.push(values.as_primitive::<Float64Type>().value(i));
            }
        }
        self.row += rows as u64;
        Ok(Some((rows, out)))
    }
}
