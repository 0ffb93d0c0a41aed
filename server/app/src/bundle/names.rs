//! Names for what a bundle creates. Model names allow `_`, `.` and (imported models) `:`, and
//! run to 201 characters; Kubernetes names and label values are DNS labels (`a-z 0-9 -`, at
//! most 63, alphanumeric at both ends) and image names allow no `:` in the repository.

use sha2::{Digest, Sha256};

/// Longest Kubernetes resource name the bundles use (a DNS label).
const MAX_LABEL: usize = 63;

/// A DNS label for `model` with `suffix` (such as `v3`; empty for none): characters outside `a-z 0-9 -`
/// become `-`, runs of `-` collapse, and a name that had to change or be shortened gets eight
/// hex digits of the model name's SHA-256, so two models never share a label by accident.
pub fn dns_label(model: &str, suffix: &str) -> String {
    let mut base = String::with_capacity(model.len());
    for c in model.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && base.ends_with('-')) {
            base.push(c);
        }
    }
    let base = base.trim_matches('-');
    let exact = base == model;
    let mut tail = String::new();
    if !exact {
        tail = format!("-{}", &hex::encode(Sha256::digest(model.as_bytes()))[..8]);
    }
    if !suffix.is_empty() {
        tail = format!("{tail}-{suffix}");
    }
    let room = MAX_LABEL.saturating_sub(tail.len());
    let head = base[..base.len().min(room)].trim_end_matches('-');
    let head = if head.is_empty() { "model" } else { head };
    format!("{head}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_dns_label(s: &str) -> bool {
        s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(dns_label("fraud", "v3"), "fraud-v3");
        assert_eq!(
            dns_label("cloud-forensics", "champion"),
            "cloud-forensics-champion"
        );
        assert_eq!(dns_label("fraud", ""), "fraud");
    }

    #[test]
    fn other_characters_and_long_names_become_distinct_labels() {
        let a = dns_label("peer:fraud_v2.onnx", "v1");
        let b = dns_label("peer:fraud-v2-onnx", "v1");
        assert!(a.starts_with("peer-fraud-v2-onnx-"), "{a}");
        assert_ne!(a, b, "a changed name carries a digest of the original");
        let long = dns_label(&"x".repeat(100), "v12");
        assert!(is_dns_label(&long), "{long}");
        for name in [
            "_a",
            "..x",
            "9",
            "a.-_b",
            &"-".repeat(50),
            &"a:b".repeat(60),
        ] {
            let label = dns_label(name, "v1");
            assert!(is_dns_label(&label), "{name:?} gave {label:?}");
        }
    }
}
