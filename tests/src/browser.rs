//! `Browser`: headless Chromium driven over WebDriver (fantoccini), for end-to-end tests of
//! the web UI. Each one has its own chromedriver and a fresh profile, so tests that use one run
//! in parallel without sharing cookies, storage or a driver.

mod driver;

use std::{
    collections::HashMap,
    ops::Deref,
    path::PathBuf,
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

use driver::{ChromeDriver, executable};

/// How long the helpers wait for an element or a text to appear (a page under a loaded CI
/// machine once took more than 10 s to show the upload form).
pub const WAIT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);

/// A screenshot with fewer distinct colours than this is taken for a blank page.
const MIN_COLOURS: usize = 8;
/// A screenshot in which one colour covers more than this many pixels per thousand is taken for
/// a blank page.
const MAX_COMMONEST_PER_MILLE: usize = 995;

/// A headless Chromium session. Derefs to the `fantoccini::Client` for anything the helpers
/// do not cover. Dropping it quits the browser and chromedriver; `close` also ends the WebDriver
/// session cleanly.
pub struct Browser {
    // Fields drop in order: the session, then the driver (which quits Chromium), then the
    // profile Chromium was writing to.
    client: Client,
    base: String,
    driver: ChromeDriver,
    profile: tempfile::TempDir,
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Starts chromedriver and Chromium with a fresh profile; relative paths given to `goto`
    /// are resolved against `base` (such as `TestApp::base`).
    pub async fn launch(base: &str) -> Browser {
        let chromium = executable("CARAVAN_CHROMIUM", "/usr/bin/chromium", "Chromium");
        // Starting the driver blocks on its output and its /status, so it runs off the runtime.
        let driver = match tokio::task::spawn_blocking(ChromeDriver::start).await {
            Ok(driver) => driver,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", profile.path().display())]);
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args.collect::<Vec<_>>(),
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        let client = ClientBuilder::rustls()
            .expect("a rustls connector for WebDriver")
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver could not start {} (run scripts/install-browser.sh): {e}\n{}",
                    chromium.display(),
                    driver.output()
                )
            });
        Browser {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            profile,
        }
    }

    /// The chromedriver process's id.
    pub fn driver_pid(&self) -> u32 {
        self.driver.pid()
    }

    /// The id of Chromium's browser process, as chromedriver reported it.
    pub fn browser_pid(&self) -> u32 {
        let capabilities = self
            .client
            .capabilities()
            .expect("the session's capabilities");
        let pid = capabilities.get("goog:processID").and_then(Value::as_u64);
        let pid = pid.unwrap_or_else(|| panic!("no goog:processID in {capabilities:?}"));
        u32::try_from(pid).expect("a process id fits in u32")
    }

    /// Opens `path_or_url`: a path starting with `/` is on the app, anything else is a URL.
    pub async fn goto(&self, path_or_url: &str) {
        let url = if path_or_url.starts_with('/') {
            format!("{}{path_or_url}", self.base)
        } else {
            path_or_url.to_owned()
        };
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The first element matching `css`, once there is one (within `WAIT`).
    pub async fn wait_for(&self, css: &str) -> Element {
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(e) => panic!(
                "no element matched {css:?} within {WAIT:?} on {}: {e}",
                self.url_for_messages().await
            ),
        }
    }

    /// Waits until the first element matching `css` has a text containing `needle`, and
    /// returns that text; panics with the last text seen after `WAIT`.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            // The element may not exist yet, or be replaced while it is read; both mean "not
            // yet" until the deadline.
            let last = match self.client.find(Locator::Css(css)).await {
                Ok(element) => match element.text().await {
                    Ok(text) if text.contains(needle) => return text,
                    Ok(text) => format!("{text:?}"),
                    Err(e) => format!("(unreadable: {e})"),
                },
                Err(e) => format!("(no element: {e})"),
            };
            if Instant::now() >= deadline {
                panic!(
                    "{css:?} did not contain {needle:?} within {WAIT:?} on {}; last seen: {last}",
                    self.url_for_messages().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Replaces the value of the input matching `css` with `value`, as typed keys.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.wait_for(css).await;
        input
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing {css:?}: {e}"));
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("typing into {css:?}: {e}"));
    }

    /// Clicks the element matching `css` once it exists.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css:?}: {e}"));
    }

    /// Saves a screenshot of the page as `target/e2e-screenshots/<name>.png` (for a person to
    /// look at after a run) and asserts that it is not blank; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("taking screenshot {name}: {e}"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        // Written aside and renamed, so that a test taking the same screenshot in parallel never
        // leaves a mix of two files.
        let partial = dir.join(format!(
            "{name}.png.{}.partial",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&partial, &png).unwrap_or_else(|e| panic!("{}: {e}", partial.display()));
        std::fs::rename(&partial, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Some(reason) = blank_reason(&png) {
            panic!(
                "screenshot {} of {} looks blank: {reason}",
                path.display(),
                self.url_for_messages().await
            );
        }
        path
    }

    /// Ends the WebDriver session, then quits chromedriver and removes the profile.
    pub async fn close(self) {
        let Browser {
            client,
            driver,
            profile,
            ..
        } = self;
        client
            .close()
            .await
            .unwrap_or_else(|e| panic!("closing the session: {e}\n{}", driver.output()));
        drop(driver);
        drop(profile);
    }

    async fn url_for_messages(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("(unknown page: {e})"),
        }
    }
}

/// `target/e2e-screenshots`: the test executable is `target/<profile>/deps/<name>`.
fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test executable is under target/");
    target.join("e2e-screenshots")
}

/// Why the PNG `png` looks like a blank page, or `None` when it shows something: too few
/// distinct colours, or one colour covering nearly every pixel.
pub fn blank_reason(png: &[u8]) -> Option<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = match decoder.read_info() {
        Ok(reader) => reader,
        Err(e) => return Some(format!("not a PNG: {e}")),
    };
    let mut pixels = vec![
        0;
        reader
            .output_buffer_size()
            .expect("a screenshot fits in memory")
    ];
    let info = match reader.next_frame(&mut pixels) {
        Ok(info) => info,
        Err(e) => return Some(format!("undecodable PNG: {e}")),
    };
    let mut counts = HashMap::<&[u8], usize>::new();
    for pixel in pixels[..info.buffer_size()].chunks_exact(info.color_type.samples()) {
        *counts.entry(pixel).or_default() += 1;
    }
    let total = counts.values().sum::<usize>();
    let commonest = counts.values().copied().max().unwrap_or_default();
    if counts.len() < MIN_COLOURS {
        return Some(format!(
            "{} distinct colours, fewer than {MIN_COLOURS}",
            counts.len()
        ));
    }
    if commonest * 1000 > total * MAX_COMMONEST_PER_MILLE {
        return Some(format!(
            "one colour covers {commonest} of {total} pixels, over {MAX_COMMONEST_PER_MILLE}‰"
        ));
    }
    None
}

/// Whether process `pid` exists and has not exited (a zombie has exited).
pub fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself contain spaces.
    let state = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Encodes 8-bit RGB pixels as a PNG, for tests of `blank_reason`.
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("a PNG header");
    writer.write_image_data(rgb).expect("PNG image data");
    writer.finish().expect("a complete PNG");
    png
}
