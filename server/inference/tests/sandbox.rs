//! The confinement the validator child applies to itself, tried in a child process (this test
//! binary run again): files it could read before are out of reach afterwards, from every
//! thread, and its working directory is empty and takes no new file.

use std::{path::Path, process::Command};

use caravan_inference::sandbox::{confine, running_as_root};

const PROBE: &str = "CARAVAN_SANDBOX_PROBE";

/// The child's side: confine, then report what could still be done, one fact per line.
fn probe(secret: &Path) {
    let readable_before = std::fs::read(secret).is_ok();
    // A thread started before confinement must end up confined as well.
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let earlier = std::thread::spawn(move || {
        wait.recv().unwrap();
        std::fs::read(secret_path()).is_ok()
    });
    let confinement = confine().expect("confine");
    go.send(()).unwrap();
    let file_name = secret.file_name().unwrap();
    println!("readable_before={readable_before}");
    println!("chrooted={}", confinement.chrooted);
    println!("landlocked={}", confinement.landlocked);
    println!("absolute={}", std::fs::read(secret).is_ok());
    println!("relative={}", std::fs::read(file_name).is_ok());
    println!("earlier_thread={}", earlier.join().unwrap());
    println!(
        "listing={}",
        std::fs::read_dir(".").is_ok_and(|mut d| d.next().is_some())
    );
    println!("create={}", std::fs::write("created", b"x").is_ok());
}

fn secret_path() -> String {
    std::env::var(PROBE).unwrap()
}

#[test]
fn a_confined_process_cannot_reach_the_files_it_could_read_before() {
    if let Ok(secret) = std::env::var(PROBE) {
        return probe(Path::new(&secret));
    }
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("caravan.db");
    std::fs::write(&secret, b"SQLite format 3\0").unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_confined_process_cannot_reach_the_files_it_could_read_before",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PROBE, &secret)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fact = |name: &str| {
        // The test harness prints its own words around the probe's lines.
        let value = stdout
            .split_whitespace()
            .find_map(|word| word.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"));
        value == "true"
    };
    assert!(fact("readable_before"), "{stdout}");
    // Run from the secret's directory, a relative name no longer reaches it.
    assert!(!fact("relative"), "{stdout}");
    assert!(!fact("listing"), "{stdout}");
    assert!(!fact("create"), "{stdout}");
    if running_as_root() {
        assert!(fact("chrooted"), "as root the child chroots: {stdout}");
    }
    if fact("chrooted") || fact("landlocked") {
        assert!(!fact("absolute"), "{stdout}");
        assert!(!fact("earlier_thread"), "{stdout}");
    }
}
