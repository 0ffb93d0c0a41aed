//! A chromedriver process of one test's own: started on a free port, waited for until it
//! reports ready, and shut down (with the Chromium it started) when dropped.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpStream},
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use super::running;

/// How long chromedriver may take to print its port and report ready.
const STARTUP: Duration = Duration::from_secs(20);
/// How long chromedriver may take to quit its browsers and exit after `/shutdown`.
const SHUTDOWN: Duration = Duration::from_secs(5);
/// The timeout of one HTTP exchange with chromedriver.
const EXCHANGE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(25);

/// The path in `variable` if set, else `default`; panics, naming the install script, when no
/// executable is there, so that a machine without a browser fails rather than skips.
pub fn executable(variable: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{what} is missing at {} (set {variable} to use another path): \
         run scripts/install-browser.sh",
        path.display()
    );
    path
}

/// A running chromedriver; dropping it quits its sessions and browsers and reaps the process.
pub struct ChromeDriver {
    child: Child,
    /// 0 until chromedriver has printed its port.
    port: u16,
    /// Everything chromedriver printed, for failure messages.
    output: Arc<Mutex<String>>,
}

impl ChromeDriver {
    /// Starts `CARAVAN_CHROMEDRIVER` (default /usr/bin/chromedriver) on a port of its choosing
    /// and returns once its `/status` says it is ready for new sessions. Given port 0,
    /// chromedriver picks a port and then binds it for IPv4 and IPv6 in turn, and another
    /// process can take it in between ("bind() failed: Address already in use"): such a start
    /// is tried again, a few times.
    pub fn start() -> ChromeDriver {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(driver) => return driver,
                Err(output) if output.contains("Address already in use") => failures.push(output),
                Err(output) => panic!("chromedriver exited before printing its port:\n{output}"),
            }
        }
        panic!(
            "chromedriver lost its port three times:\n{}",
            failures.join("\n")
        )
    }

    fn try_start() -> Result<ChromeDriver, String> {
        let path = executable(
            "CARAVAN_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
        );
        let child = Command::new(&path)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, which the browsers it starts join: if it ever fails to
            // quit them, killing the group leaves no Chromium behind.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/install-browser.sh",
                    path.display()
                )
            });
        // The guard exists before anything else can fail, so a failed start still reaps it.
        let mut driver = ChromeDriver {
            child,
            port: 0,
            output: Arc::default(),
        };
        let (lines, received) = mpsc::channel();
        let stdout = driver.child.stdout.take().expect("stdout is piped");
        let stderr = driver.child.stderr.take().expect("stderr is piped");
        drain(stdout, Some(lines), Arc::clone(&driver.output));
        drain(stderr, None, Arc::clone(&driver.output));

        let deadline = Instant::now() + STARTUP;
        driver.port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = started_on(&line) {
                        break port;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "chromedriver printed no port within {STARTUP:?}:\n{}",
                    driver.output()
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(driver.output()),
            }
        };
        driver.wait_until_ready(deadline);
        Ok(driver)
    }

    /// The WebDriver endpoint, for `fantoccini::ClientBuilder::connect`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The chromedriver process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What chromedriver has printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Polls `/status` until it reports `"ready": true`.
    fn wait_until_ready(&self, deadline: Instant) {
        loop {
            let last = match get(self.port, "/status") {
                Ok(body) if reports_ready(&body) => return,
                Ok(body) => body,
                Err(e) => e.to_string(),
            };
            assert!(
                Instant::now() < deadline,
                "chromedriver was not ready within {STARTUP:?}; /status: {last}\n{}",
                self.output()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // `/shutdown` quits every session's browser before chromedriver exits; a plain kill
        // would orphan them.
        if self.port != 0 {
            let _ = get(self.port, "/shutdown");
        }
        let pid = self.child.id();
        let deadline = Instant::now() + SHUTDOWN;
        while running(pid) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        // Until it is reaped below, the process's id cannot be reused, so the group still
        // names only its own processes: whatever of them outlived the shutdown.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a stream of chromedriver's into `output`, sending each line to `lines` while
/// someone listens, until the stream closes (chromedriver blocks if its pipes fill).
fn drain(
    stream: impl Read + Send + 'static,
    lines: Option<mpsc::Sender<String>>,
    output: Arc<Mutex<String>>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            output.lock().unwrap().push_str(&line);
            if let Some(lines) = &lines {
                let _ = lines.send(line.trim_end().to_owned());
            }
            line.clear();
        }
    });
}

/// The port in `ChromeDriver was started successfully on port N.`
fn started_on(line: &str) -> Option<u16> {
    line.strip_prefix("ChromeDriver was started successfully on port ")?
        .trim_end_matches('.')
        .parse()
        .ok()
}

fn reports_ready(status: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(status)
        .is_ok_and(|status| status["value"]["ready"] == true)
}

/// `GET path` from chromedriver; returns the body. HTTP/1.1 because chromedriver answers
/// HTTP/1.0 with an empty reply, and the body is read by its length because chromedriver keeps
/// the connection open whatever `Connection` says.
fn get(port: u16, path: &str) -> std::io::Result<String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut socket = TcpStream::connect_timeout(&address, EXCHANGE)?;
    socket.set_read_timeout(Some(EXCHANGE))?;
    socket.set_write_timeout(Some(EXCHANGE))?;
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reader = BufReader::new(socket);
    let mut length = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    let mut body = String::new();
    match length {
        Some(length) => reader.take(length).read_to_string(&mut body)?,
        None => reader.read_to_string(&mut body)?,
    };
    Ok(body)
}
