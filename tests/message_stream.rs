//! `MessageStream::next` is cancel-safe: a caller's `select!` may drop it at any await (dl-serve's
//! loop does, for its timers and its shutdown), and no delivery it took may be lost. With
//! acknowledgement on arrival (dl-serve's requests) a delivery dropped after it was taken would
//! also have been acknowledged: gone for good, a request never answered.

use dripline_e2e::unique_name;
use dripline_mesh::{BrokerOptions, BrokerSettings, MeshConnection, MessageStream};
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::BasicProperties;
use std::time::{Duration, Instant};

const MESSAGES: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_delivery_is_lost_when_a_select_drops_next() {
    let settings = BrokerSettings::resolve(&BrokerOptions::default()).unwrap();
    let connection = MeshConnection::connect(&settings, "message-stream-test")
        .await
        .unwrap();
    let channel = connection.channel().await.unwrap();
    let queue = unique_name("stream_cancel");
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    for i in 0..MESSAGES {
        channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                format!("message {i}").as_bytes(),
                BasicProperties::default().with_message_id(format!("m{i}").into()),
            )
            .await
            .unwrap();
    }
    // As dl-serve consumes requests: manual acknowledgement, a prefetch window, acknowledged
    // on arrival in batches (here every delivery, so every take is followed by an ack).
    channel
        .basic_qos(20, BasicQosOptions::default())
        .await
        .unwrap();
    let consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut stream = MessageStream::new(consumer, false).acknowledging_on_arrival(1);

    let mut received = 0;
    let mut dropped_polls = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while received < MESSAGES && Instant::now() < deadline {
        // Another branch that is ready at its second poll: whenever next() is pending at
        // an await, it is dropped.
        tokio::select! {
            biased;
            incoming = stream.next() => match incoming {
                Some(Ok(_)) => received += 1,
                other => panic!("the stream ended: {:?}", other.map(|r| r.err())),
            },
            _ = tokio::task::yield_now() => dropped_polls += 1,
        }
    }
    eprintln!("{received} of {MESSAGES} received, next() dropped {dropped_polls} times");
    assert_eq!(received, MESSAGES, "deliveries lost to a dropped next()");
}
