//! A real SMTP server for the tests: `aiosmtpd` (PyPI, in end2end's venv, which the test script
//! installs) writing what it receives to a maildir that the tests read.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpSink {
    pub port: u16,
    maildir: PathBuf,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

/// A message as delivered: its headers and body, raw.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub raw: String,
}

impl Delivered {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or(&self.raw);
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

fn python() -> PathBuf {
    std::env::var_os("GATEHOUSE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/.venv/bin/python")
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpSink {
    /// A port nothing listens on yet; [`SmtpSink::listen`] starts the server there.
    pub fn reserved() -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        SmtpSink {
            port: free_port(),
            maildir: dir.path().join("mail"),
            child: None,
            _dir: dir,
        }
    }

    pub async fn start() -> SmtpSink {
        let mut sink = SmtpSink::reserved();
        sink.listen().await;
        sink
    }

    pub async fn listen(&mut self) {
        let python = python();
        assert!(
            python.exists(),
            "{} is missing: run scripts/test (or `source scripts/lib.sh; ensure_end2end_deps`) to install aiosmtpd",
            python.display()
        );
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
            ])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every message delivered so far.
    pub fn delivered(&self) -> Vec<Delivered> {
        let mut out = vec![];
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in entries.flatten() {
                    if let Ok(raw) = std::fs::read_to_string(e.path()) {
                        out.push(Delivered { raw });
                    }
                }
            }
        }
        out
    }

    /// Waits (up to 30 s) for a message to `to` whose raw text contains `needle`.
    pub async fn wait_for(&self, to: &str, needle: &str) -> Delivered {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(m) = self
                .delivered()
                .into_iter()
                .find(|m| m.header("to").is_some_and(|t| t.contains(to)) && m.raw.contains(needle))
            {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} containing {needle:?} arrived"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
