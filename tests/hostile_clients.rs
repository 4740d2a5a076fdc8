//! Hostile messages at the receiving ends that are not services (issue 10): dl-listen given
//! alerts with a 100 000-deep body, dl-get given a 100 000-deep reply and a reply larger than
//! the 16 MiB reassembly bound (17 MB in 10 kB chunks). Each refuses the message with one
//! clear warning and goes on: dl-listen prints the next alert, dl-get (which drops the
//! undecodable reply and waits for a good one) ends with its timeout. Never a stack overflow.

#[path = "flood.rs"]
mod flood;
#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{binary, stderr_of, unique_name, without_env_settings, ChildGuard};
use dripline_protocol::{encode, Message};
use flood::{one_chunk, Raw};
use serde_json::json;
use serve_support::{client, private_queue};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn deep_body() -> Vec<u8> {
    "[".repeat(100_000).into_bytes()
}

#[tokio::test]
async fn dl_listen_refuses_a_deeply_nested_alert_and_prints_the_next_one() {
    let (conn, _client) = client().await;
    let alerts = conn.settings().alerts_exchange.clone();
    let raw = Raw::on(&conn, &alerts).await;
    let key = unique_name("deep");
    let mut listen = ChildGuard::spawn(
        without_env_settings(Command::new(binary("dl-listen")))
            .args([key.as_str(), "-n", "1", "-b", "127.0.0.1", "-p", "5672"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Until dl-listen has bound its queue (and so printed a good alert and stopped), each round
    // sends it a deep alert first.
    let good = Message::alert(
        &key,
        json!({"value_raw": 7}),
        conn.sender_info().clone(),
        "t".into(),
    );
    let start = Instant::now();
    let status = loop {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "dl-listen printed nothing in 20 s"
        );
        let mut deep = one_chunk(&Message::alert(
            &key,
            json!({}),
            conn.sender_info().clone(),
            "t".into(),
        ));
        deep.body = deep_body();
        raw.chunk(&deep).await;
        raw.chunk(&one_chunk(&good)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Some(status) = listen.child.try_wait().unwrap() {
            break status;
        }
    };
    let output = std::mem::replace(&mut listen.child, Command::new("true").spawn().unwrap())
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        status.success(),
        "dl-listen: {status}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(record["payload"], json!({"value_raw": 7}), "{stdout}");
}

/// Answer the next request on `queue_key` with `replies` (chunks whose bodies are set by
/// the caller), as a service would.
async fn fake_service(
    conn: &dripline_mesh::MeshConnection,
    key: &str,
    body: Vec<u8>,
    program_args: &[&str],
) -> std::process::Output {
    let requests = conn.settings().requests_exchange.clone();
    let (_channel, _queue, mut stream) = private_queue(
        conn,
        &requests,
        &[format!("{key}.#"), key.to_string()],
        false,
    )
    .await;
    let raw = Raw::open(conn).await;
    let mut command = without_env_settings(Command::new(binary("dl-get")));
    command
        .arg(key)
        .args(program_args)
        .args(["-b", "127.0.0.1", "-p", "5672"])
        .stdin(Stdio::null());
    let program = std::thread::spawn(move || command.output().unwrap());
    let request = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("dl-get's request")
        .unwrap()
        .unwrap()
        .message
        .unwrap();
    let mut reply = Message::reply(
        &request,
        0,
        "",
        json!(null),
        conn.sender_info().clone(),
        "t".into(),
    );
    reply.payload = json!("x".repeat(body.len()));
    // The reply's chunks as encode cuts them, with the bytes swapped for `body`.
    let mut chunks = encode(&reply, 10_000);
    let count = chunks.len();
    let mut rest = &body[..];
    for (index, chunk) in chunks.iter_mut().enumerate() {
        let take = if index + 1 == count {
            rest.len()
        } else {
            rest.len().min(10_000)
        };
        chunk.body = rest[..take].to_vec();
        rest = &rest[take..];
        raw.chunk(chunk).await;
    }
    tokio::task::spawn_blocking(move || program.join().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn dl_get_refuses_a_deeply_nested_reply_and_one_over_the_size_bound() {
    let (conn, _client) = client().await;
    // A deep reply: one clear line, a failure status, no stack overflow.
    let key = unique_name("deepsvc");
    let output = fake_service(&conn, &key, deep_body(), &["-t", "2s"]).await;
    refused_then_timed_out(&output, "recursion limit exceeded");
    // 17 MB of a JSON string: past the 16 MiB bound, refused, not held.
    let key = unique_name("bigsvc");
    let mut body = vec![b'"'];
    body.resize(17_000_000, b'7');
    body.push(b'"');
    // On a loaded machine the 1 700 chunks may take longer than the 1 s chunk wait to arrive:
    // then the message is given up for its missing chunks before it passes the bound. Either
    // way dl-get holds at most 16 MiB of it and says why.
    let output = fake_service(&conn, &key, body, &["-t", "5s"]).await;
    refused_then_timed_out(
        &output,
        "larger than 16777216 bytes|chunks did not arrive within",
    );
}

/// dl-get warned that it dropped the reply (one of the `|`-separated `why`; a reply given up for the assembly limits
/// also gets the rate-limited assembly warning), then timed out: exit status 4 (its timeout,
/// a 404 of its own), no signal.
fn refused_then_timed_out(output: &std::process::Output, why: &str) {
    let stderr = stderr_of(output);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert!(lines.len() <= 4, "{stderr}");
    let refused = |line: &&str| {
        line.contains("undecodable reply dropped")
            && why.split('|').any(|reason| line.contains(reason))
    };
    assert!(lines.iter().any(refused), "{stderr}");
    assert!(
        lines.last().unwrap().contains("no reply within"),
        "{stderr}"
    );
}
