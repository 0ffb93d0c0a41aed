//! ONNX Runtime's error messages name its own source files and C++ functions
//! (`/onnxruntime_src/onnxruntime/core/...cc:360 void* onnxruntime::BFCArena::...(size_t, ...)`)
//! before the part that explains the failure. Clients get the explanation only.

const SOURCE_PREFIX: &str = "/onnxruntime_src/";

/// `message` without source locations and the C++ signatures that follow them.
pub fn without_internals(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(SOURCE_PREFIX) {
        out.push_str(&rest[..start]);
        let location = &rest[start..];
        let after = location[location.find(' ').unwrap_or(location.len())..].trim_start();
        rest = skip_signature(after);
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Skips a C++ signature (`[type] ns::Class::method(args)`) at the start of `text`, if any.
fn skip_signature(text: &str) -> &str {
    let Some(open) = text.find('(') else {
        return text;
    };
    let head = &text[..open];
    // A signature: a qualified name, at most a return type before it, no sentence punctuation.
    let is_signature =
        head.contains("::") && head.split_whitespace().count() <= 3 && !head.contains(". ");
    if !is_signature {
        return text;
    }
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let end = open + i + 1;
                    // Trailing qualifiers such as `const`.
                    let tail = text[end..].trim_start();
                    return tail.strip_prefix("const ").unwrap_or(tail);
                }
            }
            _ => {}
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::without_internals;

    #[test]
    fn source_locations_and_signatures_are_removed_and_the_explanation_kept() {
        let arena = "Non-zero status code returned while running Expand node. Name:'' Status \
             Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* \
             onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) \
             Available memory of 536870912 is smaller than requested bytes of 10000000000";
        assert_eq!(
            without_internals(arena),
            "Non-zero status code returned while running Expand node. Name:'' Status Message: \
             Available memory of 536870912 is smaller than requested bytes of 10000000000"
        );
        let reshape = "Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/\
             reshape_helper.h:47 onnxruntime::ReshapeHelper::ReshapeHelper(const \
             onnxruntime::TensorShape&, onnxruntime::TensorShapeVector&, bool) input_shape_size \
             == size was false. The input tensor cannot be reshaped to the requested shape.";
        let cleaned = without_internals(reshape);
        assert_eq!(
            cleaned,
            "Status Message: input_shape_size == size was false. The input tensor cannot be \
             reshaped to the requested shape."
        );
        let plain = "tensorprotoutils.cc:434 ValidateExternalDataPathFromDir Absolute path";
        assert_eq!(without_internals(plain), plain);
        let bare = "at /onnxruntime_src/onnxruntime/core/a.cc:1 Something went wrong (badly)";
        assert_eq!(without_internals(bare), "at Something went wrong (badly)");
    }

    #[test]
    fn messages_without_internals_are_unchanged() {
        let text = "Got invalid dimensions for input: x for the following indices";
        assert_eq!(without_internals(text), text);
        assert_eq!(without_internals(""), "");
        assert_eq!(without_internals("/onnxruntime_src/"), "");
    }
}
