//! The federation commands: `federation init` makes certificates and prints what a peer needs;
//! `peer`, `share` and `subscription` manage the rest, refusing bad input with a reason.

use std::{
    io::Write,
    os::unix::fs::PermissionsExt,
    path::Path,
    process::{Command, Output, Stdio},
};

use caravan_federation::PeerIdentity;
use rustls::pki_types::{CertificateDer, pem::PemObject};

const BIN: &str = env!("CARGO_BIN_EXE_caravan");

/// Runs `caravan` in `dir` as the instance named `name`.
fn caravan(dir: &Path, name: &str, args: &[&str]) -> Output {
    let config = dir.join("caravan.toml");
    std::fs::write(&config, format!("[federation]\nname = \"{name}\"\n")).unwrap();
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("CARAVAN_CONFIG")
        .env_remove("CARAVAN_ADMIN_PASSWORD")
        .arg("--config")
        .arg(&config)
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn refused(output: Output, reason: &str) {
    assert!(!output.status.success(), "should have failed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(reason), "{reason:?} should be in {stderr}");
}

/// The value printed after `--flag` in `federation init`'s output.
fn printed(output: &str, flag: &str) -> String {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(flag))
        .unwrap_or_else(|| panic!("{flag} in {output}"));
    line.trim_start()[flag.len()..]
        .trim()
        .trim_matches('"')
        .to_owned()
}

fn identity(cert: &Path) -> PeerIdentity {
    let der = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    PeerIdentity::from_der(&der).unwrap()
}

#[test]
fn init_prints_what_peers_need_and_the_peer_commands_use_it() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let out = ok(caravan(
        a.path(),
        "org-a",
        &["federation", "init", "--out", "fed"],
    ));
    let fed = a.path().join("fed");
    for (file, mode) in [
        ("ca.pem", 0o644),
        ("ca.key", 0o600),
        ("cert.pem", 0o644),
        ("key.pem", 0o600),
    ] {
        let meta = std::fs::metadata(fed.join(file)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    let cert = identity(&fed.join("cert.pem"));
    assert_eq!(printed(&out, "--fingerprint"), cert.fingerprint);
    assert_eq!(printed(&out, "--subject"), cert.subject);
    assert!(cert.subject.contains("CN=org-a"));
    let key = printed(&out, "--signing-key");
    assert!(key.starts_with("ed25519:"));
    let again = ok(caravan(
        a.path(),
        "org-a",
        &["federation", "init", "--out", "fed2"],
    ));
    assert_eq!(
        printed(&again, "--signing-key"),
        key,
        "one signing key per instance"
    );

    // B's certificate comes from A's CA: no CA of its own is written.
    let ca_cert = fed.join("ca.pem");
    let ca_key = fed.join("ca.key");
    let args = [
        "federation",
        "init",
        "--out",
        "fed",
        "--ca-cert",
        ca_cert.to_str().unwrap(),
        "--ca-key",
        ca_key.to_str().unwrap(),
    ];
    ok(caravan(b.path(), "org-b", &args));
    assert!(b.path().join("fed/cert.pem").is_file());
    assert!(!b.path().join("fed/ca.pem").exists());

    let subject = cert.subject.as_str();
    let fingerprint = cert.fingerprint.as_str();
    let add = |name: &str, url: &str, key: &str| {
        caravan(
            b.path(),
            "org-b",
            &[
                "peer",
                "add",
                name,
                "--url",
                url,
                "--subject",
                subject,
                "--fingerprint",
                fingerprint,
                "--signing-key",
                key,
            ],
        )
    };
    refused(add("org-a", "http://127.0.0.1:9443", &key), "https://");
    refused(
        add("org-a", "https://127.0.0.1:9443", "ed25519:AAAA"),
        "signing key",
    );
    refused(add("bad/name", "https://127.0.0.1:9443", &key), "peer name");
    assert!(ok(add("org-a", "https://127.0.0.1:9443", &key)).contains("registered peer org-a"));
    refused(add("org-a", "https://127.0.0.1:9443", &key), "exists");
    let list = ok(caravan(b.path(), "org-b", &["peer", "list"]));
    assert_eq!(
        list.trim(),
        format!("org-a\tactive\thttps://127.0.0.1:9443\t{fingerprint}")
    );
    ok(caravan(b.path(), "org-b", &["peer", "disable", "org-a"]));
    assert!(ok(caravan(b.path(), "org-b", &["peer", "list"])).contains("org-a\tdisabled"));
    ok(caravan(b.path(), "org-b", &["peer", "enable", "org-a"]));

    let mut create = Command::new(BIN)
        .current_dir(b.path())
        .args(["user", "create", "owner", "--role", "user"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"owner-password-1\n")
        .unwrap();
    assert!(create.wait_with_output().unwrap().status.success());
    let sub = |args: &[&str]| {
        let mut all = vec!["subscription", "add", "org-a"];
        all.extend_from_slice(args);
        caravan(b.path(), "org-b", &all)
    };
    refused(sub(&["--owner", "nobody"]), "nobody");
    refused(
        sub(&["--owner", "owner", "--visibility", "everyone"]),
        "visibility",
    );
    refused(sub(&["--owner", "owner", "--catalog", "secret"]), "catalog");
    let id = ok(sub(&["--owner", "owner", "--visibility", "organization"]));
    let id = id.trim();
    assert_eq!(id.len(), 36, "{id}");
    assert!(ok(caravan(b.path(), "org-b", &["subscription", "list"])).starts_with(id));
    refused(
        caravan(b.path(), "org-b", &["share", "add", "nosuch", "org-a"]),
        "nosuch",
    );
    ok(caravan(b.path(), "org-b", &["subscription", "remove", id]));
    assert!(ok(caravan(b.path(), "org-b", &["subscription", "list"])).is_empty());
    ok(caravan(b.path(), "org-b", &["peer", "remove", "org-a"]));
    assert!(ok(caravan(b.path(), "org-b", &["peer", "list"])).contains("removed"));
}
