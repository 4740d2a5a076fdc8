//! dl-top in a real terminal (tmux): rows appear for the alerts sent, `s` changes the order,
//! `q` quits with status 0 and gives the terminal back (the alternate screen is left); and as
//! under `kubectl exec -it`, a terminal that starts with no size and no TERM is drawn as soon
//! as its size arrives.

use dripline_e2e::{binary, run_command, stderr_of, unique_name, wait_until, without_env_settings};
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// A tmux session, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn capture(&self) -> String {
        let output = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.0])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn send(&self, keys: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0, keys])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }

    fn wait_for(&self, what: &str) -> String {
        let mut screen = String::new();
        let found = wait_until(LIMIT, || {
            screen = self.capture();
            screen.contains(what)
        });
        assert!(found, "no {what:?} on the screen:\n{screen}");
        screen
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

fn alert(key: &str, payload: &str) {
    let mut command = without_env_settings(Command::new(binary("dl-alert")));
    let output = run_command(command.args([key, payload]), None);
    assert!(output.status.success(), "{}", stderr_of(&output));
}

impl Tmux {
    /// dl-top for `key` in a new detached 100x20 session, after the shell commands `prelude`;
    /// the pane shows dl-top's exit status when it ends.
    fn start_top(key: &str, prelude: &str) -> Tmux {
        let session = Tmux(unique_name("dl_top"));
        let script = format!(
            "{prelude} env -u DRIPLINE_AMQP_URL -u DRIPLINE_BROKER -u DRIPLINE_USER \
             -u DRIPLINE_PASSWORD {} 'sensor_value.{key}.#'; echo dl-top exited $?; sleep 60",
            binary("dl-top").display()
        );
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session.0,
                "-x",
                "100",
                "-y",
                "20",
                &script,
            ])
            .status()
            .expect("tmux new-session");
        assert!(status.success());
        session
    }
}

#[test]
fn rows_appear_sort_changes_and_q_restores_the_terminal() {
    let key = unique_name("top");
    let session = Tmux::start_top(&key, "");
    session.wait_for("SENSOR");

    for value in [1, 2, 3, 5, 8] {
        alert(
            &format!("sensor_value.{key}.ramp"),
            &format!("{{\"value_raw\": {value}, \"value_cal\": {}}}", value * 10),
        );
    }
    alert(&format!("sensor_value.{key}.door"), "\"open\"");
    let screen = session.wait_for(&format!("{key}.door"));
    let ramp = screen
        .lines()
        .find(|l| l.contains(&format!("{key}.ramp")))
        .unwrap_or_else(|| panic!("no ramp row:\n{screen}"));
    assert!(ramp.contains(" 80 "), "last value_cal: {ramp}");
    assert!(ramp.contains("/min"), "{ramp}");
    assert!(
        ramp.contains('▁') && ramp.contains('█'),
        "sparkline: {ramp}"
    );
    let door = screen.lines().position(|l| l.contains(".door")).unwrap();
    let ramp_at = screen.lines().position(|l| l.contains(".ramp")).unwrap();
    assert!(door < ramp_at, "sorted by name:\n{screen}");
    assert!(screen.contains("sorted by Name"), "{screen}");

    session.send("s");
    session.wait_for("sorted by Age");
    session.send("q");
    let screen = session.wait_for("dl-top exited 0");
    assert!(
        !screen.contains("SENSOR"),
        "the table is gone with the alternate screen:\n{screen}"
    );
}

/// `kubectl exec -it` gives the program a terminal whose size is 0x0 until the client's first
/// resize message arrives, and no TERM (kubectl does not pass it on).
#[test]
fn a_terminal_without_size_or_term_is_drawn_once_its_size_arrives() {
    let key = unique_name("top");
    let session = Tmux::start_top(&key, "stty rows 0 cols 0; unset TERM;");
    // dl-top draws every second; on a terminal of no size that must draw nothing, not end it.
    let ended = wait_until(Duration::from_secs(3), || {
        session.capture().contains("exited")
    });
    assert!(
        !ended,
        "dl-top ended on a terminal of no size:\n{}",
        session.capture()
    );

    let status = Command::new("tmux")
        .args(["resize-window", "-t", &session.0, "-x", "90", "-y", "16"])
        .status()
        .expect("tmux resize-window");
    assert!(status.success());
    session.wait_for("SENSOR");
    alert(&format!("sensor_value.{key}.late"), "{\"value_cal\": 4.5}");
    let screen = session.wait_for(&format!("{key}.late"));
    let row = screen.lines().find(|l| l.contains(".late")).unwrap();
    assert!(row.contains("4.5"), "{row}");
    session.send("q");
    session.wait_for("dl-top exited 0");
}
