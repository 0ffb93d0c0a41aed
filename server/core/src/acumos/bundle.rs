//! Acumos model bundles: `model.zip` checked without extracting anything (a zip, no path
//! leaving its directory, no bomb), the license read, and the parts as pushed written into
//! the one zip Caravan stores (`model.zip`, `metadata.json`, `model.proto`, `license.json`).

use std::io::{Read, Seek, Write};
use std::path::Path;

use zip::{CompressionMethod, ZipArchive, ZipWriter, write::SimpleFileOptions};

/// Entries a `model.zip` may have.
const MAX_ENTRIES: usize = 10_000;
/// Unpacked size a `model.zip` may declare, and how many times its packed size.
const MAX_UNPACKED: u64 = 8 << 30;
const MAX_RATIO: u64 = 200;
/// The largest `license.json` read.
pub const MAX_LICENSE: usize = 64 << 10;

/// The file names inside a stored bundle.
pub const MODEL_ZIP: &str = "model.zip";
pub const METADATA_JSON: &str = "metadata.json";
pub const MODEL_PROTO: &str = "model.proto";
pub const LICENSE_JSON: &str = "license.json";

/// Checks `model.zip` from its central directory: it is a zip, every entry stays inside the
/// directory it would be unpacked to, and what it declares unpacked is not a bomb.
pub fn check_model_zip<R: Read + Seek>(reader: R, packed: u64) -> Result<(), String> {
    let mut archive =
        ZipArchive::new(reader).map_err(|_| "the model part is not a zip file".to_owned())?;
    if archive.len() > MAX_ENTRIES {
        return Err(format!("model.zip has more than {MAX_ENTRIES} entries"));
    }
    let mut unpacked: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|_| "model.zip has an entry that cannot be read".to_owned())?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let escapes = name.starts_with('/')
            || name.contains('\\')
            || name.contains('\0')
            || name.split('/').any(|part| part == "..")
            || entry.enclosed_name().is_none();
        if escapes {
            return Err(format!(
                "model.zip has an entry whose path leaves its directory: {:?}",
                name.chars().take(200).collect::<String>()
            ));
        }
        unpacked = unpacked.saturating_add(entry.size());
    }
    if unpacked > MAX_UNPACKED || unpacked > packed.max(1 << 20).saturating_mul(MAX_RATIO) {
        return Err(format!(
            "model.zip declares {unpacked} bytes unpacked from {packed}: refused as a zip bomb"
        ));
    }
    Ok(())
}

/// The license a `license.json` names: `{"license": "<SPDX id>"}` (what the Python client
/// sends for a string) or a full Acumos license profile.
pub fn license_name(bytes: &[u8]) -> Result<String, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("license.json is not JSON: {e}"))?;
    if let Some(id) = doc.get("license").and_then(|v| v.as_str()) {
        let id = id.trim();
        let plain = !id.is_empty()
            && id.len() <= 100
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.+ ()".contains(c));
        return plain
            .then(|| id.to_owned())
            .ok_or_else(|| "license.json's license is not an SPDX identifier".to_owned());
    }
    let required = [
        "$schema",
        "keyword",
        "licenseName",
        "copyright",
        "rtuRequired",
    ];
    let missing: Vec<&str> = required
        .into_iter()
        .filter(|k| doc.get(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "license.json is neither {{\"license\": \"<SPDX id>\"}} nor a license profile (missing {})",
            missing.join(", ")
        ));
    }
    Ok(doc["licenseName"]
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(100)
        .collect())
}

/// The parts of a bundle, as pushed.
pub struct BundleParts<'a> {
    pub model_zip: &'a Path,
    pub metadata: &'a [u8],
    pub proto: &'a [u8],
    pub license: Option<&'a [u8]>,
}

/// Writes the stored bundle to `out`: fixed timestamps, so the same parts make the same
/// bytes (and the same sha256: a push retried is recognised).
pub fn write_bundle<W: Write + Seek>(out: W, parts: &BundleParts<'_>) -> std::io::Result<W> {
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut zip = ZipWriter::new(out);
    // model.zip is compressed already.
    zip.start_file(MODEL_ZIP, stored.large_file(true))?;
    std::io::copy(&mut std::fs::File::open(parts.model_zip)?, &mut zip)?;
    zip.start_file(METADATA_JSON, deflated)?;
    zip.write_all(parts.metadata)?;
    zip.start_file(MODEL_PROTO, deflated)?;
    zip.write_all(parts.proto)?;
    if let Some(license) = parts.license {
        zip.start_file(LICENSE_JSON, deflated)?;
        zip.write_all(license)?;
    }
    zip.finish().map_err(std::io::Error::other)
}

/// Reads one part back out of a stored bundle, at most `limit` bytes.
pub fn read_part<R: Read + Seek>(reader: R, name: &str, limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    copy_part(reader, name, limit, &mut out)?;
    Ok(out)
}

/// Copies one part of a stored bundle into `out`, at most `limit` bytes; how many.
pub fn copy_part<R: Read + Seek, W: Write>(
    reader: R,
    name: &str,
    limit: u64,
    out: &mut W,
) -> Result<u64, String> {
    let mut archive = ZipArchive::new(reader).map_err(|e| e.to_string())?;
    let entry = archive.by_name(name).map_err(|e| e.to_string())?;
    std::io::copy(&mut entry.take(limit), out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn model_zips_that_escape_or_explode_are_refused() {
        let ok = zip_of(&[("model.pkl", b"x"), ("scripts/a.py", b"y")]);
        check_model_zip(Cursor::new(&ok), ok.len() as u64).unwrap();
        assert!(
            check_model_zip(Cursor::new(b"PK not a zip"), 12)
                .unwrap_err()
                .contains("not a zip")
        );
        for name in ["../evil.py", "/etc/passwd", "a/../../b", "a\\..\\b"] {
            let bad = zip_of(&[(name, b"x")]);
            let error = check_model_zip(Cursor::new(&bad), bad.len() as u64).unwrap_err();
            assert!(error.contains("leaves its directory"), "{name}: {error}");
        }
        // 300 MiB of zeros deflate to about 300 KiB.
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("zeros", SimpleFileOptions::default().large_file(true))
            .unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..300 {
            zip.write_all(&chunk).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        let error = check_model_zip(Cursor::new(&bomb), bomb.len() as u64).unwrap_err();
        assert!(error.contains("zip bomb"), "{error}");
    }

    #[test]
    fn licenses_are_an_spdx_id_or_a_profile() {
        assert_eq!(
            license_name(br#"{"license": "Apache-2.0"}"#).unwrap(),
            "Apache-2.0"
        );
        let profile = br#"{"$schema": "x", "keyword": "MIT", "licenseName": "MIT License",
            "copyright": {"year": 2021}, "rtuRequired": false}"#;
        assert_eq!(license_name(profile).unwrap(), "MIT License");
        assert!(license_name(b"nope").is_err());
        assert!(license_name(br#"{"license": "<script>"}"#).is_err());
        assert!(
            license_name(br#"{"keyword": "MIT"}"#)
                .unwrap_err()
                .contains("licenseName")
        );
    }

    #[test]
    fn a_bundle_is_the_same_bytes_for_the_same_parts_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.zip");
        std::fs::write(&model, zip_of(&[("model.pkl", b"x")])).unwrap();
        let parts = BundleParts {
            model_zip: &model,
            metadata: b"{}",
            proto: b"syntax = \"proto3\";",
            license: None,
        };
        let a = write_bundle(Cursor::new(Vec::new()), &parts)
            .unwrap()
            .into_inner();
        let b = write_bundle(Cursor::new(Vec::new()), &parts)
            .unwrap()
            .into_inner();
        assert_eq!(a, b);
        assert_eq!(
            read_part(Cursor::new(&a), MODEL_PROTO, 1 << 20).unwrap(),
            parts.proto
        );
        assert!(read_part(Cursor::new(&a), LICENSE_JSON, 1 << 20).is_err());
    }
}
