//! A request's arguments as MLflow's client sends them: in the query string for GET, in a
//! JSON body for POST, PATCH and DELETE. Values are typed as MLflow's protos type them: a
//! `version` is a string, and a number there is refused as the MLflow server refuses it.

use actix_web::{HttpRequest, web};
use serde_json::{Map, Value};

use super::MlflowError;

pub struct Args(Map<String, Value>);

impl Args {
    /// Query parameters (a repeated one becomes a list) merged with a JSON object body.
    pub fn of(req: &HttpRequest, body: &web::Bytes) -> Result<Self, MlflowError> {
        let mut map = Map::new();
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(req.query_string())?;
        for (key, value) in pairs {
            let key = key.trim_end_matches("[]").to_owned();
            match map.get_mut(&key) {
                Some(Value::Array(list)) => list.push(Value::String(value)),
                Some(first) => *first = Value::Array(vec![first.take(), Value::String(value)]),
                None => {
                    map.insert(key, Value::String(value));
                }
            }
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(fields)) => map.extend(fields),
                _ => {
                    return Err(MlflowError::invalid(
                        "the request body must be a JSON object",
                    ));
                }
            }
        }
        Ok(Self(map))
    }

    /// MLflow's `tags`: a list of `{"key", "value"}`.
    pub fn tags(&self) -> Result<Vec<(String, String)>, MlflowError> {
        self.pairs("tags")
    }

    /// A list of JSON values (absent: empty).
    pub fn list(&self, key: &str) -> Result<&[Value], MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(MlflowError::invalid(format!("'{key}' must be a list"))),
        }
    }

    /// `{"key", "value"}` pairs under `key` (MLflow's params and tags).
    pub fn pairs(&self, key: &str) -> Result<Vec<(String, String)>, MlflowError> {
        self.list(key)?
            .iter()
            .map(|t| match (t["key"].as_str(), &t["value"]) {
                (Some(k), Value::String(v)) => Some((k.to_owned(), v.clone())),
                (Some(k), Value::Null) => Some((k.to_owned(), String::new())),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                MlflowError::invalid(format!(
                    "{key} must be a list of {{\"key\", \"value\"}} objects"
                ))
            })
    }

    /// A string argument, if present.
    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(MlflowError::invalid(format!(
                "'{key}' must be a string, not {other}"
            ))),
        }
    }

    /// A required string argument.
    pub fn str(&self, key: &str) -> Result<&str, MlflowError> {
        self.opt_str(key)?.filter(|s| !s.is_empty()).ok_or_else(|| {
            MlflowError::invalid(format!("missing value for required parameter '{key}'"))
        })
    }

    /// A list of strings (one value or several).
    pub fn strings(&self, key: &str) -> Result<Vec<String>, MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| MlflowError::invalid(format!("'{key}' must be a list of strings"))),
            Some(_) => Err(MlflowError::invalid(format!(
                "'{key}' must be a list of strings"
            ))),
        }
    }

    /// An integer argument (a JSON number, or a numeric string from a query).
    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, MlflowError> {
        match self.0.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some),
            Some(Value::String(s)) => s.parse().ok().map(Some),
            Some(_) => None,
        }
        .ok_or_else(|| MlflowError::invalid(format!("'{key}' must be an integer")))
    }

    /// A model version: a string holding a positive integer.
    pub fn version(&self) -> Result<i64, MlflowError> {
        let raw = self.str("version")?;
        caravan_domain::parse_version_number(raw).map_err(|_| {
            MlflowError::invalid(format!("version must be a positive integer, not {raw:?}"))
        })
    }
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, MlflowError> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|_| MlflowError::invalid("malformed query string"))
}
