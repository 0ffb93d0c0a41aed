//! Reading CSV datasets: the schema of a file (every row checked), a preview, and numeric
//! columns in bounded chunks for evaluation and scoring.

use std::path::Path;

use caravan_domain::{Column, ColumnKind, DatasetSchema};

/// Why a file is not a usable dataset (shown to the uploader as is).
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Invalid(String),
    #[error("reading the dataset: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) fn invalid(e: csv::Error) -> DatasetError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => DatasetError::Invalid(format!(
            "row on line {line} has {len} fields, but the header has {expected_len}"
        )),
        csv::ErrorKind::Utf8 { .. } => {
            DatasetError::Invalid(format!("line {line} is not valid UTF-8 text"))
        }
        csv::ErrorKind::Io(_) => match e.into_kind() {
            csv::ErrorKind::Io(io) => DatasetError::Io(io),
            _ => unreachable!("matched Io"),
        },
        _ => DatasetError::Invalid(format!("line {line}: {e}")),
    }
}

fn kind_of(cell: &str) -> Option<ColumnKind> {
    let cell = cell.trim();
    if cell.is_empty() {
        None
    } else if cell.eq_ignore_ascii_case("true") || cell.eq_ignore_ascii_case("false") {
        Some(ColumnKind::Boolean)
    } else if cell.parse::<i64>().is_ok() {
        Some(ColumnKind::Integer)
    } else if cell.parse::<f64>().is_ok_and(f64::is_finite) {
        Some(ColumnKind::Float)
    } else {
        Some(ColumnKind::String)
    }
}

/// The narrowest kind holding both (integers widen to floats; anything else to strings).
fn widen(a: ColumnKind, b: ColumnKind) -> ColumnKind {
    use ColumnKind::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Integer, Float) | (Float, Integer) => Float,
        _ => String,
    }
}

pub(crate) fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>, DatasetError> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(path)
        .map_err(invalid)
}

/// Reads the whole file once: a header of unique, non-empty names, rows of the header's
/// length, and each column's type.
pub fn sniff_csv(path: &Path) -> Result<DatasetSchema, DatasetError> {
    let mut reader = reader(path)?;
    let header: Vec<String> = reader
        .headers()
        .map_err(invalid)?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(DatasetError::Invalid(
            "the file is empty or has no header row of column names".into(),
        ));
    }
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(DatasetError::Invalid(format!(
                "column {} has no name",
                i + 1
            )));
        }
        if header[..i].contains(name) {
            return Err(DatasetError::Invalid(format!(
                "column {name:?} appears twice"
            )));
        }
    }
    let mut kinds: Vec<Option<ColumnKind>> = vec![None; header.len()];
    let mut empty = vec![0u64; header.len()];
    let mut rows = 0u64;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(invalid)? {
        rows += 1;
        for (i, cell) in record.iter().enumerate() {
            match kind_of(cell) {
                None => empty[i] += 1,
                Some(k) => kinds[i] = Some(kinds[i].map_or(k, |seen| widen(seen, k))),
            }
        }
    }
    if rows == 0 {
        return Err(DatasetError::Invalid(
            "the file has a header but no rows".into(),
        ));
    }
    let columns = header
        .into_iter()
        .zip(kinds)
        .zip(empty)
        .map(|((name, kind), empty)| Column {
            name,
            kind: kind.unwrap_or(ColumnKind::String),
            empty,
        })
        .collect();
    Ok(DatasetSchema { columns, rows })
}

/// The header and the first `rows` rows, as text.
pub fn preview_csv(
    path: &Path,
    rows: usize,
) -> Result<(Vec<String>, Vec<Vec<String>>), DatasetError> {
    let mut reader = reader(path)?;
    let header = reader
        .headers()
        .map_err(invalid)?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    for record in reader.records().take(rows) {
        out.push(record.map_err(invalid)?.iter().map(str::to_owned).collect());
    }
    Ok((header, out))
}

/// Reads numeric columns row by row, `chunk` rows at a time (memory stays bounded by the
/// chunk, whatever the file's size).
pub struct NumericChunks {
    reader: csv::Reader<std::fs::File>,
    indices: Vec<usize>,
    names: Vec<String>,
    chunk: usize,
    line: u64,
}

impl NumericChunks {
    /// `columns` must all exist; values are parsed as f64 (booleans as 0 and 1).
    pub fn open(path: &Path, columns: &[String], chunk: usize) -> Result<Self, DatasetError> {
        let mut reader = reader(path)?;
        let header = reader.headers().map_err(invalid)?.clone();
        let indices = columns
            .iter()
            .map(|c| {
                header.iter().position(|h| h.trim() == c).ok_or_else(|| {
                    DatasetError::Invalid(format!("the dataset has no column {c:?}"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(NumericChunks {
            reader,
            indices,
            names: columns.to_vec(),
            chunk: chunk.max(1),
            line: 1,
        })
    }

    /// The next rows (each `columns.len()` values, row-major), or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<(usize, Vec<f64>)>, DatasetError> {
        let mut values = Vec::with_capacity(self.chunk * self.indices.len());
        let mut rows = 0;
        let mut record = csv::StringRecord::new();
        while rows < self.chunk && self.reader.read_record(&mut record).map_err(invalid)? {
            self.line += 1;
            for (&i, name) in self.indices.iter().zip(&self.names) {
                let cell = record.get(i).unwrap_or("").trim();
                let value = match cell {
                    c if c.eq_ignore_ascii_case("true") => 1.0,
                    c if c.eq_ignore_ascii_case("false") => 0.0,
                    c => c.parse::<f64>().map_err(|_| {
                        DatasetError::Invalid(format!(
                            "line {}: column {name:?} holds {cell:?}, not a number",
                            self.line
                        ))
                    })?,
                };
                values.push(value);
            }
            rows += 1;
        }
        Ok((rows > 0).then_some((rows, values)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn columns_get_the_narrowest_type_that_fits_every_value() {
        let file = write("a,b,c,d\n1,1.5,true,x\n2,2,false,\n3,,true,7\n");
        let schema = sniff_csv(file.path()).unwrap();
        let kinds: Vec<_> = schema.columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [
                ColumnKind::Integer,
                ColumnKind::Float,
                ColumnKind::Boolean,
                ColumnKind::String
            ]
        );
        assert_eq!(schema.rows, 3);
        assert_eq!(schema.columns[1].empty, 1);
    }

    #[test]
    fn ragged_rows_are_refused_with_their_line() {
        let file = write("a,b\n1,2\n3\n");
        let error = sniff_csv(file.path()).unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("1 fields"),
            "{error}"
        );
    }

    #[test]
    fn empty_files_duplicate_and_missing_names_are_refused() {
        for (text, needle) in [
            ("", "no header"),
            ("a,a\n1,2\n", "twice"),
            ("a,\n1,2\n", "no name"),
            ("a,b\n", "no rows"),
        ] {
            let error = sniff_csv(write(text).path()).unwrap_err().to_string();
            assert!(error.contains(needle), "{text:?}: {error}");
        }
    }

    #[test]
    fn numeric_chunks_stop_at_a_value_that_is_not_a_number() {
        let file = write("x,y,label\n1,2,0\n3,oops,1\n");
        let mut chunks = NumericChunks::open(file.path(), &["x".into(), "y".into()], 1).unwrap();
        assert_eq!(chunks.next_chunk().unwrap(), Some((1, vec![1.0, 2.0])));
        let error = chunks.next_chunk().unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("\"oops\""),
            "{error}"
        );
    }
}
