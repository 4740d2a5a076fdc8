//! Waiting between reconnection attempts.

use std::time::Duration;

/// Exponential back-off with jitter: each delay doubles up to a ceiling, and is drawn at random
/// from its upper half, so that many clients that lost the same broker or database do not all
/// come back in the same millisecond.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    first: Duration,
    ceiling: Duration,
}

impl Backoff {
    /// Delays starting at `first`, doubling up to `ceiling`.
    pub fn new(first: Duration, ceiling: Duration) -> Self {
        Backoff {
            next: first,
            first,
            ceiling,
        }
    }

    /// The next delay to wait (half to all of the nominal one), and double the nominal one.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.next;
        self.next = (nominal * 2).min(self.ceiling);
        nominal.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    /// Start again from the first delay (after a success).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Default for Backoff {
    /// 100 ms doubling to 5 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_with_jitter() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let bounds = [100, 200, 400, 400];
        for nominal in bounds {
            let delay = backoff.next_delay();
            assert!(delay >= Duration::from_millis(nominal / 2), "{delay:?}");
            assert!(delay <= Duration::from_millis(nominal), "{delay:?}");
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
