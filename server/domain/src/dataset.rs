//! Datasets: what a sniffed file holds (columns, their types, its row count).

use serde::{Deserialize, Serialize};

/// The type a column's every value parses as (the narrowest that fits all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    Boolean,
    Integer,
    Float,
    String,
}

impl ColumnKind {
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Float | ColumnKind::Boolean
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// Empty cells seen in this column.
    pub empty: u64,
}

/// The shape of one dataset version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DatasetSchema {
    pub columns: Vec<Column>,
    pub rows: u64,
}

impl DatasetSchema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}
