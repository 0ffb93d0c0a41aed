//! Where the session-signing key comes from. Never the database: whoever can read the
//! database (or a backup, or a file-read hole) could forge an administrator's session. It is
//! configured (`auth.jwt_secret`, with `auth.jwt_previous_secret` still accepted during a
//! rotation), or kept in a file of its own, `auth.jwt_secret_file` (mode 0600, one key per
//! line: the signing key, then the previous one). An instance whose key still sits in the
//! database from an earlier release moves it to that file on start, so sessions stay valid.

use std::{
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use anyhow::Context;
use caravan_catalog::Catalog;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::config::Settings;

/// Where an earlier release kept the key.
const LEGACY_SETTING: &str = "auth.jwt_secret";

/// The signing key and the keys still accepted.
pub struct JwtKeys {
    pub current: SecretString,
    pub previous: Vec<SecretString>,
}

/// The keys for this instance, creating the key file (or moving a key out of the database)
/// when there is none.
pub async fn resolve(settings: &Settings, catalog: &dyn Catalog) -> anyhow::Result<JwtKeys> {
    if !settings.auth.jwt_secret.expose_secret().is_empty() {
        // A configured key: a key left in the database by an earlier release is only deleted.
        catalog.remove_setting(LEGACY_SETTING).await?;
        let previous = Some(settings.auth.jwt_previous_secret.clone())
            .filter(|s| !s.expose_secret().is_empty());
        return Ok(JwtKeys {
            current: settings.auth.jwt_secret.clone(),
            previous: previous.into_iter().collect(),
        });
    }
    let file = settings.jwt_secret_file();
    if !file.exists() {
        // Read (an empty value stands for none), write the file, and only then delete it.
        let key = match catalog.setting_or_init(LEGACY_SETTING, "").await? {
            legacy if !legacy.is_empty() => legacy,
            _ => random_key(),
        };
        write_keys(&file, &[key.as_str()])?;
        if settings.database_url().starts_with("postgres") {
            tracing::warn!(
                file = %file.display(),
                "the session key was created in a local file; replicas sharing this database \
                 must share it too (set auth.jwt_secret for every replica)"
            );
        }
    }
    catalog.remove_setting(LEGACY_SETTING).await?;
    read_keys(&file)
}

/// Makes a new signing key in the key file, keeping the current one as the previous key.
/// Servers use it from their next start.
pub fn rotate(settings: &Settings) -> anyhow::Result<std::path::PathBuf> {
    anyhow::ensure!(
        settings.auth.jwt_secret.expose_secret().is_empty(),
        "the key is configured (auth.jwt_secret): set the new key there and the old one in \
         auth.jwt_previous_secret"
    );
    let file = settings.jwt_secret_file();
    let keys = read_keys(&file).context("the key file is made by the server's first start")?;
    let new = random_key();
    write_keys(&file, &[new.as_str(), keys.current.expose_secret()])?;
    Ok(file)
}

fn random_key() -> String {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    hex::encode(random)
}

fn read_keys(file: &Path) -> anyhow::Result<JwtKeys> {
    let mode = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(file = %file.display(), mode = format!("{:o}", mode & 0o777),
            "the session key file can be read by other users; chmod 600 it");
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let mut keys = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let current = keys
        .next()
        .with_context(|| format!("{} holds no key", file.display()))?;
    Ok(JwtKeys {
        current: SecretString::from(current.to_owned()),
        previous: keys.map(|k| SecretString::from(k.to_owned())).collect(),
    })
}

/// Writes the keys to a new file beside `file` (mode 0600 from the start), then renames it
/// over `file`, so a reader never sees half a key.
fn write_keys(file: &Path, keys: &[&str]) -> anyhow::Result<()> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let temp = file.with_extension(format!("new-{}", std::process::id()));
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .with_context(|| format!("creating {}", temp.display()))?;
    out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    for key in keys {
        writeln!(out, "{key}")?;
    }
    out.sync_all()?;
    std::fs::rename(&temp, file).with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}
