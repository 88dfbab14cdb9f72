//! Sign-in with GitHub against the local stand-in: the real client code,
//! PKCE, `state` bound to the browser, account creation and linking, and
//! every failure ending without a session and with a clear code.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;

use crate::support::TestApp;
use crate::support::browser::{Browser, STRONG_PASSWORD};
use crate::support::github::{Account, FakeGithub};

fn ada(verified: bool) -> Account {
    Account {
        id: 1815,
        login: "ada".into(),
        name: "Ada Lovelace".into(),
        email: "ada@example.com".into(),
        verified,
    }
}

/// A browser that does not follow redirects, so each hop can be checked.
struct Navigator {
    http: reqwest::Client,
    cookies: Vec<String>,
}

struct Hop {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
}

impl Navigator {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: Vec::new(),
        }
    }

    fn with_session(browser: &Browser) -> Self {
        let mut navigator = Self::new();
        navigator.cookies.extend(browser.cookie.clone());
        navigator
    }

    async fn get(&mut self, url: &str) -> Hop {
        let mut request = self.http.get(url);
        if !self.cookies.is_empty() {
            request = request.header(COOKIE, self.cookies.join("; "));
        }
        let response = request.send().await.expect("a navigation");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap_or_default().to_owned();
            let name = pair.split('=').next().unwrap_or_default().to_owned();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !pair.ends_with('=') {
                self.cookies.push(pair);
            }
        }
        Hop {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            set_cookies,
        }
    }

    fn session_cookie(&self) -> Option<String> {
        self.cookies
            .iter()
            .find(|c| c.starts_with("agentdeck_session="))
            .cloned()
    }
}

/// Start → stand-in consent → the callback URL GitHub sends the browser to.
async fn to_callback(app: &TestApp, nav: &mut Navigator, start_query: &str) -> String {
    let start = nav
        .get(&app.url(&format!("/auth/github/start{start_query}")))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert!(
        start
            .set_cookies
            .iter()
            .any(|c| c.starts_with("agentdeck_oauth=") && c.contains("HttpOnly"))
    );
    assert!(
        start.location.contains("code_challenge_method=S256"),
        "{}",
        start.location
    );
    assert!(start.location.contains(&format!(
        "redirect_uri={}",
        encode(&format!("{}/auth/github/callback", app.base_url))
    )));
    let consent = nav.get(&start.location).await;
    assert_eq!(
        consent.status,
        StatusCode::SEE_OTHER,
        "the stand-in refused: {}",
        consent.location
    );
    assert!(
        consent.location.starts_with(&app.base_url),
        "{}",
        consent.location
    );
    consent.location
}

fn encode(text: &str) -> String {
    text.replace(':', "%3A").replace('/', "%2F")
}

async fn me(app: &TestApp, nav: &Navigator) -> (StatusCode, Value) {
    let mut browser = Browser {
        cookie: nav.session_cookie(),
        device: None,
        ..Browser::new(app)
    };
    browser.get("/api/v1/me").await
}

async fn setup() -> (FakeGithub, TestApp) {
    let github = FakeGithub::start().await;
    let app = TestApp::builder().github(&github.base_url).spawn().await;
    (github, app)
}

/// Ada (a verified address) signs in at GitHub from a new browser: the
/// stand-in, the app, the browser and where GitHub sends it back to.
async fn ada_at_the_callback(query: &str) -> (FakeGithub, TestApp, Navigator, String) {
    let (github, app) = setup().await;
    github.sign_in_as(ada(true));
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, query).await;
    (github, app, nav, callback)
}

#[tokio::test]
async fn a_new_github_user_gets_an_account_and_a_session() {
    let (github, app, mut nav, callback) = ada_at_the_callback("?return_to=/settings/keys").await;
    let done = nav.get(&callback).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location, "/settings/keys");
    assert_eq!(
        github.exchanges(),
        1,
        "the code was exchanged with the PKCE verifier"
    );
    let (status, me) = me(&app, &nav).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["email"], "ada@example.com");
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(me["user"]["github_linked"], true);
    assert_eq!(me["user"]["has_password"], false);
    assert_eq!(me["user"]["display_name"], "Ada Lovelace");

    // The next sign-in finds the same account by GitHub id.
    let mut again = Navigator::new();
    let callback = to_callback(&app, &mut again, "").await;
    assert_eq!(again.get(&callback).await.location, "/");
    let (_, me_again) = crate::github::me(&app, &again).await;
    assert_eq!(me_again["user"]["id"], me["user"]["id"]);
}

#[tokio::test]
async fn a_verified_email_links_the_existing_account() {
    let (github, app) = setup().await;
    let (_, existing) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    github.sign_in_as(ada(true));
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, "").await;
    nav.get(&callback).await;
    let (status, me) = me(&app, &nav).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], existing["user"]["id"]);
    assert_eq!(me["user"]["github_linked"], true);
    assert_eq!(me["user"]["has_password"], true);
}

/// The takeover this guards against: Mallory signs up with Ada's address
/// (she cannot read its mail, so it stays unverified) and waits for Ada to
/// sign in with GitHub, which once linked Ada into Mallory's account, whose
/// password Mallory keeps. Now the sign-in is refused with a reason, the
/// two identities stay apart, and Ada claims the address by mail: a reset
/// link reaches only her inbox, and using it ends Mallory's sessions.
#[tokio::test]
async fn github_sign_in_never_joins_an_account_that_did_not_verify_the_address() {
    let github = FakeGithub::start().await;
    // Workers run the reset job (which mails the link, when the address
    // has an account); the mail itself stays queued, where tests read it.
    let app = TestApp::builder()
        .github(&github.base_url)
        .workers()
        .spawn()
        .await;
    let (mut mallory, squatted) =
        Browser::sign_up_unverified(&app, "ada@example.com", "Not Ada").await;
    assert_eq!(squatted["user"]["email_verified"], false);

    github.sign_in_as(ada(true));
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, "").await;
    assert_failure(&mut nav, &callback, "github_account_unverified").await;
    let (status, _) = me(&app, &nav).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "Ada got no session");

    // Mallory's account did not gain the GitHub identity, nor can she tie
    // her own GitHub (another address) to the unproven account.
    let (status, still) = mallory.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(still["user"]["github_linked"], false);
    assert_eq!(still["user"]["email_verified"], false);
    github.sign_in_as(Account {
        id: 666,
        login: "mallory".into(),
        name: "Mallory".into(),
        email: "mallory@evil.example".into(),
        verified: true,
    });
    let mut own = Navigator::with_session(&mallory);
    let callback = to_callback(&app, &mut own, "?link=true").await;
    assert_eq!(
        own.get(&callback).await.location,
        "/signin?error=github_account_unverified"
    );
    // She asks to move the account to her own address, and keeps the link.
    let (status, _) = mallory
        .post(
            "/api/v1/me/email",
            serde_json::json!({ "new_email": "mallory@evil.example", "password": STRONG_PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let pending =
        crate::support::mail::link_token(&app, "mallory@evil.example", "verify-email").await;
    github.sign_in_as(ada(true));

    // Ada resets the password: the link goes to her address only.
    let mut ada_browser = Browser::new(&app);
    let (status, _) = ada_browser
        .post(
            "/api/v1/auth/password-reset",
            serde_json::json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token =
        crate::support::mail::wait_for_token(&app, "ada@example.com", "reset-password").await;
    let (status, mine) = ada_browser
        .post(
            "/api/v1/auth/password-reset/complete",
            serde_json::json!({ "token": token, "password": "Ada's own new passphrase" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(
        mine["user"]["email_verified"], true,
        "the link proved the address"
    );
    let (status, _) = mallory.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "Mallory's session ended");
    let (status, _) = Browser::new(&app)
        .post(
            "/api/v1/auth/verify-email",
            serde_json::json!({ "token": pending }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "her pending address change died with the reset"
    );
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "Mallory's password is gone"
    );

    // Now verified, the address links Ada's GitHub to her account.
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, "").await;
    nav.get(&callback).await;
    let (status, linked) = me(&app, &nav).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["user"]["id"], mine["user"]["id"]);
    assert_eq!(linked["user"]["github_linked"], true);
}

/// Linking GitHub from settings proves the account's address when GitHub
/// verified the same one; an account that has not proven its address links
/// no other GitHub user.
#[tokio::test]
async fn linking_github_verifies_only_the_same_address() {
    let (github, app) = setup().await;
    let (browser, _) = Browser::sign_up_unverified(&app, "ada@example.com", "Ada").await;
    github.sign_in_as(ada(true));
    let mut nav = Navigator::with_session(&browser);
    let callback = to_callback(&app, &mut nav, "?link=true&return_to=/settings").await;
    assert_eq!(nav.get(&callback).await.location, "/settings");
    let (_, me_now) = me(&app, &nav).await;
    assert_eq!(me_now["user"]["github_linked"], true);
    assert_eq!(me_now["user"]["email_verified"], true);

    let (other, _) = Browser::sign_up_unverified(&app, "grace@example.com", "Grace").await;
    github.sign_in_as(Account {
        id: 1906,
        login: "grace".into(),
        name: "Grace".into(),
        email: "someone-else@example.com".into(),
        verified: true,
    });
    let mut nav = Navigator::with_session(&other);
    let callback = to_callback(&app, &mut nav, "?link=true").await;
    assert_eq!(
        nav.get(&callback).await.location,
        "/signin?error=github_account_unverified",
        "an unproven account links only the GitHub user with its address"
    );
    let (_, grace) = me(&app, &nav).await;
    assert_eq!(grace["user"]["github_linked"], false);
    assert_eq!(grace["user"]["email_verified"], false);
}

/// A link flow belongs to the session that started it: once that session
/// ends (signed out here; a reset ends them all), the flow links nothing.
#[tokio::test]
async fn a_link_flow_dies_with_its_session() {
    let (github, app) = setup().await;
    let (mut browser, _) = Browser::sign_up(&app, "work@example.com", "Worker").await;
    github.sign_in_as(ada(true));
    let mut nav = Navigator::with_session(&browser);
    let callback = to_callback(&app, &mut nav, "?link=true").await;
    let (status, _) = browser.post_empty("/api/v1/auth/logout").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_failure(&mut nav, &callback, "github_flow_missing").await;
    let (mut again, _, _) = Browser::sign_in(&app, "work@example.com", STRONG_PASSWORD).await;
    let (_, shown) = again.get("/api/v1/me").await;
    assert_eq!(shown["user"]["github_linked"], false);
}

#[tokio::test]
async fn a_signed_in_user_links_github_explicitly_once() {
    let (github, app) = setup().await;
    let (browser, _) = Browser::sign_up(&app, "work@example.com", "Worker").await;
    github.sign_in_as(ada(true));
    let mut nav = Navigator::with_session(&browser);
    let callback = to_callback(&app, &mut nav, "?link=true&return_to=/settings").await;
    assert_eq!(nav.get(&callback).await.location, "/settings");
    let (_, me) = me(&app, &nav).await;
    assert_eq!(me["user"]["email"], "work@example.com");
    assert_eq!(me["user"]["github_linked"], true);

    // The same GitHub account cannot be linked to a second account.
    let (other, _) = Browser::sign_up(&app, "other@example.com", "Other").await;
    let mut nav = Navigator::with_session(&other);
    let callback = to_callback(&app, &mut nav, "?link=true").await;
    assert_eq!(
        nav.get(&callback).await.location,
        "/signin?error=github_already_linked"
    );
}

async fn assert_failure(nav: &mut Navigator, url: &str, code: &str) {
    let before = nav.session_cookie();
    let hop = nav.get(url).await;
    assert_eq!(hop.status, StatusCode::SEE_OTHER);
    assert_eq!(hop.location, format!("/signin?error={code}"));
    assert!(
        !hop.set_cookies
            .iter()
            .any(|c| c.starts_with("agentdeck_session=")),
        "a failure must not set a session: {:?}",
        hop.set_cookies
    );
    assert_eq!(nav.session_cookie(), before);
}

#[tokio::test]
async fn a_wrong_state_is_refused() {
    let (github, _app, mut nav, callback) = ada_at_the_callback("").await;
    let (base, query) = callback.split_once('?').expect("a query");
    let tampered: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.starts_with("state=") {
                "state=forged-by-an-attacker-123".to_owned()
            } else {
                p.to_owned()
            }
        })
        .collect();
    assert_failure(
        &mut nav,
        &format!("{base}?{}", tampered.join("&")),
        "github_state_mismatch",
    )
    .await;
    assert_eq!(github.exchanges(), 0);
    // The flow is spent: the genuine callback no longer works either.
    assert_failure(&mut nav, &callback, "github_flow_missing").await;
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let (github, _app, mut nav, callback) = ada_at_the_callback("").await;
    let flow_cookie = nav
        .cookies
        .iter()
        .find(|c| c.starts_with("agentdeck_oauth="))
        .cloned();
    assert_eq!(nav.get(&callback).await.location, "/");
    // An attacker replays the same callback with the same flow cookie.
    let mut replay = Navigator::new();
    replay.cookies.extend(flow_cookie);
    assert_failure(&mut replay, &callback, "github_flow_missing").await;
    assert_eq!(github.exchanges(), 1);
}

#[tokio::test]
async fn a_callback_without_the_browsers_flow_has_no_verifier_and_is_refused() {
    let (github, _app, _victim, callback) = ada_at_the_callback("").await;
    // Another browser (no flow cookie, so no PKCE verifier) presents the code.
    assert_failure(&mut Navigator::new(), &callback, "github_flow_missing").await;
    assert_eq!(github.exchanges(), 0);
}

#[tokio::test]
async fn denied_consent_and_unverified_email_say_so() {
    let (github, app) = setup().await;
    github.sign_in_as(ada(true));
    github.deny_consent();
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, "").await;
    assert_failure(&mut nav, &callback, "github_denied").await;

    github.sign_in_as(ada(false));
    let mut nav = Navigator::new();
    let callback = to_callback(&app, &mut nav, "").await;
    assert_failure(&mut nav, &callback, "github_email_unverified").await;
    // No account was made from the unverified address.
    let (_, status, _) = Browser::sign_in(&app, "ada@example.com", STRONG_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_a_client_id_github_is_off() {
    let app = TestApp::spawn().await;
    let (status, providers) = app.get_json("/api/v1/auth/providers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(providers["github"], false);
    let mut nav = Navigator::new();
    let hop = nav.get(&app.url("/auth/github/start")).await;
    assert_eq!(hop.location, "/signin?error=github_disabled");

    let (_, app) = setup().await;
    let (_, providers) = app.get_json("/api/v1/auth/providers").await;
    assert_eq!(providers["github"], true);
}
