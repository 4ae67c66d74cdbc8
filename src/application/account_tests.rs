//! Unit tests of the account use cases (profile update, deactivation, password change) against
//! fake ports: who may do what, the password checks, and the command each records.

use super::*;
use crate::domain::{PersonName, Role};

use crate::application::fake_ports::*;

/// A new password that passes every check (long, not guessable, nothing personal in it).
const STRONG_PASSWORD: &str = "violet marmot juggles seventeen lanterns";

struct Harness {
    accounts: Addr<AccountService>,
    fake: Fake,
}

fn start(account: &Credentials) -> Harness {
    let fake = Fake::start(Script {
        account: Some(account.clone()),
        ..Script::default()
    });
    let accounts = AccountService::new(fake.port(), fake.port(), fake.port(), fake.port()).start();
    Harness { accounts, fake }
}

fn origin() -> Origin {
    Origin {
        request_id: Some("req-1".into()),
        ..Origin::default()
    }
}

fn someone_else() -> Principal {
    principal_of(&account(4))
}

impl Harness {
    async fn change_password(
        &self,
        principal: &Principal,
        user_id: UserId,
        current: &str,
        new: &str,
    ) -> Result<Submission, AccountError> {
        self.accounts
            .send(ChangePassword {
                principal: principal.clone(),
                user_id,
                current_password: current.into(),
                new_password: new.into(),
                origin: origin(),
            })
            .await
            .expect("account actor")
    }
}

/// The single field error of an `Invalid` answer, as (field, code).
fn invalid_field(result: Result<Submission, AccountError>) -> (&'static str, &'static str) {
    match result {
        Err(AccountError::Invalid(errors)) => {
            assert_eq!(errors.len(), 1, "{errors:?}");
            let error = &errors.as_slice()[0];
            (error.field, error.code)
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[actix_rt::test]
async fn a_password_change_records_the_new_hash_and_keeps_the_current_session() {
    let account = account(4);
    let h = start(&account);
    let me = principal_of(&account);
    let submission = h
        .change_password(&me, account.user_id, RIGHT_PASSWORD, STRONG_PASSWORD)
        .await
        .expect("accepted");
    let received = h.fake.received().await;
    let [Command::ChangePassword(command)] = received.submitted.as_slice() else {
        panic!("expected one ChangePassword, got {:?}", received.submitted);
    };
    assert_eq!(
        submission,
        Submission::Accepted {
            command_id: command.command_id
        }
    );
    assert_eq!(command.user_id, account.user_id);
    assert_eq!(command.password_hash.as_str(), NEW_HASH);
    assert_eq!(command.keep_session, Some(me.session_id));
    assert_eq!(received.request_ids, [Some("req-1".to_owned())]);
    assert_eq!(received.verified_against, [account.password_hash.as_str()]);
    assert_eq!(received.hashed, 1);
}

#[actix_rt::test]
async fn a_wrong_current_password_is_refused_and_nothing_is_hashed_or_recorded() {
    let account = account(4);
    let h = start(&account);
    let me = principal_of(&account);
    // "short" is verified (a password set under an older policy may be short); "" cannot be one.
    for current in ["not the password at all", "short", ""] {
        let result = h
            .change_password(&me, account.user_id, current, STRONG_PASSWORD)
            .await;
        assert_eq!(invalid_field(result), ("current_password", "incorrect"));
    }
    let received = h.fake.received().await;
    // A current password that cannot even be a password is refused without a verification.
    assert_eq!(received.verified_against.len(), 2);
    assert_eq!(received.hashed, 0);
    assert!(received.submitted.is_empty());
}

#[actix_rt::test]
async fn a_weak_or_personal_new_password_is_refused_after_the_current_one_is_checked() {
    let account = account(4);
    let h = start(&account);
    let me = principal_of(&account);
    let cases = [
        ("password123", ("password", "too_common")),
        (
            "my name is ada_lovelace!",
            ("password", "contains_personal_info"),
        ),
        ("short", ("password", "too_short")),
    ];
    for (new, expected) in cases {
        let result = h
            .change_password(&me, account.user_id, RIGHT_PASSWORD, new)
            .await;
        assert_eq!(invalid_field(result), expected, "{new}");
    }
    let received = h.fake.received().await;
    assert_eq!(received.verified_against.len(), cases.len());
    assert_eq!(received.hashed, 0);
    assert!(received.submitted.is_empty());
}

#[actix_rt::test]
async fn only_the_account_holder_may_change_a_password_not_even_an_admin() {
    let account = account(4);
    let h = start(&account);
    let admin = Principal {
        role: Role::Admin,
        ..someone_else()
    };
    let result = h
        .change_password(&admin, account.user_id, RIGHT_PASSWORD, STRONG_PASSWORD)
        .await;
    assert!(matches!(result, Err(AccountError::NotFound)), "{result:?}");
    let received = h.fake.received().await;
    assert!(received.credential_lookups.is_empty());
    assert!(received.submitted.is_empty());
}

#[actix_rt::test]
async fn a_password_change_for_a_missing_account_is_not_found() {
    let account = account(4);
    let h = start(&account);
    let ghost = someone_else();
    let result = h
        .change_password(&ghost, ghost.user_id, RIGHT_PASSWORD, STRONG_PASSWORD)
        .await;
    assert!(matches!(result, Err(AccountError::NotFound)), "{result:?}");
    let received = h.fake.received().await;
    assert_eq!(
        received.credential_lookups,
        [format!("id:{}", ghost.user_id)]
    );
    assert!(received.verified_against.is_empty());
    assert!(received.submitted.is_empty());
}

#[actix_rt::test]
async fn a_profile_update_is_recorded_for_the_owner_and_not_found_for_anyone_else() {
    let account = account(4);
    let h = start(&account);
    let changes = ProfileChanges {
        first_name: Some(PersonName::parse("first_name", "Augusta").unwrap()),
        ..ProfileChanges::default()
    };
    let update = |principal: Principal| UpdateProfile {
        principal,
        user_id: account.user_id,
        changes: changes.clone(),
        expected_version: Some(3),
        origin: origin(),
    };
    let refused = h.accounts.send(update(someone_else())).await.unwrap();
    assert!(
        matches!(refused, Err(AccountError::NotFound)),
        "{refused:?}"
    );
    assert!(h.fake.received().await.submitted.is_empty());

    h.accounts
        .send(update(principal_of(&account)))
        .await
        .unwrap()
        .expect("accepted");
    let received = h.fake.received().await;
    let [Command::UpdateUser(command)] = received.submitted.as_slice() else {
        panic!("expected one UpdateUser, got {:?}", received.submitted);
    };
    assert_eq!(command.user_id, account.user_id);
    assert_eq!(command.changes, changes);
    assert_eq!(command.expected_version, Some(3));
}

#[actix_rt::test]
async fn an_admin_may_deactivate_another_account_a_user_may_not() {
    let account = account(4);
    let h = start(&account);
    let deactivate = |principal: Principal| DeactivateAccount {
        principal,
        user_id: account.user_id,
        origin: origin(),
    };
    let refused = h.accounts.send(deactivate(someone_else())).await.unwrap();
    assert!(
        matches!(refused, Err(AccountError::NotFound)),
        "{refused:?}"
    );
    assert!(h.fake.received().await.submitted.is_empty());

    let admin = Principal {
        role: Role::Admin,
        ..someone_else()
    };
    h.accounts
        .send(deactivate(admin))
        .await
        .unwrap()
        .expect("accepted");
    let received = h.fake.received().await;
    let [Command::DeactivateUser(command)] = received.submitted.as_slice() else {
        panic!("expected one DeactivateUser, got {:?}", received.submitted);
    };
    assert_eq!(command.user_id, account.user_id);
}
