//! Names that appear in URL paths: model names, aliases and version references.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a name was refused; the message is shown to users as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

/// Longest model name, in characters.
pub const MAX_MODEL_NAME: usize = 100;
/// Longest alias, in characters.
pub const MAX_ALIAS: usize = 64;

/// A model name: 1-100 characters of `a-z 0-9 - _ .`, starting with a letter or digit, without
/// `..`. Names of models imported from a peer are `<peer>:<remote name>`; `:` is reserved for
/// them, so [`ModelName::parse`] refuses it and only [`ModelName::imported`] produces one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ModelName(String);

impl ModelName {
    /// Parses a name for a local model.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        check_local_name(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// Parses any stored name, local (`fraud`) or imported (`peer:fraud`).
    pub fn parse_any(raw: &str) -> Result<Self, NameError> {
        match raw.split_once(':') {
            Some((peer, remote)) => Self::imported(peer, remote),
            None => Self::parse(raw),
        }
    }

    /// The local name of a model imported from `peer` where it is called `remote`.
    pub fn imported(peer: &str, remote: &str) -> Result<Self, NameError> {
        check_local_name(peer).map_err(|e| NameError(format!("peer name: {e}")))?;
        check_local_name(remote).map_err(|e| NameError(format!("remote model name: {e}")))?;
        let full = format!("{peer}:{remote}");
        if full.len() > MAX_MODEL_NAME * 2 + 1 {
            return Err(NameError("imported model name is too long".into()));
        }
        Ok(Self(full))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for models imported from a peer.
    pub fn is_imported(&self) -> bool {
        self.0.contains(':')
    }
}

fn check_local_name(raw: &str) -> Result<(), NameError> {
    if raw.is_empty() {
        return Err(NameError("a model name must not be empty".into()));
    }
    if raw.chars().count() > MAX_MODEL_NAME {
        return Err(NameError(format!(
            "a model name must be at most {MAX_MODEL_NAME} characters"
        )));
    }
    if raw.contains(':') {
        return Err(NameError(
            "':' is reserved for models imported from peers (<peer>:<name>)".into(),
        ));
    }
    if raw.contains("..") {
        return Err(NameError("a model name must not contain '..'".into()));
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
    {
        return Err(NameError(format!(
            "a model name may only use a-z, 0-9, '-', '_' and '.'; found {bad:?}"
        )));
    }
    if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(NameError(
            "a model name must start with a letter or a digit".into(),
        ));
    }
    Ok(())
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ModelName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse_any(&raw).map_err(serde::de::Error::custom)
    }
}

/// An alias such as `champion`: 1-64 characters of `a-z 0-9 - _`, starting with a letter.
/// `latest` is reserved: it always means the newest version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AliasName(String);

impl AliasName {
    /// The alias served when a request names no version.
    pub const CHAMPION: &'static str = "champion";
    /// The reserved pseudo-alias for the newest version.
    pub const LATEST: &'static str = "latest";

    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.is_empty() || raw.len() > MAX_ALIAS {
            return Err(NameError(format!(
                "an alias must be 1-{MAX_ALIAS} characters"
            )));
        }
        if !raw.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(NameError("an alias must start with a letter a-z".into()));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
        {
            return Err(NameError(format!(
                "an alias may only use a-z, 0-9, '-' and '_'; found {bad:?}"
            )));
        }
        if raw == Self::LATEST {
            return Err(NameError(
                "'latest' is reserved: it always means the newest version".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses a version number as sent by clients: a positive integer, possibly as a string.
pub fn parse_version_number(raw: &str) -> Result<i64, NameError> {
    match raw.trim().parse::<i64>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(NameError(format!(
            "a version is a positive integer, not {raw:?}"
        ))),
    }
}

/// How a request names a version: a number, an alias, or `latest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    Number(i64),
    Alias(AliasName),
    Latest,
}

impl VersionRef {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.starts_with(|c: char| c.is_ascii_digit()) {
            return parse_version_number(raw).map(Self::Number);
        }
        if raw == AliasName::LATEST {
            return Ok(Self::Latest);
        }
        AliasName::parse(raw).map(Self::Alias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_accept_the_documented_alphabet() {
        for ok in [
            "fraud",
            "a",
            "9lives",
            "cloud-forensics_v2.onnx",
            &"x".repeat(100),
        ] {
            assert!(ModelName::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn model_names_refuse_paths_dots_colons_case_and_length() {
        for bad in [
            "",
            "../etc",
            "a/b",
            "a\\b",
            "a..b",
            "peer:model",
            "-lead",
            ".hidden",
            "Upper",
            "spa ce",
            "é",
            &"x".repeat(101),
        ] {
            assert!(ModelName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn imported_names_use_the_reserved_colon() {
        let name = ModelName::imported("org-b", "fraud").unwrap();
        assert_eq!(name.as_str(), "org-b:fraud");
        assert!(name.is_imported());
        assert_eq!(ModelName::parse_any("org-b:fraud").unwrap(), name);
        assert!(ModelName::imported("org-b", "../x").is_err());
        assert!(ModelName::parse_any("a:b:c").is_err());
    }

    #[test]
    fn aliases_start_with_a_letter_and_latest_is_reserved() {
        assert!(AliasName::parse("champion").is_ok());
        assert!(AliasName::parse("canary-2").is_ok());
        for bad in ["", "2nd", "latest", "Champion", "a.b", &"a".repeat(65)] {
            assert!(AliasName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn version_refs_tell_numbers_aliases_and_latest_apart() {
        assert_eq!(VersionRef::parse("3").unwrap(), VersionRef::Number(3));
        assert_eq!(VersionRef::parse("latest").unwrap(), VersionRef::Latest);
        assert!(matches!(
            VersionRef::parse("champion").unwrap(),
            VersionRef::Alias(_)
        ));
        assert!(VersionRef::parse("0").is_err());
        assert!(VersionRef::parse("3x").is_err());
    }
}
