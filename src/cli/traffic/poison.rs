//! Poison: undecodable commands published straight onto the command queue (they end in the DLQ).

use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;

/// Undecodable commands, published like an API would (persistent, to the command queue).
pub(super) async fn publish_poison(settings: &Settings, count: u32) -> anyhow::Result<()> {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    let conn = lapin::Connection::connect(
        settings.messaging.rabbitmq_url.expose(),
        lapin::ConnectionProperties::default(),
    )
    .await?;
    let channel = conn.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let queue = Names::new(&settings.messaging.amqp_prefix).command_queue;
    for i in 0..count {
        let payload = format!("{{\"type\":\"NoSuchCommand\",\"poison\":{i}}}");
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                payload.as_bytes(),
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await?
            .await?;
    }
    let _ = conn.close(200, "done".into()).await;
    Ok(())
}
