//! Progress of a push or pull on standard error: a bar at a terminal, plain lines elsewhere
//! (CI logs keep every line, so they get one per part or per tenth, never a redrawn bar).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    done: AtomicU64,
    tenths: AtomicU64,
}

impl Progress {
    /// Progress over `total` bytes; `start` of them are done already (a resumed transfer).
    pub fn new(label: &str, total: u64, start: u64) -> Self {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar.set_position(start);
            bar
        });
        Self {
            bar,
            label: label.to_owned(),
            total,
            done: AtomicU64::new(start),
            tenths: AtomicU64::new(tenths(start, total)),
        }
    }

    /// `n` more bytes done; without a bar, a line at each tenth.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => {
                let now = tenths(done, self.total);
                if self.tenths.fetch_max(now, Ordering::Relaxed) < now {
                    eprintln!(
                        "{}: {}% ({} of {} bytes)",
                        self.label,
                        now * 10,
                        done,
                        self.total
                    );
                }
            }
        }
    }

    /// A line of its own (above the bar at a terminal).
    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("{}: {text}", self.label)),
            None => eprintln!("{}: {text}", self.label),
        }
    }

    /// A line only where there is no bar (per-part detail a CI log may want).
    pub fn detail(&self, text: &str) {
        if self.bar.is_none() {
            eprintln!("{}: {text}", self.label);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn tenths(done: u64, total: u64) -> u64 {
    (done * 10).checked_div(total).unwrap_or(10)
}
