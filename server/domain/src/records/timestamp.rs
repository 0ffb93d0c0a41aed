//! A UTC timestamp stored natively by each engine: `TIMESTAMPTZ` on PostgreSQL, and on SQLite
//! fixed-width RFC 3339 text with microseconds, so that text order is time order (sqlx's own
//! SQLite encoding varies the number of fraction digits, which breaks `ORDER BY` and cursors).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

/// A point in time with microsecond precision (what both engines keep).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The current time, truncated to microseconds so that it round-trips exactly.
    pub fn now() -> Self {
        Self(Utc::now().trunc_subsecs(6))
    }

    /// `delay` from now.
    pub fn after(delay: std::time::Duration) -> Self {
        Self::from_datetime(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
    }

    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }

    #[cfg_attr(not(feature = "sqlx"), allow(dead_code))]
    fn to_sqlite_text(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Self::from_datetime(at)
    }
}

/// How each engine stores a timestamp (the catalog enables this; nothing else in the domain
/// knows of databases).
#[cfg(feature = "sqlx")]
mod encoding {
    use chrono::{DateTime, Utc};
    use sqlx::{
        Decode, Encode, Postgres, Sqlite, Type,
        encode::IsNull,
        error::BoxDynError,
        postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
        sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef},
    };

    use super::Timestamp;

    impl Type<Sqlite> for Timestamp {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }
    }

    impl Encode<'_, Sqlite> for Timestamp {
        fn encode_by_ref(
            &self,
            buf: &mut Vec<SqliteArgumentValue<'_>>,
        ) -> Result<IsNull, BoxDynError> {
            Encode::<Sqlite>::encode(self.to_sqlite_text(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for Timestamp {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <&str as Decode<Sqlite>>::decode(value)?;
            Ok(Self(
                DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc),
            ))
        }
    }

    impl Type<Postgres> for Timestamp {
        fn type_info() -> PgTypeInfo {
            <DateTime<Utc> as Type<Postgres>>::type_info()
        }
    }

    impl Encode<'_, Postgres> for Timestamp {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            Encode::<Postgres>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for Timestamp {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(Self(<DateTime<Utc> as Decode<Postgres>>::decode(value)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_has_a_fixed_width_so_text_order_is_time_order() {
        let whole = Timestamp(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let later = Timestamp(DateTime::from_timestamp(1_800_000_000, 500_000_000).unwrap());
        assert_eq!(whole.to_sqlite_text().len(), later.to_sqlite_text().len());
        assert!(whole.to_sqlite_text() < later.to_sqlite_text());
    }
}
