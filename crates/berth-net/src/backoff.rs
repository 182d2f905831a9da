//! The pause between two polls of something that gives no signal when it is ready (an engine
//! coming up, a host booting): short at first, doubling to a ceiling, never past the deadline.

use std::time::{Duration, Instant};

/// Doubling pauses between `first` and `max`, bounded by a deadline.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    deadline: Instant,
}

impl Backoff {
    /// Pauses from `first` doubling up to `max`, until `deadline`.
    pub fn new(first: Duration, max: Duration, deadline: Instant) -> Self {
        Backoff {
            next: first,
            max,
            deadline,
        }
    }

    /// The usual poll: 200 ms doubling to 2 s, for `within` from now.
    pub fn polling(within: Duration) -> Self {
        Self::new(
            Duration::from_millis(200),
            Duration::from_secs(2),
            Instant::now() + within,
        )
    }

    /// The poll for what comes within moments (a process's exit status right after its
    /// stderr closed): 1 ms doubling to 50 ms, until `deadline`.
    pub fn moments(deadline: Instant) -> Self {
        Self::new(
            Duration::from_millis(1),
            Duration::from_millis(50),
            deadline,
        )
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The next pause (never past the deadline), or `None` once the deadline has passed.
    pub fn next_pause(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        let pause = self.next.min(left);
        self.next = (self.next * 2).min(self.max);
        Some(pause)
    }

    /// Sleeps the next pause on this thread; false once the deadline has passed.
    pub fn wait(&mut self) -> bool {
        match self.next_pause() {
            Some(pause) => {
                std::thread::sleep(pause);
                true
            }
            None => false,
        }
    }

    /// Sleeps the next pause on tokio; false once the deadline has passed.
    #[cfg(feature = "async")]
    pub async fn wait_async(&mut self) -> bool {
        match self.next_pause() {
            Some(pause) => {
                tokio::time::sleep(pause).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_ceiling_and_stops_at_the_deadline() {
        let mut b = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(300),
            Instant::now() + Duration::from_secs(60),
        );
        assert_eq!(b.next_pause(), Some(Duration::from_millis(100)));
        assert_eq!(b.next_pause(), Some(Duration::from_millis(200)));
        assert_eq!(b.next_pause(), Some(Duration::from_millis(300)));
        assert_eq!(b.next_pause(), Some(Duration::from_millis(300)));
        let mut done = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Instant::now(),
        );
        assert_eq!(done.next_pause(), None);
        assert!(done.expired());
    }

    #[test]
    fn a_poll_for_moments_starts_at_a_millisecond_and_stays_under_fifty() {
        let mut b = Backoff::moments(Instant::now() + Duration::from_secs(60));
        let pauses: Vec<_> = std::iter::from_fn(|| b.next_pause()).take(8).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            pauses,
            [ms(1), ms(2), ms(4), ms(8), ms(16), ms(32), ms(50), ms(50)]
        );
    }
}
