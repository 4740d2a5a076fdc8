//! Hostile and odd values sent to dl-serve with the real dl-set, dl-get and dl-cmd: the
//! service refuses them with a 3xx reply, stores nothing, and keeps answering.

#[path = "serve_support.rs"]
mod serve_support;

use dripline_e2e::{run, stderr_of, stdout_of};
use serde_json::{json, Value};
use serve_support::{start, Store};
use std::process::Output;

fn json_line(output: &Output) -> Value {
    let text = stdout_of(output);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

/// The service answers a ping (within 2 s).
fn answers_ping(service: &str) {
    let out = run("dl-cmd", &[service, "-s", "ping", "-t", "2s"], None);
    assert!(
        out.status.success(),
        "{service} no longer answers ping: {}",
        stderr_of(&out)
    );
}

#[tokio::test]
async fn deeply_nested_calibration_value_gets_304_and_the_service_keeps_answering() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &["-q"]).await;
    // Issue 10: 50 000 '(' pasted into '2*{}' overflowed dl-serve's stack (dripline-python
    // dies on it too). peaches evaluates it at once (get_on_set); chips would at the next get.
    let hostile = "(".repeat(50_000);
    for (endpoint, before) in [
        (&store.peaches, json!({"value_raw": 0.75, "value_cal": 1.5})),
        (&store.chips, json!({"value_raw": 1.75})),
    ] {
        let out = run("dl-set", &[endpoint, &hostile], None);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("304")
                && stderr.contains("value refused by calibration")
                && stderr.contains("nests parentheses 50000 deep (at most 32)"),
            "{stderr}"
        );
        answers_ping(&store.service);
        // Nothing was stored.
        let out = run("dl-get", &[endpoint], None);
        assert!(out.status.success(), "{}", stderr_of(&out));
        assert_eq!(json_line(&out), before);
    }
    // Short but deep: 40 nested parentheses, and a long chain of signs.
    for hostile in [
        format!("{}1{}", "(".repeat(40), ")".repeat(40)),
        format!("{}1", "-".repeat(500)),
    ] {
        let out = run("dl-set", &[&store.peaches, &hostile], None);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("304") && stderr.contains("deep"),
            "{stderr}"
        );
        answers_ping(&store.service);
    }
    // Within the limits the value is still calibrated as dripline-python would.
    let nested = format!("{}3{}", "(".repeat(20), ")".repeat(20));
    let out = run("dl-set", &[&store.peaches, &nested], None);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(json_line(&out)["value_cal"], json!(6));
}

#[tokio::test]
async fn a_list_is_refused_with_304_never_truncated() {
    let store = Store::new();
    let _served = start(&store.service, &store.config(0.0), &["-q"]).await;
    // Issue 16 item 4: `dl-set peaches '[7,8]' --json` stored and answered 7.
    for endpoint in [&store.peaches, &store.waffles] {
        let out = run("dl-set", &[endpoint, "[7,8]", "--json"], None);
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("304") && stderr.contains("not a list (2 items)"),
            "{stderr}"
        );
        answers_ping(&store.service);
    }
    let out = run("dl-get", &[&store.peaches], None);
    assert_eq!(
        json_line(&out),
        json!({"value_raw": 0.75, "value_cal": 1.5})
    );
    let out = run("dl-get", &[&store.waffles, "--field", "value_raw"], None);
    assert_eq!(stdout_of(&out).trim(), "4.0");
    // An object is one value: stored and answered whole.
    let out = run(
        "dl-set",
        &[&store.waffles, r#"{"a":[7,8]}"#, "--json"],
        None,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = run("dl-get", &[&store.waffles, "--field", "value_raw"], None);
    assert_eq!(
        serde_json::from_str::<Value>(stdout_of(&out).trim()).unwrap(),
        json!({"a": [7, 8]})
    );
}
