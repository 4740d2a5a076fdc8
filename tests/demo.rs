//! `make demo` (scripts/demo.sh) runs end to end against the real services: requests, then
//! alerts → dl-log-to-pg → PostgreSQL → dl-export → dl-plot, in under two minutes from a warm
//! build; it leaves a PNG at the path it prints and nothing running.

use dripline_e2e::{binary, repo_path, temp_dir, unique_name};
use dripline_store::postgres::{Client, NoTls};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Processes (pid, command) whose session is `session`.
fn processes_in_session(session: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp session ...; comm may hold spaces, so split after ')'.
        let Some((comm, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(3).and_then(|s| s.parse::<u32>().ok()) == Some(session) {
            found.push((pid, comm.split_once('(').map_or("", |c| c.1).to_string()));
        }
    }
    found
}

#[test]
fn make_demo_runs_the_whole_path_and_leaves_nothing_running() {
    let dir = temp_dir("demo");
    let plot = dir.path().join("peaches.png");
    let database = unique_name("demo_test");
    let started = Instant::now();
    // setsid: the demo and everything it starts share a session of their own, so what is
    // left of it afterwards can be found (and nothing else is mistaken for it).
    let mut child = Command::new("setsid")
        .arg("bash")
        .arg(repo_path("scripts/demo.sh"))
        .env("DEMO_PLOT", &plot)
        .env("DEMO_DATABASE", &database)
        // The programs this test run uses (built before the tests, as every e2e test wants).
        .env("DEMO_BIN_DIR", binary("dl-plot").parent().unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setsid bash scripts/demo.sh");
    let session = child.id();
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        if started.elapsed() > Duration::from_secs(180) {
            // The whole process group (the session's leader's): SIGTERM lets the script's trap
            // stop what it started; SIGKILL whatever is left.
            let group = format!("-{session}");
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            std::thread::sleep(Duration::from_secs(10));
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            panic!("make demo still running after 180 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();

    let left = processes_in_session(session);
    let dropped = Client::connect(
        "postgresql://postgres:postgres@127.0.0.1:5432/postgres",
        NoTls,
    )
    .and_then(|mut admin| {
        admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
    });

    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(left.is_empty(), "left running: {left:?}");
    // The build is the caller's (warm, as after make build); the demo itself must be short.
    let seconds: u64 = stdout
        .split("demo: done in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'demo: done in N s': {stdout}"));
    assert!(
        seconds < 120,
        "the demo took {seconds} s after the build ({elapsed:?} in all)"
    );
    for step in [
        "$ dl-listen sensor_value.peaches --count 3 -f text",
        "dl-log-to-pg --stdin --init-schema",
        "$ dl-set peaches 650",
        "$ dl-export --pg-database",
        "| dl-plot --unit V",
    ] {
        assert!(stdout.contains(step), "no {step:?} in:\n{stdout}");
    }
    // dl-listen showed alerts; the export has this run's rows; the terminal plot has a line.
    let alerts = stdout
        .lines()
        .filter(|l| l.starts_with("20") && l.contains(" sensor_value.peaches "))
        .count();
    assert_eq!(alerts, 3, "{stdout}");
    assert_eq!(
        stdout.matches("\npeaches,20").count(),
        4,
        "stored rows exported: {stdout}"
    );
    assert!(stdout.contains("⣿ peaches"), "the plot's legend: {stdout}");
    assert!(
        stdout
            .chars()
            .filter(|c| ('\u{2801}'..='\u{28fe}').contains(c))
            .count()
            > 30
    );
    assert!(
        stdout.contains(&format!("plot written to {}", plot.display())),
        "{stdout}"
    );
    let png = std::fs::read(&plot).expect("the demo's PNG");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 10_000, "a PNG of {} bytes", png.len());
    dropped.expect("dropping the demo database");
}
