//! A set followed by a check of its effect: `dl-set --verify` (get it back and compare) and
//! `dl-set --wait-until EXPR` (get it until a [`Condition`] holds).

use crate::condition::{self, Condition, Hold};
use crate::output::OutputStyle;
use crate::run::{ask, connect, mesh_failure, print_result, with_default_key};
use crate::{RequestArgs, RequestSpec};
use anyhow::Context;
use dripline_cli::exit_status::TIMED_OUT;
use dripline_cli::output::LineOutput;
use dripline_cli::report;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The exit status of a `--verify` whose value read back differs from the value set (5: a
/// class no dripline return code uses).
pub const MISMATCH: u8 = 5;

/// How to check a set.
#[derive(Clone, Debug)]
pub enum Check {
    /// Get the endpoint after `settle` and compare its `value_raw` with the value set.
    Verify {
        /// Wait this long after the set's reply before the get.
        settle: Duration,
        /// How far numbers may differ.
        tolerance: f64,
    },
    /// Get the endpoint every `interval` until `condition` held for `stable`, at most
    /// `timeout` (none: forever).
    WaitUntil {
        /// The condition on the get's payload.
        condition: Condition,
        /// Between gets.
        interval: Duration,
        /// How long it must hold.
        stable: Duration,
        /// How far numbers may differ for `==`.
        tolerance: f64,
        /// Give up after this long.
        timeout: Option<Duration>,
    },
}

/// Send the set `spec`, print its reply as dl-set does, then run `check`; the exit status:
/// the set's own when it failed, the get's when a get failed, [`MISMATCH`], [`TIMED_OUT`], or
/// 0.
pub async fn set_and_check(
    args: &RequestArgs,
    spec: RequestSpec,
    check: &Check,
) -> anyhow::Result<u8> {
    let settings = args.broker.one_shot_settings()?;
    let client = connect(&settings).await?;
    let spec = with_default_key(spec, args);
    let style = OutputStyle {
        full: args.full,
        field: args.field.clone(),
        pretty: args.pretty,
    };
    let mut out = LineOutput::stdout(false);
    let set = ask(&client, &spec, args.timeout)
        .await
        .map_err(mesh_failure)?;
    let status = print_result(&set, &style, false, &mut out)?;
    out.flush().context("writing to stdout")?;
    if status != 0 || !set.succeeded() {
        return Ok(status);
    }
    let get = RequestSpec::get(&spec.target, None);
    let get = RequestSpec {
        lockout_key: spec.lockout_key.clone(),
        specifier: spec.specifier.clone(),
        ..get
    };
    match check {
        Check::Verify { settle, tolerance } => {
            tokio::time::sleep(*settle).await;
            let read = ask(&client, &get, args.timeout)
                .await
                .map_err(mesh_failure)?;
            if !read.succeeded() {
                report::error(format_args!("--verify: {}", read.describe_failure()));
                return Ok(read.return_code.exit_status());
            }
            let wanted = spec
                .payload
                .get("values")
                .and_then(|v| v.get(0))
                .unwrap_or(&Value::Null);
            let payload = read.payload();
            let (field, found) = match payload.get("value_raw") {
                Some(raw) => ("value_raw", raw),
                None => ("payload", payload),
            };
            if condition::equals(found, wanted, *tolerance) {
                return Ok(0);
            }
            report::error(format_args!(
                "{}: set to {wanted} but {field} reads back {found} (tolerance {tolerance})",
                spec.target
            ));
            Ok(MISMATCH)
        }
        Check::WaitUntil {
            condition,
            interval,
            stable,
            tolerance,
            timeout,
        } => {
            let started = Instant::now();
            let mut hold = Hold::new(*stable);
            loop {
                let read = ask(&client, &get, args.timeout)
                    .await
                    .map_err(mesh_failure)?;
                let holds = read.succeeded() && condition.holds(read.payload(), *tolerance);
                if hold.update(holds) {
                    return Ok(0);
                }
                if timeout.is_some_and(|timeout| started.elapsed() + *interval > timeout) {
                    let last = if read.succeeded() {
                        read.payload().to_string()
                    } else {
                        read.describe_failure()
                    };
                    report::error(format_args!(
                        "--wait-until: timed out after {:?}: '{condition}' did not hold; last value: {last}",
                        timeout.unwrap_or_default()
                    ));
                    return Ok(TIMED_OUT);
                }
                tokio::time::sleep(*interval).await;
            }
        }
    }
}
