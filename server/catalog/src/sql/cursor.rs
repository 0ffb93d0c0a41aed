//! Opaque page cursors: the sort key and `seq` of the last row of a page (keyset pagination,
//! stable while rows are added), or an offset for relevance order, which has no stable key.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

use crate::{CatalogError, Result, Timestamp};

/// Where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", content = "v")]
pub(crate) enum Cursor {
    Name(String, i64),
    Updated(Timestamp, i64),
    Downloads(i64, i64),
    Offset(i64),
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }

    pub(crate) fn decode(raw: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| CatalogError::InvalidInput("invalid cursor".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for c in [
            Cursor::Name("fraud".into(), 7),
            Cursor::Updated(Timestamp::now(), 3),
            Cursor::Downloads(10, 2),
            Cursor::Offset(50),
        ] {
            assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{\"k\":\"Offset\"}")).is_err());
    }
}
