//! dl-history (issue 15) and `dl-log-to-pg --init-schema --partition`, against the real
//! PostgreSQL: hostile flags.

use dripline_e2e::{run, stderr_of};

/// (status, stderr) of `dl-history args…` with no database needed.
fn refused(args: &[&str]) -> (i32, String) {
    let output = run("dl-history", args, None);
    (output.status.code().unwrap_or(-1), stderr_of(&output))
}

#[test]
fn hostile_flags_are_refused_before_any_connection() {
    for (args, says) in [
        (&["prune", "--raw", "-5d"][..], "-5d"),
        (&["prune", "--raw=-5d"][..], "-5d"),
        (&["prune", "--raw", "1h"][..], "under a day"),
        (
            &["prune", "--raw", "90d", "--minute", "5000y"][..],
            "over 1000 years",
        ),
        (
            &["migrate", "--partition", "year"][..],
            "month, week or day",
        ),
        (&["partitions", "--ahead", "100000"][..], "100000"),
        (&["partitions", "--table", "a.b.c"][..], "a.b.c"),
    ] {
        let (status, stderr) = refused(args);
        assert_eq!(status, 64, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
