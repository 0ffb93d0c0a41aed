//! `caravan login` and where it keeps what it learns: one JSON file, readable by its owner
//! only (mode 0600 in a 0700 directory), mapping server URLs to API tokens, with the last
//! server logged in to as the default.

use std::{
    collections::BTreeMap,
    io::{BufRead, IsTerminal, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::PathBuf,
};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Api, ClientError, Result, io_error};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    pub default: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, Server>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Server {
    token: String,
}

/// `CARAVAN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/caravan`, else `~/.config/caravan`.
pub fn config_dir() -> Result<PathBuf> {
    dir("CARAVAN_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")
}

/// `CARAVAN_CACHE_DIR`, else `$XDG_CACHE_HOME/caravan`, else `~/.cache/caravan`.
pub fn cache_dir() -> Result<PathBuf> {
    dir("CARAVAN_CACHE_DIR", "XDG_CACHE_HOME", ".cache")
}

fn dir(own: &str, xdg: &str, home_sub: &str) -> Result<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var(own) {
        return Ok(dir);
    }
    if let Some(dir) = var(xdg) {
        return Ok(dir.join("caravan"));
    }
    var("HOME")
        .map(|home| home.join(home_sub).join("caravan"))
        .ok_or_else(|| ClientError::Usage(format!("set HOME or {own}")))
}

fn store_path() -> Result<PathBuf> {
    Ok(config_dir()?.join("credentials.json"))
}

impl Store {
    pub fn load() -> Result<Self> {
        let path = store_path()?;
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Failed(format!("{} is not valid: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ClientError::Failed(format!(
                "reading {}: {e}",
                path.display()
            ))),
        }
    }

    pub fn token_for(&self, url: &str) -> Option<String> {
        self.servers
            .get(url.trim_end_matches('/'))
            .map(|s| s.token.clone())
    }

    /// Writes the file whole, owner-only, replacing the old one at once.
    fn save(&self) -> Result<PathBuf> {
        let path = store_path()?;
        let dir = path.parent().expect("a file in a directory");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("creating the configuration directory"))?;
        let temp = dir.join(".credentials.json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_error("writing the credentials"))?;
        // An existing file keeps its mode through `open`: make sure.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_error("writing the credentials"))?;
        file.write_all(&serde_json::to_vec_pretty(self).expect("serializable"))
            .map_err(io_error("writing the credentials"))?;
        std::fs::rename(&temp, &path).map_err(io_error("writing the credentials"))?;
        Ok(path)
    }
}

/// Signs in to `url` and keeps an API token for it: a token read from standard input
/// (`--token-stdin`), checked with the server; or a username and password (from
/// `CARAVAN_PASSWORD` or the first line of standard input) exchanged for a new API token with
/// the `read`, `publish` and `deploy` scopes, so that no password is ever stored.
pub async fn login(url: String, username: Option<String>, token_stdin: bool) -> Result<()> {
    let url = url.trim_end_matches('/').to_owned();
    let token = if token_stdin {
        let token = first_line("the token")?;
        let api = Api::new(&url, Some(token.clone()))?;
        api.json("checking the token", || {
            api.request(Method::GET, "/api/v1/me")
        })
        .await?;
        token
    } else {
        let username = username.ok_or_else(|| {
            ClientError::Usage("pass --username (or --token-stdin with an API token)".into())
        })?;
        let password = match std::env::var("CARAVAN_PASSWORD") {
            Ok(p) if !p.is_empty() => p,
            _ => first_line("the password")?,
        };
        let anonymous = Api::new(&url, None)?;
        let body = json!({"username": username, "password": password});
        let session = anonymous
            .json("signing in", || {
                anonymous
                    .request(Method::POST, "/api/v1/auth/login")
                    .json(&body)
            })
            .await?;
        let session = session["token"].as_str().unwrap_or_default().to_owned();
        let api = Api::new(&url, Some(session))?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
        let body = json!({"name": format!("caravan login on {host}"),
            "scopes": ["read", "publish", "deploy"]});
        let created = api
            .json("creating an API token", || {
                api.request(Method::POST, "/api/v1/tokens").json(&body)
            })
            .await?;
        created["token"].as_str().unwrap_or_default().to_owned()
    };
    let mut store = Store::load()?;
    store.servers.insert(url.clone(), Server { token });
    store.default = Some(url.clone());
    let path = store.save()?;
    eprintln!("logged in to {url}; the token is in {}", path.display());
    Ok(())
}

fn first_line(what: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{what}: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(io_error("reading standard input"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        return Err(ClientError::Usage(format!("{what} is empty")));
    }
    Ok(line)
}
