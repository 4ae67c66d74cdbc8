//! The checks every chaos scenario ends with (`Cluster::verify`) and its Jepsen-style summary.

use crate::harness::*;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicQosOptions};
use lapin::types::FieldTable;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

impl Cluster {
    /// Every check that ends a scenario; prints and returns the summary.
    pub async fn verify(&mut self, load: LoadResult, poison: &[String]) -> Summary {
        let accepted = load.accepted.clone();
        let ids: Vec<Uuid> = accepted.clone();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "two registrations were given the same command id"
        );
        assert_eq!(
            load.gave_up, 0,
            "{} registrations were never accepted",
            load.gave_up
        );
        let within = Duration::from_secs(90 + ids.len() as u64 / 20);

        // 1. Every accepted command reaches a terminal state.
        let pool = self.pool.clone();
        let mut pending = i64::MAX;
        let wait = Instant::now();
        while wait.elapsed() < within {
            if let Ok(n) = sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM unnest($1::uuid[]) AS a(id)
                 LEFT JOIN commands c ON c.id = a.id WHERE c.status IS NULL OR c.status = 'pending'",
            )
            .bind(&ids)
            .fetch_one(&pool)
            .await
            {
                pending = n;
                if n == 0 {
                    break;
                }
            }
            sleep(Duration::from_millis(500)).await;
        }
        let (succeeded, failed): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed')
             FROM commands WHERE id = ANY($1)",
        )
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
        let completed = succeeded + failed;

        // 2. Users = succeeded commands, no duplicates, each succeeded command's user exists.
        let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        let duplicate_emails: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT email FROM users GROUP BY email HAVING count(*) > 1) d",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let succeeded_without_user: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM commands c WHERE c.id = ANY($1) AND c.status = 'succeeded'
             AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.subject_id)",
        )
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .unwrap();
        let user_ids: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM users")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();

        // 3. The outbox drains; exactly one distinct UserCreated per user reaches the observer.
        eventually("the outbox is drained", within, async || {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&pool)
                .await
                .is_ok_and(|n| n == 0)
        })
        .await;
        let events = drain_events(&self.events_queue, user_ids.len(), within).await;
        let mut phantom_events = 0;
        let mut users_with_two_events = 0;
        for (user, event_ids) in &events.by_user {
            if !user_ids.contains(user) {
                phantom_events += 1;
            }
            if event_ids.len() > 1 {
                users_with_two_events += 1;
            }
        }
        let users_without_event = user_ids
            .iter()
            .filter(|u| !events.by_user.contains_key(u))
            .count();

        // 4. The notifications context welcomed every user exactly once.
        let mut welcomes = (0i64, 0i64);
        let _ = tokio::time::timeout(within, async {
            loop {
                if let Ok(w) = sqlx::query_as::<_, (i64, i64)>(
                    "SELECT count(*), count(DISTINCT user_id) FROM notifications WHERE kind = 'welcome'",
                )
                .fetch_one(&pool)
                .await
                {
                    welcomes = w;
                    if w.0 >= users {
                        return;
                    }
                }
                sleep(Duration::from_millis(500)).await;
            }
        })
        .await;

        // 4b. Every user's welcome really went out over SMTP (at least once: a worker killed
        //     between the mail server's answer and its commit sends it again, by design).
        let emails: std::collections::HashSet<String> =
            sqlx::query_scalar::<_, String>("SELECT email FROM users")
                .fetch_all(&pool)
                .await
                .unwrap()
                .into_iter()
                .collect();
        let welcomed = |smtp: &crate::support::smtp::SmtpServer| {
            let mails: Vec<_> = smtp
                .messages()
                .into_iter()
                .filter(|m| m.subject().starts_with("Welcome to hexactor"))
                .collect();
            let to: std::collections::HashSet<String> =
                mails.iter().flat_map(|m| m.to.iter().cloned()).collect();
            (mails.len(), to)
        };
        let _ = tokio::time::timeout(within, async {
            while !emails.is_subset(&welcomed(&self.smtp).1) {
                sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        let (welcome_mails, welcomed_to) = welcomed(&self.smtp);
        let unwelcomed = emails.difference(&welcomed_to).count();
        let phantom_mails = welcomed_to.difference(&emails).count();

        // 5. Nothing left unacked: stop the workers gracefully, then every work and retry queue
        //    is empty (an unacked message would be back to ready once its consumer is gone).
        let work: Vec<String> = self
            .queues()
            .into_iter()
            .filter(|n| !n.ends_with(".dlq"))
            .collect();
        let conn = amqp().await;
        eventually("the work and retry queues are empty", within, async || {
            for q in &work {
                if queue_depth(&conn, q).await.unwrap_or(u32::MAX) != 0 {
                    return false;
                }
            }
            true
        })
        .await;
        for w in &self.workers {
            if w.exited.is_none() {
                w.sigterm();
            }
        }
        for w in &mut self.workers {
            let status = w
                .wait_exit(Duration::from_secs(SHUTDOWN_SECONDS + 10))
                .await;
            assert!(status.is_some(), "{} did not exit after SIGTERM", w.name);
        }
        let mut left = Vec::new();
        for q in &work {
            let depth = queue_depth(&conn, q).await.unwrap_or(u32::MAX);
            if depth != 0 {
                left.push(format!("{q}={depth}"));
            }
        }

        // 6. The DLQ holds exactly the injected poison messages.
        let dlq_name = dead_letter_queue(&self.names.command_queue);
        let mut dead: Vec<String> = Vec::new();
        let channel = conn.create_channel().await.unwrap();
        while let Ok(Some(msg)) = channel
            .basic_get(dlq_name.as_str().into(), BasicGetOptions { no_ack: true })
            .await
        {
            dead.push(
                msg.delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| {
                        format!("<no id: {}>", String::from_utf8_lossy(&msg.delivery.data))
                    }),
            );
        }
        let notifications_dlq = dead_letter_queue(&self.names.notifications_queue);
        let notifications_dead = queue_depth(&conn, &notifications_dlq).await.unwrap_or(0);
        let _ = conn.close(200, "done".into()).await;

        let lost =
            (ids.len() as i64 - completed) + succeeded_without_user + users_without_event as i64;
        let duplicated = duplicate_emails
            + users_with_two_events as i64
            + phantom_events as i64
            + (welcomes.0 - welcomes.1);
        let summary = Summary {
            line: format!(
                "chaos[{}]: accepted={} completed={} succeeded={} failed={} lost={} duplicated={} \
                 dead_lettered={} redelivered_commands={} redelivered_events={} http_retries={} \
                 welcome_mails={} elapsed={:.1}s",
                self.scenario,
                ids.len(),
                completed,
                succeeded,
                failed,
                lost,
                duplicated,
                dead.len(),
                self.redelivered_commands(),
                events.same_event_again,
                load.http_retries,
                welcome_mails,
                self.elapsed().as_secs_f64()
            ),
        };
        println!("{}", summary.line);

        assert_eq!(
            pending, 0,
            "{pending} accepted commands never reached a terminal state"
        );
        assert_eq!(
            completed,
            ids.len() as i64,
            "accepted commands missing from the command log"
        );
        assert_eq!(failed, 0, "every registration is unique, none may fail");
        assert_eq!(
            users, succeeded,
            "users in the database != succeeded commands"
        );
        assert_eq!(duplicate_emails, 0, "duplicate users");
        assert_eq!(
            succeeded_without_user, 0,
            "succeeded commands without their user"
        );
        assert_eq!(
            users_without_event, 0,
            "users whose UserCreated never arrived"
        );
        assert_eq!(
            users_with_two_events, 0,
            "users with more than one distinct UserCreated"
        );
        assert_eq!(
            phantom_events, 0,
            "UserCreated events for users that do not exist"
        );
        assert!(
            left.is_empty(),
            "messages left in work/retry queues after the workers stopped: {left:?}"
        );
        let mut dead_sorted = dead.clone();
        dead_sorted.sort();
        let mut expected: Vec<String> = poison.to_vec();
        expected.sort();
        assert_eq!(
            dead_sorted, expected,
            "the DLQ must hold exactly the injected poison messages"
        );
        assert_eq!(
            welcomes,
            (users, users),
            "welcome notifications (rows, distinct users) != users"
        );
        assert_eq!(notifications_dead, 0, "notifications were dead-lettered");
        assert_eq!(
            unwelcomed, 0,
            "users whose welcome mail never reached the SMTP server"
        );
        assert_eq!(
            phantom_mails, 0,
            "welcome mails to addresses that are not users"
        );
        summary
    }
}

pub struct Summary {
    pub line: String,
}

pub struct ObservedEvents {
    /// user id -> the distinct event ids seen for it
    pub by_user: HashMap<Uuid, HashSet<Uuid>>,
    /// Deliveries of an event id already seen (at-least-once publishing; harmless).
    pub same_event_again: usize,
}

/// Consumes the observer queue until `users` users have been seen and it stays quiet.
async fn drain_events(queue: &str, users: usize, within: Duration) -> ObservedEvents {
    let conn = amqp().await;
    let channel = conn.create_channel().await.unwrap();
    channel
        .basic_qos(500, BasicQosOptions::default())
        .await
        .unwrap();
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "chaos-observer".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut seen = ObservedEvents {
        by_user: HashMap::new(),
        same_event_again: 0,
    };
    let deadline = Instant::now() + within;
    loop {
        let quiet = if seen.by_user.len() >= users {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(5)
        };
        match tokio::time::timeout(quiet, consumer.next()).await {
            Ok(Some(Ok(delivery))) => {
                let v: Value = serde_json::from_slice(&delivery.data).expect("event JSON");
                assert_eq!(v["type"], "UserCreated", "{v}");
                let user = Uuid::parse_str(v["user_id"].as_str().unwrap()).unwrap();
                let event = Uuid::parse_str(v["event_id"].as_str().unwrap()).unwrap();
                if !seen.by_user.entry(user).or_default().insert(event) {
                    seen.same_event_again += 1;
                }
                delivery.ack(BasicAckOptions::default()).await.unwrap();
            }
            Ok(other) => panic!("observer consumer ended: {other:?}"),
            Err(_) if seen.by_user.len() >= users || Instant::now() > deadline => break,
            Err(_) => {}
        }
    }
    let _ = conn.close(200, "done".into()).await;
    seen
}
