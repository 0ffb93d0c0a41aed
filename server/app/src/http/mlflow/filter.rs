//! MLflow's search filter grammar, as the registry accepts it: clauses joined by `AND`, each
//! `<identifier> <comparator> <value>`, identifiers `name`, `run_id`, `source_path` and
//! `tags.<key>` (`tag.` too; a key may be in backticks), comparators `= != LIKE ILIKE` and `IN`
//! for `run_id`, values in single or double quotes. Anything else is refused with a reason.

use super::MlflowError;

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Attribute(String),
    Tag(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Like,
    ILike,
    In,
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    target: Target,
    op: Op,
    values: Vec<String>,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Debug, Default)]
pub struct Filter(Vec<Clause>);

impl Filter {
    /// Parses `raw`, allowing the attributes in `attributes`.
    pub fn parse(raw: &str, attributes: &[&str]) -> Result<Self, MlflowError> {
        let mut tokens = Tokens::new(raw);
        let mut clauses = Vec::new();
        if tokens.at_end() {
            return Ok(Self(clauses));
        }
        loop {
            clauses.push(clause(&mut tokens, attributes)?);
            if tokens.at_end() {
                return Ok(Self(clauses));
            }
            let word = tokens.word()?;
            if !word.eq_ignore_ascii_case("and") {
                return Err(MlflowError::invalid(format!(
                    "filter: expected AND between clauses, found {word:?} (OR is not supported)"
                )));
            }
        }
    }

    /// Whether a row matches: `attribute(name)` and `tag(key)` give its values.
    pub fn matches(
        &self,
        attribute: impl Fn(&str) -> Option<String>,
        tag: impl Fn(&str) -> Option<String>,
    ) -> bool {
        self.0.iter().all(|c| {
            let value = match &c.target {
                Target::Attribute(a) => attribute(a),
                Target::Tag(k) => tag(k),
            };
            match (c.op, value) {
                // A row without the tag is not equal to any value (MLflow's own reading, which
                // its client's prompt guard `tags.mlflow.prompt.is_prompt != 'true'` relies on).
                (Op::Ne, None) => true,
                (_, None) => false,
                (Op::Eq, Some(v)) => v == c.values[0],
                (Op::Ne, Some(v)) => v != c.values[0],
                (Op::Like, Some(v)) => like(&v, &c.values[0], false),
                (Op::ILike, Some(v)) => like(&v, &c.values[0], true),
                (Op::In, Some(v)) => c.values.contains(&v),
            }
        })
    }
}

fn clause(tokens: &mut Tokens, attributes: &[&str]) -> Result<Clause, MlflowError> {
    let ident = tokens.word()?;
    let target = match ident.split_once('.') {
        Some((prefix, key))
            if prefix.eq_ignore_ascii_case("tags") || prefix.eq_ignore_ascii_case("tag") =>
        {
            let key = key.trim_matches('`');
            if key.is_empty() {
                return Err(MlflowError::invalid(
                    "filter: a tag needs a key (tags.<key>)",
                ));
            }
            Target::Tag(key.to_owned())
        }
        _ if attributes.contains(&ident.as_str()) => Target::Attribute(ident),
        _ => {
            return Err(MlflowError::invalid(format!(
                "filter: cannot search on {ident:?}; use {} or tags.<key>",
                attributes.join(", ")
            )));
        }
    };
    let op = match tokens.comparator()?.to_ascii_uppercase().as_str() {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        "LIKE" => Op::Like,
        "ILIKE" => Op::ILike,
        "IN" if target == Target::Attribute("run_id".into()) => Op::In,
        other => {
            return Err(MlflowError::invalid(format!(
                "filter: comparator {other:?} is not supported here; use =, !=, LIKE or ILIKE"
            )));
        }
    };
    let values = if op == Op::In {
        tokens.list()?
    } else {
        vec![tokens.string()?]
    };
    Ok(Clause { target, op, values })
}

/// SQL `LIKE`: `%` any run, `_` any one character. Greedy with one backtrack point (the last
/// `%`), so any pattern costs at most `value × pattern` steps: a filter is anyone's input.
fn like(value: &str, pattern: &str, fold: bool) -> bool {
    let (v, p): (Vec<char>, Vec<char>) = if fold {
        (
            value.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (value.chars().collect(), pattern.chars().collect())
    };
    let (mut i, mut j) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while i < v.len() {
        if j < p.len() && (p[j] == '_' || (p[j] != '%' && p[j] == v[i])) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            resume = Some((j, i));
            j += 1;
        } else if let Some((star, matched)) = resume {
            j = star + 1;
            i = matched + 1;
            resume = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[j..].iter().all(|&c| c == '%')
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(raw: &'a str) -> Self {
        Self { rest: raw.trim() }
    }

    fn at_end(&mut self) -> bool {
        self.rest = self.rest.trim_start();
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> &'a str {
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        head
    }

    /// An identifier (letters, digits, `_ . -`, and backticked parts).
    fn word(&mut self) -> Result<String, MlflowError> {
        self.at_end();
        let mut end = 0;
        let mut quoted = false;
        for (i, c) in self.rest.char_indices() {
            match c {
                '`' => quoted = !quoted,
                c if quoted || c.is_alphanumeric() || "_.-".contains(c) => {}
                _ => break,
            }
            end = i + c.len_utf8();
        }
        if end == 0 || quoted {
            return Err(MlflowError::invalid(format!(
                "filter: expected an identifier at {:?}",
                self.rest
            )));
        }
        Ok(self.take(end).to_owned())
    }

    fn comparator(&mut self) -> Result<String, MlflowError> {
        self.at_end();
        for symbol in ["!=", "="] {
            if self.rest.starts_with(symbol) {
                return Ok(self.take(symbol.len()).to_owned());
            }
        }
        self.word()
    }

    fn string(&mut self) -> Result<String, MlflowError> {
        self.at_end();
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| {
                MlflowError::invalid(format!(
                    "filter: expected a quoted value at {:?}",
                    self.rest
                ))
            })?;
        let body = &self.rest[1..];
        let close = body
            .find(quote)
            .ok_or_else(|| MlflowError::invalid("filter: a quoted value is not closed"))?;
        let value = body[..close].to_owned();
        self.rest = &body[close + 1..];
        Ok(value)
    }

    fn list(&mut self) -> Result<Vec<String>, MlflowError> {
        self.at_end();
        if !self.rest.starts_with('(') {
            return Err(MlflowError::invalid("filter: IN needs a list: ('a', 'b')"));
        }
        self.take(1);
        let mut values = vec![self.string()?];
        loop {
            self.at_end();
            match self.rest.chars().next() {
                Some(',') => {
                    self.take(1);
                    values.push(self.string()?);
                }
                Some(')') => {
                    self.take(1);
                    return Ok(values);
                }
                _ => return Err(MlflowError::invalid("filter: an IN list is not closed")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(filter: &str, name: &str, tags: &[(&str, &str)]) -> bool {
        let f = Filter::parse(filter, &["name", "run_id"]).unwrap();
        f.matches(
            |a| (a == "name").then(|| name.to_owned()),
            |k| {
                tags.iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| (*v).to_owned())
            },
        )
    }

    #[test]
    fn the_clients_prompt_guard_matches_models_without_the_tag() {
        let guard = "tag.`mlflow.prompt.is_prompt` != 'true'";
        assert!(row(guard, "m", &[]));
        assert!(!row(guard, "m", &[("mlflow.prompt.is_prompt", "true")]));
        let joined = "name LIKE 'm%' AND tag.`mlflow.prompt.is_prompt` != 'true'";
        assert!(row(joined, "model", &[]));
        assert!(!row(joined, "other", &[]));
    }

    #[test]
    fn comparators_compare_as_mlflow_does() {
        assert!(row("name = 'fraud'", "fraud", &[]));
        assert!(row("name=\"fraud\"", "fraud", &[]));
        assert!(!row("name = 'Fraud'", "fraud", &[]));
        assert!(row("name ILIKE 'FR%'", "fraud", &[]));
        assert!(!row("name LIKE 'FR%'", "fraud", &[]));
        assert!(row("name like 'fr_ud'", "fraud", &[]));
        assert!(row("tags.team = 'risk'", "m", &[("team", "risk")]));
        assert!(!row("tags.team = 'risk'", "m", &[]));
        assert!(row("", "anything", &[]));
        assert!(row("name LIKE '%a%d'", "fraud", &[]));
        assert!(!row("name LIKE 'f%x'", "fraud", &[]));
        assert!(row("name LIKE '%%fraud%%'", "fraud", &[]));
    }

    #[test]
    fn a_pattern_of_many_wildcards_is_matched_without_backtracking_blowup() {
        // Exponential with naive recursion: this would not finish.
        let pattern = format!("name LIKE '{}x'", "%".repeat(40));
        assert!(!row(&pattern, &"a".repeat(60), &[]));
        let pattern = format!("name ILIKE '{}A'", "%_".repeat(30));
        assert!(row(&pattern, &"a".repeat(61), &[]));
    }

    #[test]
    fn filters_outside_the_grammar_are_refused_with_a_reason() {
        for bad in [
            "name = 'a' OR name = 'b'",
            "description = 'x'",
            "name > 'a'",
            "name = fraud",
            "name = 'open",
            "name IN ('a')",
            "run_id IN ('a'",
            "tags. = 'x'",
        ] {
            assert!(Filter::parse(bad, &["name", "run_id"]).is_err(), "{bad}");
        }
        assert!(Filter::parse("run_id IN ('a', 'b')", &["name", "run_id"]).is_ok());
    }
}
