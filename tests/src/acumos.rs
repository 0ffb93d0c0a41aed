//! Acumos bundle parts for tests: a zip of named entries (what model.zip is).

use std::io::Write;

/// A zip holding `entries` (name, bytes), deflated, in order.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("a zip entry");
        zip.write_all(data).expect("zip data");
    }
    zip.finish().expect("a zip").into_inner()
}
