//! Reaching the dead letters: connecting to the broker (first reachable node, TLS for
//! `amqps://`) and taking messages *without* auto-ack, so that whatever this tool does not
//! explicitly remove goes back to the queue — handed back at once, or by the broker if the tool
//! dies half-way.

use ::actors::rabbit::AmqpTls;
use lapin::message::Delivery;
use lapin::options::{BasicGetOptions, BasicNackOptions};
use lapin::{Channel, Connection, ConnectionProperties};

/// Where the dead letters are: the broker's URL and, for `amqps://`, whom to trust.
#[derive(Clone, Debug)]
pub struct Broker<'a> {
    pub url: &'a str,
    pub tls: AmqpTls,
}

impl<'a> From<&'a str> for Broker<'a> {
    fn from(url: &'a str) -> Self {
        Self {
            url,
            tls: AmqpTls::default(),
        }
    }
}

impl<'a> From<&'a String> for Broker<'a> {
    fn from(url: &'a String) -> Self {
        url.as_str().into()
    }
}

impl<'a> From<&Broker<'a>> for Broker<'a> {
    fn from(broker: &Broker<'a>) -> Self {
        broker.clone()
    }
}

/// Connects to the first reachable node of the broker's URLs (one URL or a cluster's
/// comma-separated list), over TLS for `amqps://`.
pub(super) async fn connect(broker: Broker<'_>) -> anyhow::Result<(Connection, Channel)> {
    let mut endpoints = ::actors::rabbit::Endpoints::parse_in_order(broker.url)?;
    let mut last_error = None;
    for _ in 0..endpoints.all().len() {
        let endpoint = endpoints.advance().clone();
        let props = ConnectionProperties::default().with_connection_name("hexactor-dlq-cli".into());
        match ::actors::rabbit::open(&endpoint.url, props, &broker.tls).await {
            Ok(conn) => {
                let channel = conn.create_channel().await?;
                return Ok((conn, channel));
            }
            Err(e) => last_error = Some(anyhow::Error::new(e).context(endpoint.node)),
        }
    }
    Err(last_error.expect("at least one endpoint"))
}

/// Takes (unacked) up to `limit` matching messages; the others it had to look at are handed
/// back at once. With an id it looks through the whole queue.
pub(super) async fn take(
    channel: &Channel,
    queue: &str,
    id: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<Delivery>> {
    let mut taken = Vec::new();
    let mut passed_over = Vec::new();
    while taken.len() < limit {
        let Some(msg) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let delivery = msg.delivery;
        let matches = id.is_none_or(|id| {
            delivery
                .properties
                .message_id()
                .as_ref()
                .is_some_and(|m| m.as_str() == id)
        });
        if matches {
            taken.push(delivery);
        } else {
            passed_over.push(delivery);
        }
    }
    give_back(passed_over).await;
    Ok(taken)
}

pub(super) async fn give_back(deliveries: Vec<Delivery>) {
    for d in deliveries {
        let _ = d
            .acker
            .nack(BasicNackOptions {
                requeue: true,
                multiple: false,
            })
            .await;
    }
}

pub(super) async fn close(conn: Connection) {
    let _ = conn.close(200, "done".into()).await;
}
