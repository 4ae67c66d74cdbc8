//! Unit tests of the auth use cases (login, refresh, logout) against fake ports: every outcome
//! login decides, and what it asked of the ports on the way (a bcrypt spent even on a miss,
//! failures recorded or cleared, a session opened only on success).

use super::*;
use crate::application::mfa_challenge::MfaLoginPorts;
use crate::application::outcomes::LoginResult;
use crate::domain::{LockoutPolicy, Role, UserId};

use crate::application::fake_ports::*;

const DUMMY_HASH: &str = "$2b$04$the-dummy-hash-for-missing-accounts";
const CLIENT: &str = "203.0.113.7";
const WRONG_PASSWORD: &str = "not the password at all";

fn policy() -> AuthPolicy {
    let lockout = LockoutPolicy {
        max_failures: 5,
        base_lock: Duration::from_secs(30),
        max_lock: Duration::from_secs(3600),
    };
    AuthPolicy {
        hashing: PasswordHashing::Bcrypt { cost: 4 },
        refresh_ttl: Duration::from_secs(86_400),
        per_account: lockout,
        per_address: lockout,
        require_verified_email: false,
    }
}

struct Harness {
    auth: Addr<AuthService>,
    fake: Fake,
    outcomes: Arc<RecordedOutcomes>,
}

fn start(script: Script, policy: AuthPolicy) -> Harness {
    let fake = Fake::start(script);
    let outcomes = shared_outcomes();
    let ports = AuthPorts {
        credentials: fake.port(),
        verify: fake.port(),
        hash: fake.port(),
        upgrade_hash: fake.port(),
        start_session: fake.port(),
        rotate: fake.port(),
        revoke: fake.port(),
        check_throttle: fake.port(),
        record_failure: fake.port(),
        clear_failures: fake.port(),
        mfa: MfaLoginPorts {
            find_totp: fake.port(),
            create_challenge: fake.port(),
            consume_challenge: fake.port(),
            use_step: fake.port(),
            use_recovery_code: fake.port(),
            cipher: Arc::new(NoCipher),
        },
        outcomes: outcomes.clone(),
    };
    let auth = AuthService::new(
        ports,
        Arc::new(FakeTokens),
        policy,
        PasswordHash::new(DUMMY_HASH.into()),
    )
    .start();
    Harness {
        auth,
        fake,
        outcomes,
    }
}

fn with_account(account: &Credentials) -> Script {
    Script {
        account: Some(account.clone()),
        ..Script::default()
    }
}

impl Harness {
    async fn login(&self, email: &str, password: &str) -> LoginOutcome {
        self.auth
            .send(Login {
                email: email.into(),
                password: password.into(),
                client_address: CLIENT.into(),
                user_agent: Some("unit test".into()),
            })
            .await
            .expect("auth actor")
            .expect("no infrastructure failure")
    }
}

fn keys(email: &str) -> Vec<String> {
    vec![format!("account:{email}"), format!("ip:{CLIENT}")]
}

#[actix_rt::test]
async fn an_unknown_account_still_spends_a_verification_and_counts_as_a_failure() {
    let h = start(Script::default(), policy());
    let outcome = h.login("nobody@example.com", RIGHT_PASSWORD).await;
    assert!(
        matches!(outcome, LoginOutcome::InvalidCredentials),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    assert_eq!(received.credential_lookups, ["email:nobody@example.com"]);
    assert_eq!(
        received.verified_against,
        [DUMMY_HASH],
        "the dummy hash is verified"
    );
    assert_eq!(received.failures_recorded, [keys("nobody@example.com")]);
    assert!(received.failures_cleared.is_empty());
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::Invalid]);
}

#[actix_rt::test]
async fn a_wrong_password_is_invalid_credentials_and_records_the_failure_per_account_and_address() {
    let account = account(4);
    let h = start(with_account(&account), policy());
    // The address is normalised before it names the throttle keys.
    let outcome = h.login("  Ada@Example.COM ", WRONG_PASSWORD).await;
    assert!(
        matches!(outcome, LoginOutcome::InvalidCredentials),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    assert_eq!(received.throttle_checks, [keys("ada@example.com")]);
    assert_eq!(received.credential_lookups, ["email:ada@example.com"]);
    assert_eq!(received.verified_against, [account.password_hash.as_str()]);
    assert_eq!(received.failures_recorded, [keys("ada@example.com")]);
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::Invalid]);
}

#[actix_rt::test]
async fn an_inactive_account_with_the_right_password_looks_like_a_wrong_password() {
    let account = Credentials {
        is_active: false,
        ..account(4)
    };
    let h = start(with_account(&account), policy());
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    assert!(
        matches!(outcome, LoginOutcome::InvalidCredentials),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    assert_eq!(received.failures_recorded.len(), 1);
    assert!(received.failures_cleared.is_empty());
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::Invalid]);
}

#[actix_rt::test]
async fn a_password_too_short_to_parse_still_spends_one_verification() {
    let account = account(4);
    let h = start(with_account(&account), policy());
    let outcome = h.login(&account.email, "short").await;
    assert!(
        matches!(outcome, LoginOutcome::InvalidCredentials),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    assert_eq!(received.verified_against.len(), 1);
    assert_eq!(received.failures_recorded.len(), 1);
}

#[actix_rt::test]
async fn a_throttled_login_is_locked_before_any_lookup_or_verification() {
    let account = account(4);
    let script = Script {
        locked_for: Some(Duration::from_secs(90)),
        ..with_account(&account)
    };
    let h = start(script, policy());
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    assert!(
        matches!(outcome, LoginOutcome::Locked { retry_after } if retry_after == Duration::from_secs(90)),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    assert_eq!(received.throttle_checks, [keys(&account.email)]);
    assert!(received.credential_lookups.is_empty());
    assert!(received.verified_against.is_empty());
    assert!(received.failures_recorded.is_empty());
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::Locked]);
}

#[actix_rt::test]
async fn the_right_password_opens_a_session_issues_a_pair_and_clears_the_account_failures() {
    let account = account(4);
    let h = start(with_account(&account), policy());
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    let LoginOutcome::Success(pair) = outcome else {
        panic!("expected success, got {outcome:?}");
    };
    assert_eq!(pair.principal.user_id, account.user_id);
    assert_eq!(pair.principal.email, account.email);
    assert_eq!(pair.principal.role, Role::User);
    assert_eq!(pair.principal.session_id, grant().session_id);
    assert_eq!(pair.access.token, format!("access-for-{}", account.user_id));
    assert_eq!(pair.refresh.refresh_token, grant().refresh_token);
    let received = h.fake.received().await;
    assert_eq!(received.sessions_started, [account.user_id]);
    assert_eq!(
        received.failures_cleared,
        [format!("account:{}", account.email)]
    );
    assert!(received.failures_recorded.is_empty());
    assert!(received.challenges_created.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::Success]);
}

#[actix_rt::test]
async fn an_unverified_address_is_refused_only_when_the_policy_requires_verification() {
    let account = Credentials {
        email_verified: false,
        ..account(4)
    };
    let strict = AuthPolicy {
        require_verified_email: true,
        ..policy()
    };
    let h = start(with_account(&account), strict);
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    assert!(
        matches!(outcome, LoginOutcome::EmailNotVerified),
        "{outcome:?}"
    );
    let received = h.fake.received().await;
    // The password was right: not a failure, but no session either.
    assert_eq!(received.failures_cleared.len(), 1);
    assert!(received.failures_recorded.is_empty());
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::EmailNotVerified]);

    let lenient = start(with_account(&account), policy());
    let outcome = lenient.login(&account.email, RIGHT_PASSWORD).await;
    assert!(matches!(outcome, LoginOutcome::Success(_)), "{outcome:?}");
}

#[actix_rt::test]
async fn a_confirmed_totp_enrolment_asks_for_the_second_step_instead_of_a_session() {
    let account = account(4);
    let script = Script {
        totp: Some(true),
        ..with_account(&account)
    };
    let h = start(script, policy());
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    let LoginOutcome::MfaRequired { mfa_token } = outcome else {
        panic!("expected MfaRequired, got {outcome:?}");
    };
    assert_eq!(mfa_token, format!("mfa-token-for-{}", account.user_id));
    let received = h.fake.received().await;
    assert_eq!(received.challenges_created, [account.user_id]);
    assert!(received.sessions_started.is_empty());
    assert_eq!(h.outcomes.taken(), [LoginResult::MfaRequired]);
}

#[actix_rt::test]
async fn an_unconfirmed_totp_enrolment_does_not_ask_for_a_second_step() {
    let account = account(4);
    let script = Script {
        totp: Some(false),
        ..with_account(&account)
    };
    let h = start(script, policy());
    let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
    assert!(matches!(outcome, LoginOutcome::Success(_)), "{outcome:?}");
    assert!(h.fake.received().await.challenges_created.is_empty());
}

/// The hash upgrades the login spawned after answering (on a task of its own): polled for, with
/// a deadline.
async fn upgrades_after(h: &Harness) -> Vec<(UserId, String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let received = h.fake.received().await;
        if !received.hash_upgrades.is_empty() {
            return received.hash_upgrades;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hash was not upgraded"
        );
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

#[actix_rt::test]
async fn a_login_rehashes_a_password_hashed_below_the_configured_cost_or_with_bcrypt() {
    let account = account(4);
    let raised = AuthPolicy {
        hashing: PasswordHashing::Bcrypt { cost: 12 },
        ..policy()
    };
    let argon2id = AuthPolicy {
        hashing: PasswordHashing::Argon2id(crate::domain::Argon2Params::OWASP),
        ..policy()
    };
    for policy in [raised, argon2id] {
        let h = start(with_account(&account), policy);
        let outcome = h.login(&account.email, RIGHT_PASSWORD).await;
        assert!(matches!(outcome, LoginOutcome::Success(_)), "{outcome:?}");
        assert_eq!(
            upgrades_after(&h).await,
            [(
                account.user_id,
                account.password_hash.as_str().to_owned(),
                NEW_HASH.to_owned()
            )]
        );
    }
}

#[actix_rt::test]
async fn a_login_that_matched_only_the_password_as_typed_rehashes_it() {
    let account = account(4);
    let h = start(with_account(&account), policy());
    let outcome = h.login(&account.email, TYPED_ONLY_PASSWORD).await;
    assert!(matches!(outcome, LoginOutcome::Success(_)), "{outcome:?}");
    assert_eq!(upgrades_after(&h).await.len(), 1);
}

async fn refresh(h: &Harness) -> Option<TokenPair> {
    h.auth
        .send(Refresh {
            refresh_token: "presented-refresh-token".into(),
            client: Default::default(),
        })
        .await
        .expect("auth actor")
        .expect("no infrastructure failure")
}

#[actix_rt::test]
async fn a_rotated_refresh_token_gives_a_new_pair_reuse_and_unknown_tokens_give_none() {
    let account = account(4);
    let principal = principal_of(&account);
    let rotated = Script {
        rotation: Rotation::Rotated {
            principal: principal.clone(),
            grant: grant(),
        },
        ..Script::default()
    };
    let h = start(rotated, policy());
    let pair = refresh(&h).await.expect("a new pair");
    assert_eq!(pair.principal, principal);
    assert_eq!(pair.access.token, format!("access-for-{}", account.user_id));
    assert_eq!(
        h.fake.received().await.rotations,
        ["presented-refresh-token"]
    );

    for rotation in [Rotation::ReuseDetected, Rotation::Invalid] {
        let script = Script {
            rotation,
            ..Script::default()
        };
        assert!(refresh(&start(script, policy())).await.is_none());
    }
}

#[actix_rt::test]
async fn logout_revokes_the_session_or_every_session_of_the_user() {
    let principal = principal_of(&account(4));
    let h = start(Script::default(), policy());
    for everywhere in [false, true] {
        h.auth
            .send(Logout {
                principal: principal.clone(),
                everywhere,
            })
            .await
            .expect("auth actor")
            .expect("no infrastructure failure");
    }
    assert_eq!(
        h.fake.received().await.revocations,
        [
            format!("session:{}", principal.session_id),
            format!("user:{}", principal.user_id)
        ]
    );
}
