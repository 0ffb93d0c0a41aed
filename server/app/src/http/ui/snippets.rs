//! The curl and Python snippets on a model's page. Every string in them that a publisher or
//! the request controls (tensor names, the model name, the URL, example data) is quoted for
//! the language it lands in, so a pasted snippet runs nothing but the request: single quotes
//! for the shell, JSON string literals (which Python reads as the same string) for Python.

use caravan_domain::TensorType;

use super::model::TryInput;

/// `s` as one shell word: single-quoted, with each `'` closed, escaped and reopened.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `s` as a Python string literal.
pub fn python_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// The curl and Python (tritonclient) snippets that call a version with example inputs.
pub fn snippets(base: &str, name: &str, inputs: &[TryInput]) -> (String, String) {
    let body: Vec<serde_json::Value> = inputs
        .iter()
        .map(|i| {
            serde_json::json!({
                "name": i.name, "shape": i.shape, "datatype": i.datatype,
                "data": serde_json::from_str::<serde_json::Value>(&i.example).unwrap_or_default(),
            })
        })
        .collect();
    let body = serde_json::json!({ "inputs": body }).to_string();
    let url = format!("{base}/v2/models/{name}/infer");
    let curl = format!(
        "curl -H \"Authorization: Bearer $CARAVAN_TOKEN\" -H 'Content-Type: application/json' \\\n  -d {} \\\n  {}",
        shell_quote(&body),
        shell_quote(&url)
    );
    let mut python =
        String::from("import os\n\nimport numpy as np\nimport tritonclient.http as httpclient\n\n");
    let host = base.split("://").nth(1).unwrap_or(base);
    python.push_str(&format!(
        "client = httpclient.InferenceServerClient({}{})\nheaders = {{\"Authorization\": \"Bearer \" + os.environ[\"CARAVAN_TOKEN\"]}}\ninputs = []\n",
        python_str(host),
        if base.starts_with("https") { ", ssl=True" } else { "" }
    ));
    for i in inputs {
        let datatype = serde_json::to_value(i.datatype).unwrap_or_default();
        python.push_str(&format!(
            "x = httpclient.InferInput({}, {:?}, {})\nx.set_data_from_numpy(np.zeros({:?}, dtype=np.{}))\ninputs.append(x)\n",
            python_str(&i.name),
            i.shape,
            python_str(datatype.as_str().unwrap_or("")),
            i.shape,
            numpy_type(i.datatype)
        ));
    }
    python.push_str(&format!(
        "result = client.infer({}, inputs, headers=headers)\nprint(result.get_response())\n",
        python_str(name)
    ));
    (curl, python)
}

fn numpy_type(t: TensorType) -> &'static str {
    match t {
        TensorType::Bool => "bool_",
        TensorType::Uint8 => "uint8",
        TensorType::Uint16 => "uint16",
        TensorType::Uint32 => "uint32",
        TensorType::Uint64 => "uint64",
        TensorType::Int8 => "int8",
        TensorType::Int16 => "int16",
        TensorType::Int32 => "int32",
        TensorType::Int64 => "int64",
        TensorType::Fp16 => "float16",
        TensorType::Fp64 => "float64",
        TensorType::Bytes => "object_",
        TensorType::Fp32 | TensorType::Bf16 => "float32",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_keep_every_character_literal() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(id)`id`\"\\"), "'$(id)`id`\"\\'");
    }

    #[test]
    fn python_literals_escape_quotes_backslashes_and_newlines() {
        assert_eq!(
            python_str(r#""); os.system("id"#),
            r#""\"); os.system(\"id""#
        );
        assert_eq!(python_str("a\nb\\"), r#""a\nb\\""#);
    }
}
