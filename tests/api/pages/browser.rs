//! A real browser for the page tests: Debian's headless Chromium driven through its WebDriver
//! (chromedriver) with `fantoccini`, against the app on `http://localhost:<port>` (a secure
//! context, so the `__Host-` cookie is kept). Controls are found by their accessible names —
//! label text and button text — the way a person and a screen reader find them.
//!
//! Each browser has its own chromedriver, port and profile folder; dropping it ends the session
//! and kills chromedriver's whole process group, so no Chromium outlives the test (a guard owns
//! chromedriver from its spawn, so a failure while starting leaves nothing either).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const AXE: &str = include_str!("../../fixtures/axe/axe.min.js");

pub struct Browser {
    pub client: Client,
    pub base: String,
    // Dropped after `Browser::drop` has closed the session.
    _driver: Driver,
}

/// chromedriver and its profile folder, owned from the moment it is spawned: a test that panics
/// while the browser is still starting (chromedriver never answering, say) leaves nothing behind.
struct Driver {
    child: Child,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver and every Chromium process it started share its process group.
        let group = self.child.id() as i32;
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Browser {
    /// A headless browser for the app at `base`.
    pub async fn open(base: &str) -> Browser {
        let port = free_port();
        let profile =
            std::env::temp_dir().join(format!("hexactor-chromium-{}", uuid::Uuid::new_v4()));
        let driver = {
            use std::os::unix::process::CommandExt;
            let child = Command::new(
                std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()),
            )
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (make services installs chromium-driver)");
            Driver {
                child,
                profile: profile.clone(),
            }
        };
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,900", format!("--user-data-dir={}", profile.display())],
            }
        });
        let caps = caps.as_object().cloned().expect("an object");
        let url = format!("http://127.0.0.1:{port}");
        let mut connected = None;
        crate::helpers::eventually(
            "chromedriver answers",
            Duration::from_secs(20),
            async || {
                // Plain HTTP to chromedriver on loopback: no TLS stack to pick.
                let http = hyper_util::client::legacy::connect::HttpConnector::new();
                connected = ClientBuilder::new(http)
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await
                    .ok();
                connected.is_some()
            },
        )
        .await;
        let client = connected.expect("connected");
        Browser {
            client,
            base: base.to_owned(),
            _driver: driver,
        }
    }

    pub async fn go(&self, path: &str) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        self.client.goto(&url).await.expect("the page loads");
    }

    /// The input labelled `label` (its `<label for>`).
    async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let xpath = format!("//input[@id=//label[normalize-space(.)='{label}']/@for]");
        match self.client.find(Locator::XPath(&xpath)).await {
            Ok(field) => field,
            Err(e) => panic!(
                "no field labelled {label:?} on {}: {e}\n{}",
                self.path().await,
                self.text().await
            ),
        }
    }

    pub async fn fill(&self, label: &str, text: &str) {
        let field = self.field(label).await;
        field.clear().await.expect("clearable");
        field.send_keys(text).await.expect("typed");
    }

    /// Clicks the (first) button named `name` and waits for the next page.
    pub async fn press(&self, name: &str) {
        let xpath = format!("//button[normalize-space(.)='{name}']");
        let button = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {name:?}: {e}"));
        let page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        button.click().await.expect("clicked");
        self.wait_for_next_page(page).await;
    }

    /// Until `page` is gone (the browser left it) and the next one has loaded.
    pub async fn wait_for_next_page(&self, page: fantoccini::elements::Element) {
        crate::helpers::eventually("the next page loads", Duration::from_secs(20), async || {
            let gone = matches!(page.text().await, Err(fantoccini::error::CmdError::Standard(ref e)) if e.error == fantoccini::error::ErrorStatus::StaleElementReference);
            let ready = self.client.execute("return document.readyState;", vec![]).await.ok();
            gone && ready.as_ref().and_then(Value::as_str) == Some("complete")
        })
        .await;
    }

    pub async fn follow(&self, link: &str) {
        let page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        self.client
            .find(Locator::LinkText(link))
            .await
            .unwrap_or_else(|e| panic!("no link {link:?}: {e}"))
            .click()
            .await
            .expect("clicked");
        self.wait_for_next_page(page).await;
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("a URL");
        let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
        format!("{}{query}", url.path())
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("text")
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// axe-core's serious and critical violations on this page (an empty list is clean).
    pub async fn accessibility_violations(&self) -> Vec<String> {
        self.client
            .execute(&format!("{AXE}\nreturn true;"), vec![])
            .await
            .expect("axe loads");
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));";
        let found = self
            .client
            .execute_async(script, vec![])
            .await
            .expect("axe runs");
        match found {
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => panic!("axe answered {other}"),
        }
    }

    /// Asserts axe finds nothing serious here, and keeps screenshots at 1280 and 360 px wide.
    pub async fn check_page(&self, name: &str) {
        let violations = self.accessibility_violations().await;
        assert!(
            violations.is_empty(),
            "{name} ({}): {violations:#?}",
            self.path().await
        );
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/page-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        for width in [1280u32, 360] {
            self.client
                .set_window_size(width, 900)
                .await
                .expect("resized");
            // 360 px is readable: nothing wider than the window.
            let overflow = self
                .client
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .expect("measured");
            assert!(
                overflow.as_i64().unwrap_or(0) <= 0,
                "{name} scrolls sideways at {width} px by {overflow}"
            );
            let png = self.client.screenshot().await.expect("a screenshot");
            std::fs::write(dir.join(format!("{name}-{width}.png")), png)
                .expect("screenshot written");
        }
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resized");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let client = self.client.clone();
        crate::helpers::block_on_own_thread(Duration::from_secs(10), async move {
            let _ = client.close().await;
        });
    }
}
