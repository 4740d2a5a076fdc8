//! Settling what a durable queue delivered, once the consumer has dealt with it:
//! [`Acknowledgements`] for what was handled, and a [`DeadLetterChannel`] for messages that
//! cannot be used, passed on unchanged but for a header that says why (what `dl-log-to-pg`
//! does with poison alerts; `dl-listen --queue` acknowledges after printing).

use crate::fields::to_amqp_properties;
use crate::incoming::RawDelivery;
use crate::listener::Listener;
use crate::MeshError;
use dripline_protocol::wire::ChunkId;
use dripline_protocol::{FieldTable, FieldValue, WireProperties, CONTENT_ENCODING_JSON};
use lapin::options::{BasicAckOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, LongString};
use lapin::{Acker, Channel};

/// Deliveries received and not yet acknowledged ([`Incoming::ackers`](crate::Incoming)),
/// acknowledged together once what they carried is safe.
#[derive(Default)]
pub struct Acknowledgements {
    ackers: Vec<Acker>,
}

impl Acknowledgements {
    /// Add a message's deliveries (its [`Incoming::ackers`](crate::Incoming)).
    pub fn add(&mut self, ackers: impl IntoIterator<Item = Acker>) {
        self.ackers.extend(ackers);
    }

    /// Deliveries waiting.
    pub fn len(&self) -> usize {
        self.ackers.len()
    }

    /// True when none wait.
    pub fn is_empty(&self) -> bool {
        self.ackers.is_empty()
    }

    /// Forget them: their connection is gone, and the broker delivers them again.
    pub fn forget(&mut self) {
        self.ackers.clear();
    }

    /// Acknowledge every delivery waiting, and forget them. With `up_to_last`, one AMQP
    /// `multiple` acknowledgement of the last one, which also settles every earlier delivery
    /// on its channel: only when each of those is settled already or among these (no chunk of
    /// an incomplete message waits, see [`Listener::has_incomplete_messages`]). An error
    /// means the connection is gone; the broker then delivers them again.
    pub async fn ack(&mut self, up_to_last: bool) -> Result<(), MeshError> {
        let ackers = std::mem::take(&mut self.ackers);
        if up_to_last {
            return match ackers.last() {
                Some(last) => last
                    .ack(BasicAckOptions { multiple: true })
                    .await
                    .map(|_| ())
                    .map_err(|e| MeshError::amqp("acknowledging", e)),
                None => Ok(()),
            };
        }
        for acker in &ackers {
            acker
                .ack(BasicAckOptions::default())
                .await
                .map_err(|e| MeshError::amqp("acknowledging", e))?;
        }
        Ok(())
    }
}

/// One message to pass on to the dead-letter exchange.
pub struct DeadLetter<'a> {
    /// Its deliveries as they arrived ([`Incoming::raw`](crate::Incoming)).
    pub deliveries: &'a [RawDelivery],
    /// Why it is set aside: the value of the reason header.
    pub reason: &'a str,
    /// For deliveries whose properties were dropped ([`RawDelivery::strip_properties`]):
    /// the decoded message's id (the chunk id's base) and `timestamp`, from which each
    /// chunk's content encoding, `message_id` and `timestamp` header are written again.
    pub stripped: Option<(&'a str, &'a str)>,
}

/// A channel in confirm mode, on a listener's connection, publishing to one dead-letter
/// exchange. Cheap to clone (clones share the channel).
#[derive(Clone)]
pub struct DeadLetterChannel {
    channel: Channel,
    exchange: String,
    reason_header: String,
}

impl DeadLetterChannel {
    /// Open it on `listener`'s connection, to publish to `exchange` with the reason in
    /// `reason_header`; `None` while the listener is disconnected.
    pub async fn open(
        listener: &Listener,
        exchange: &str,
        reason_header: &str,
    ) -> Option<Result<Self, MeshError>> {
        let channel = match listener.open_channel().await? {
            Ok(channel) => channel,
            Err(error) => return Some(Err(error)),
        };
        if let Err(error) = channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
        {
            return Some(Err(MeshError::amqp("enabling publisher confirms", error)));
        }
        Some(Ok(DeadLetterChannel {
            channel,
            exchange: exchange.to_string(),
            reason_header: reason_header.to_string(),
        }))
    }

    /// Publish every letter's deliveries, with their routing keys, with the reason and the
    /// `x-original-exchange` headers added, and wait until the broker confirms them all.
    pub async fn publish(&self, letters: &[DeadLetter<'_>]) -> Result<(), MeshError> {
        let exchange = crate::short(&self.exchange)?;
        let mut confirms = Vec::new();
        for letter in letters {
            let count = letter.deliveries.len();
            for (index, delivery) in letter.deliveries.iter().enumerate() {
                let properties = match letter.stripped {
                    None => delivery.properties.clone(),
                    Some((base, timestamp)) => {
                        to_amqp_properties(&essential_properties(base, timestamp, index, count))
                    }
                };
                let mut headers = properties.headers().clone().unwrap_or_default();
                headers.insert(
                    self.reason_header.as_str().into(),
                    AMQPValue::LongString(LongString::from(letter.reason)),
                );
                headers.insert(
                    "x-original-exchange".into(),
                    AMQPValue::LongString(delivery.exchange.as_str().into()),
                );
                let confirm = self
                    .channel
                    .basic_publish(
                        exchange.clone(),
                        crate::short(&delivery.routing_key)?,
                        BasicPublishOptions::default(),
                        &delivery.body,
                        properties.with_headers(headers),
                    )
                    .await
                    .map_err(|e| MeshError::amqp("dead-lettering", e))?;
                confirms.push(confirm);
            }
        }
        for confirm in confirms {
            let confirmation = confirm
                .await
                .map_err(|e| MeshError::amqp("waiting for the dead-letter confirm", e))?;
            if confirmation.is_nack() {
                return Err(MeshError::Amqp {
                    action: "dead-lettering".into(),
                    reason: "the broker refused the message (nack)".into(),
                });
            }
        }
        Ok(())
    }
}

/// What a dripline reader needs of chunk `index` of `count` of a message whose id is `base`.
fn essential_properties(base: &str, timestamp: &str, index: usize, count: usize) -> WireProperties {
    let mut headers = FieldTable::new();
    headers.insert("timestamp".to_string(), FieldValue::string(timestamp));
    let chunk = ChunkId {
        base: base.to_string(),
        index,
        count,
    };
    WireProperties {
        content_encoding: Some(CONTENT_ENCODING_JSON.to_string()),
        message_id: Some(chunk.to_string()),
        headers,
        ..WireProperties::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_properties_keep_a_base_with_slashes_whole() {
        let properties = essential_properties("host/42", "2026-01-01T00:00:00Z", 1, 3);
        assert_eq!(properties.message_id.as_deref(), Some("host/42/1/3"));
        assert_eq!(
            properties.content_encoding.as_deref(),
            Some(CONTENT_ENCODING_JSON)
        );
        assert_eq!(
            properties.headers.get("timestamp"),
            Some(&FieldValue::string("2026-01-01T00:00:00Z"))
        );
    }
}
