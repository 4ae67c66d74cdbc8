//! A real SMTP listener for the tests: a small in-process server on 127.0.0.1:0 that speaks
//! enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps every
//! message it is given. It lives as long as the test (the listener task is aborted on drop).
//! Used by the API tests (reset and verification mails) and the chaos tests (every welcome mail
//! really delivered while the broker, the workers and the database fail).

use super::eventually;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct Received {
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
}

impl Received {
    /// The body with quoted-printable soft line breaks and `=3D` undone, so a link reads whole
    /// whichever transfer encoding the mailer chose.
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    pub fn subject(&self) -> String {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The whole first `{page}?token=` link of the message, as a person would click it.
    pub fn link(&self, page: &str) -> String {
        let text = self.text();
        let marker = format!("/{page}?token=");
        let at = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {marker} link in: {text}"));
        let start = text[..at].rfind("http").expect("an absolute link");
        format!("{}{}", &text[start..at + marker.len()], self.token(page))
    }

    /// The token in the first `{page}?token=` link of the message.
    pub fn token(&self, page: &str) -> String {
        let text = self.text();
        let marker = format!("/{page}?token=");
        let start = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {marker} link in: {text}"))
            + marker.len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

pub struct SmtpServer {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let listener = actix_web::rt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                actix_web::rt::spawn(async move {
                    let _ = session(stream, store).await;
                });
            }
        });
        Self {
            port,
            received,
            listener,
        }
    }

    /// For `SMTP_URL`: plain SMTP, as for a local relay.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Messages to `address` whose subject contains `subject`.
    pub fn to(&self, address: &str, subject: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address) && m.subject().contains(subject))
            .collect()
    }

    /// Waits until `count` such messages arrived; returns them in arrival order.
    pub async fn wait_for(&self, address: &str, subject: &str, count: usize) -> Vec<Received> {
        eventually(
            &format!("{count} message(s) {subject:?} reach {address}"),
            Duration::from_secs(20),
            async || self.to(address, subject).len() >= count,
        )
        .await;
        self.to(address, subject)
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 hexactor-test ESMTP\r\n").await?;
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-hexactor-test\r\n250 8BITMIME\r\n"
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or_default()
                .to_owned();
            to.push(address);
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if read.read_line(&mut l).await? == 0 {
                    return Ok(());
                }
                if l == ".\r\n" || l == ".\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            store.lock().unwrap().push(Received {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
}
