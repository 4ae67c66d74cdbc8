//! TLS to the mail server is really attempted, through rustls, for both documented forms
//! (`?tls=required` STARTTLS and `smtps://` implicit TLS). A listener stands in for the server
//! and records the first bytes after the switch: a TLS record of type handshake (0x16) is a
//! ClientHello. The handshake then fails (the listener has no certificate), so sending reports
//! an error — and nothing panics (rustls needs its crypto provider chosen: ring).

use actix::Actor;
use hexactor::config::{Secret, Settings};
use hexactor::notifications::mailer::{Mailer, SendMail};
use hexactor::notifications::templates::Template;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Serves one connection; returns the first byte the client sent once TLS should begin.
async fn fake_server(listener: TcpListener, starttls: bool) -> Option<u8> {
    let (stream, _) = listener.accept().await.ok()?;
    let mut stream = BufReader::new(stream);
    if starttls {
        stream.write_all(b"220 fake ESMTP\r\n").await.ok()?;
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.ok()?;
            let command = line.trim_end().to_ascii_uppercase();
            if command.starts_with("EHLO") {
                stream
                    .write_all(b"250-fake\r\n250 STARTTLS\r\n")
                    .await
                    .ok()?;
            } else if command == "STARTTLS" {
                stream.write_all(b"220 go ahead\r\n").await.ok()?;
                break;
            } else {
                return None; // a client that skips STARTTLS
            }
        }
    }
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).await.ok()?;
    Some(first[0])
}

async fn first_byte_after_tls_starts(url_of: impl Fn(u16) -> String, starttls: bool) -> Option<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = actix_web::rt::spawn(fake_server(listener, starttls));
    let mut settings = Settings::from_lookup(|_| None).unwrap().account_mail;
    settings.smtp_url = Some(Secret::new(url_of(port)));
    let mailer = Mailer::new(&settings).unwrap().start();
    let sent = mailer
        .send(SendMail {
            to: "someone@example.com".into(),
            message: Template::Welcome.render(&[("username", "someone")]),
        })
        .await
        .expect("the mailer answers (no panic)");
    assert!(sent.is_err(), "no certificate, no delivery");
    server.await.unwrap()
}

#[actix_web::test]
async fn starttls_and_implicit_tls_both_start_a_tls_handshake() {
    let starttls = first_byte_after_tls_starts(
        |port| format!("smtp://user:pass@127.0.0.1:{port}?tls=required"),
        true,
    )
    .await;
    assert_eq!(starttls, Some(0x16), "a TLS ClientHello after STARTTLS");
    let implicit =
        first_byte_after_tls_starts(|port| format!("smtps://user:pass@127.0.0.1:{port}"), false)
            .await;
    assert_eq!(implicit, Some(0x16), "a TLS ClientHello on connect");
}
