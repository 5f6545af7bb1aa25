//! One value fetched from an upstream and kept for concurrent callers: the hook's secret and the
//! OAuth issuer's JWKS.
//!
//! - **Fresh** for `ttl` after the fetch started.
//! - **Single flight**: one fetch at a time; callers that need one wait for the fetch in flight
//!   and take its result (a herd of cold starts makes one fetch, not one each).
//! - **Stale while revalidating**: past its TTL a value keeps serving for up to `max_stale` more.
//!   One caller tries a refresh and waits at most `stale_wait` for it; everyone else is served
//!   the stale value at once.
//! - **Failures remembered**: a failed fetch is handed to the callers that waited for it and
//!   remembered for `retry_after_failure`, so a down upstream is not asked on every call. A
//!   caller whose deadline leaves room for the next allowed attempt waits for it (one fetch for
//!   all of them) rather than deciding from the remembered failure: a read right after the
//!   upstream recovers gets the fresh value.
//! - **Forced refresh** (a rotated `API_KEY`, an unknown `kid`): a value fetched after a given
//!   instant, at most one forced fetch per `forced_interval`.
//! - Each answer says whether this very call fetched ([`Got::fetched`]), so metrics never count
//!   other invocations' work.
//!
//! A leaf: imports nothing from the crate.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

// Tokio's clock (the system clock outside tests) so tests can move time.
use tokio::time::Instant;

/// How a [`Refreshing`] cache behaves; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
    pub max_stale: Duration,
    pub stale_wait: Duration,
    pub retry_after_failure: Duration,
    pub forced_interval: Duration,
}

/// What the cache answered, and whether this very call fetched (successfully or not) to answer.
#[derive(Debug)]
pub struct Got<T, E> {
    pub result: Result<Arc<T>, E>,
    pub fetched: bool,
}

impl<T, E> Got<T, E> {
    fn cached(result: Result<Arc<T>, E>) -> Self {
        Self {
            result,
            fetched: false,
        }
    }

    fn fetched(result: Result<Arc<T>, E>) -> Self {
        Self {
            result,
            fetched: true,
        }
    }
}

/// When a forced refresh finds the last one too recent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenLimited {
    /// Wait for the next slot (the caller's deadline bounds the wait): a rotated key must work.
    Wait,
    /// Take the cached value: an unknown `kid` from anyone must not make callers wait.
    Cached,
}

/// The fetch's error: handed to every caller that waited for the fetch.
pub trait CacheError: Clone + From<Stale> {}
impl<E: Clone + From<Stale>> CacheError for E {}

/// A refresh of a stale value that did not finish within `stale_wait`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out")]
pub struct Stale;

struct Entry<T> {
    value: Arc<T>,
    /// When the fetch that got it started: a value fetched after an instant is at least as new
    /// as the upstream was then.
    started: Instant,
}

struct State<T, E> {
    entry: Option<Entry<T>>,
    failure: Option<(Instant, E)>,
    last_forced: Option<Instant>,
}

pub struct Refreshing<T, E> {
    policy: CachePolicy,
    state: Mutex<State<T, E>>,
    /// Held while a fetch runs.
    flight: tokio::sync::Mutex<()>,
}

enum Cached<T, E> {
    Fresh(Arc<T>),
    Stale(Arc<T>),
    Failed(E),
    Nothing,
}

impl<T, E: CacheError> Refreshing<T, E> {
    pub fn new(policy: CachePolicy) -> Self {
        Self {
            policy,
            state: Mutex::new(State {
                entry: None,
                failure: None,
                last_forced: None,
            }),
            flight: tokio::sync::Mutex::new(()),
        }
    }

    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    fn state(&self) -> MutexGuard<'_, State<T, E>> {
        // A panic elsewhere cannot leave the state half-written: every write is one assignment.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the cache holds now; a stale value that also failed recently counts as fresh
    /// (served without a new attempt), and so does nothing that failed recently.
    fn look(&self) -> Cached<T, E> {
        let state = self.state();
        let now = Instant::now();
        let recently_failed = state
            .failure
            .as_ref()
            .filter(|(at, _)| now.duration_since(*at) < self.policy.retry_after_failure);
        match &state.entry {
            Some(e) if now.duration_since(e.started) < self.policy.ttl => {
                Cached::Fresh(e.value.clone())
            }
            Some(e) if now.duration_since(e.started) < self.policy.ttl + self.policy.max_stale => {
                match recently_failed {
                    Some(_) => Cached::Fresh(e.value.clone()),
                    None => Cached::Stale(e.value.clone()),
                }
            }
            _ => match recently_failed {
                Some((_, error)) => Cached::Failed(error.clone()),
                None => Cached::Nothing,
            },
        }
    }

    /// The value: cached, or fetched with `fetch` (which the caller's deadline bounds). After a
    /// recent failure, a caller whose `deadline` (none: no limit) comes after the next allowed
    /// attempt waits for that attempt; one whose deadline comes first gets the failure at once.
    pub async fn get<F, Fut>(&self, deadline: Option<Instant>, fetch: F) -> Got<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match self.look() {
            Cached::Fresh(value) => Got::cached(Ok(value)),
            Cached::Failed(error) => match self.next_attempt() {
                Some(at) if deadline.is_none_or(|deadline| at < deadline) => {
                    tokio::time::sleep_until(at).await;
                    self.fetch_once(fetch).await
                }
                _ => Got::cached(Err(error)),
            },
            Cached::Stale(stale) => {
                // Someone is refreshing already: serve the stale value without waiting.
                let Ok(_flight) = self.flight.try_lock() else {
                    return Got::cached(Ok(stale));
                };
                if let Cached::Fresh(value) = self.look() {
                    return Got::cached(Ok(value));
                }
                let started = Instant::now();
                let result = tokio::time::timeout(self.policy.stale_wait, fetch())
                    .await
                    .unwrap_or_else(|_| Err(Stale.into()));
                Got::fetched(Ok(self.store(started, result).unwrap_or(stale)))
            }
            Cached::Nothing => self.fetch_once(fetch).await,
        }
    }

    /// A fetch, unless the one in flight (waited for) answers for us, success or failure.
    async fn fetch_once<F, Fut>(&self, fetch: F) -> Got<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let _flight = self.flight.lock().await;
        match self.look() {
            Cached::Fresh(value) | Cached::Stale(value) => Got::cached(Ok(value)),
            Cached::Failed(error) => Got::cached(Err(error)),
            Cached::Nothing => {
                let started = Instant::now();
                Got::fetched(self.store(started, fetch().await))
            }
        }
    }

    /// When the remembered failure allows the next fetch.
    fn next_attempt(&self) -> Option<Instant> {
        let state = self.state();
        let (at, _) = state.failure.as_ref()?;
        Some(*at + self.policy.retry_after_failure)
    }

    /// A value fetched no earlier than `since`: the cached one when it is that new, else a
    /// forced fetch (one at a time, at most one per `forced_interval`; `when_limited` says what
    /// a caller does inside that interval).
    pub async fn refresh<F, Fut>(
        &self,
        since: Instant,
        when_limited: WhenLimited,
        fetch: F,
    ) -> Got<T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.newer_than(since) {
            return Got::cached(Ok(value));
        }
        let _flight = self.flight.lock().await;
        if let Some(value) = self.newer_than(since) {
            return Got::cached(Ok(value));
        }
        let next_slot = self
            .state()
            .last_forced
            .map(|at| at + self.policy.forced_interval);
        if let Some(slot) = next_slot.filter(|slot| *slot > Instant::now()) {
            match when_limited {
                WhenLimited::Wait => tokio::time::sleep_until(slot).await,
                WhenLimited::Cached => {
                    let entry = self.state().entry.as_ref().map(|e| e.value.clone());
                    return Got::cached(match (entry, self.look()) {
                        (Some(value), _) => Ok(value),
                        (None, Cached::Failed(error)) => Err(error),
                        (None, _) => Err(Stale.into()),
                    });
                }
            }
        }
        let started = Instant::now();
        self.state().last_forced = Some(started);
        Got::fetched(self.store(started, fetch().await))
    }

    fn newer_than(&self, since: Instant) -> Option<Arc<T>> {
        let state = self.state();
        let entry = state.entry.as_ref().filter(|e| e.started >= since)?;
        Some(entry.value.clone())
    }

    /// Keeps a fetch's result: a value replaces the entry, a failure is remembered.
    fn store(&self, started: Instant, result: Result<T, E>) -> Result<Arc<T>, E> {
        let mut state = self.state();
        match result {
            Ok(value) => {
                let value = Arc::new(value);
                state.entry = Some(Entry {
                    value: value.clone(),
                    started,
                });
                state.failure = None;
                Ok(value)
            }
            Err(error) => {
                state.failure = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// The cached value, fresh or not, without fetching.
    pub fn cached(&self) -> Option<Arc<T>> {
        self.state().entry.as_ref().map(|e| e.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Error {
        Down,
        Stale,
    }
    impl From<Stale> for Error {
        fn from(_: Stale) -> Self {
            Self::Stale
        }
    }

    /// A deadline that leaves no time: a remembered failure is answered at once.
    fn no_time() -> Option<Instant> {
        Some(Instant::now())
    }

    const POLICY: CachePolicy = CachePolicy {
        ttl: Duration::from_secs(60),
        max_stale: Duration::from_secs(60),
        stale_wait: Duration::from_millis(50),
        retry_after_failure: Duration::from_secs(5),
        forced_interval: Duration::from_secs(1),
    };

    /// A fetch that counts its calls and answers after `gate` opens.
    struct Upstream {
        calls: AtomicUsize,
        gate: tokio::sync::Semaphore,
        answer: Mutex<Result<u32, Error>>,
    }

    impl Upstream {
        fn new(answer: Result<u32, Error>, open: bool) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                gate: tokio::sync::Semaphore::new(if open { 1_000 } else { 0 }),
                answer: Mutex::new(answer),
            })
        }
        async fn fetch(&self) -> Result<u32, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let _permit = self.gate.acquire().await.unwrap();
            self.answer.lock().unwrap().clone()
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    fn cache(policy: CachePolicy) -> Arc<Refreshing<u32, Error>> {
        Arc::new(Refreshing::new(policy))
    }

    #[tokio::test]
    async fn concurrent_first_callers_share_one_fetch() {
        let cache = cache(POLICY);
        let up = Upstream::new(Ok(7), false);
        let callers: Vec<_> = (0..32)
            .map(|_| {
                let (cache, up) = (cache.clone(), up.clone());
                tokio::spawn(async move { cache.get(no_time(), || up.fetch()).await })
            })
            .collect();
        // Let every caller reach the cache before the one fetch answers.
        while up.calls() == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..64 {
            tokio::task::yield_now().await;
        }
        up.gate.add_permits(1_000);
        let mut fetched = 0;
        for caller in callers {
            let got = caller.await.unwrap();
            assert_eq!(*got.result.unwrap(), 7);
            fetched += usize::from(got.fetched);
        }
        assert_eq!(up.calls(), 1);
        assert_eq!(fetched, 1, "exactly one caller reports the fetch");
    }

    #[tokio::test]
    async fn a_failure_is_shared_and_remembered() {
        let cache = cache(POLICY);
        let up = Upstream::new(Err(Error::Down), true);
        let mut fetched = 0;
        for _ in 0..10 {
            let got = cache.get(no_time(), || up.fetch()).await;
            assert_eq!(got.result.unwrap_err(), Error::Down);
            fetched += usize::from(got.fetched);
        }
        assert_eq!(fetched, 1, "only the call that fetched says so");
        assert_eq!(
            up.calls(),
            1,
            "a down upstream is asked once per retry interval"
        );

        let forgetful = cache_with_retry(Duration::ZERO);
        for _ in 0..3 {
            assert!(forgetful
                .get(no_time(), || up.fetch())
                .await
                .result
                .is_err());
        }
        assert_eq!(up.calls(), 4);
    }

    fn cache_with_retry(retry: Duration) -> Arc<Refreshing<u32, Error>> {
        cache(CachePolicy {
            retry_after_failure: retry,
            ..POLICY
        })
    }

    #[tokio::test(start_paused = true)]
    async fn stale_values_serve_while_the_upstream_hangs_or_fails() {
        let cache = cache(POLICY);
        let good = Upstream::new(Ok(1), true);
        cache.get(no_time(), || good.fetch()).await.result.unwrap();
        tokio::time::advance(POLICY.ttl + Duration::from_secs(1)).await;

        // A hanging upstream: one caller waits stale_wait, the others not at all.
        let hanging = Upstream::new(Ok(2), false);
        let first = {
            let (cache, hanging) = (cache.clone(), hanging.clone());
            tokio::spawn(async move { cache.get(no_time(), || hanging.fetch()).await })
        };
        while hanging.calls() == 0 {
            tokio::task::yield_now().await;
        }
        let other = cache.get(no_time(), || hanging.fetch()).await;
        assert_eq!((*other.result.unwrap(), other.fetched), (1, false));
        tokio::time::advance(POLICY.stale_wait).await;
        let first = first.await.unwrap();
        assert_eq!((*first.result.unwrap(), first.fetched), (1, true));
        assert_eq!(hanging.calls(), 1);

        // The failed refresh is remembered: nobody tries again for retry_after_failure.
        for _ in 0..5 {
            assert_eq!(
                *cache
                    .get(no_time(), || hanging.fetch())
                    .await
                    .result
                    .unwrap(),
                1
            );
        }
        assert_eq!(hanging.calls(), 1);
        tokio::time::advance(POLICY.retry_after_failure).await;
        let fresh = cache.get(no_time(), || good.fetch()).await;
        assert_eq!((*fresh.result.unwrap(), fresh.fetched), (1, true));
        assert_eq!(good.calls(), 2);

        // Past the stale cap, a value is gone: callers wait for a fetch.
        tokio::time::advance(POLICY.ttl + POLICY.max_stale).await;
        let down = Upstream::new(Err(Error::Down), true);
        assert_eq!(
            cache
                .get(no_time(), || down.fetch())
                .await
                .result
                .unwrap_err(),
            Error::Down
        );
    }

    #[tokio::test(start_paused = true)]
    async fn forced_refresh_is_rate_limited_and_waits_for_its_slot() {
        let cache = cache(POLICY);
        let up = Upstream::new(Ok(1), true);
        cache.get(no_time(), || up.fetch()).await.result.unwrap();
        tokio::time::advance(Duration::from_millis(1)).await;

        // A value fetched before `since` is not new enough: one forced fetch.
        let since = Instant::now();
        let got = cache.refresh(since, WhenLimited::Wait, || up.fetch()).await;
        assert!(got.fetched && got.result.is_ok());
        assert_eq!(up.calls(), 2);

        // Inside the interval: `Cached` callers take the cached value, `Wait` callers wait for
        // the next slot, then fetch once for all of them.
        tokio::time::advance(Duration::from_millis(10)).await;
        let since = Instant::now();
        let got = cache
            .refresh(since, WhenLimited::Cached, || up.fetch())
            .await;
        assert!(!got.fetched && got.result.is_ok());
        assert_eq!(up.calls(), 2);

        *up.answer.lock().unwrap() = Ok(2);
        let waiters: Vec<_> = (0..16)
            .map(|_| {
                let (cache, up) = (cache.clone(), up.clone());
                tokio::spawn(
                    async move { cache.refresh(since, WhenLimited::Wait, || up.fetch()).await },
                )
            })
            .collect();
        let at = Instant::now();
        for waiter in waiters {
            assert_eq!(*waiter.await.unwrap().result.unwrap(), 2);
        }
        assert!(
            at.elapsed() >= Duration::from_millis(980),
            "{:?}",
            at.elapsed()
        );
        assert_eq!(up.calls(), 3, "sixteen callers, one forced fetch");

        // A newer value satisfies a refresh without any fetch.
        let got = cache.refresh(since, WhenLimited::Wait, || up.fetch()).await;
        assert!(!got.fetched);
        assert_eq!(up.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_with_time_left_waits_for_the_next_attempt_instead_of_the_old_failure() {
        let cache = cache(POLICY);
        let up = Upstream::new(Err(Error::Down), true);
        assert_eq!(
            cache.get(None, || up.fetch()).await.result.unwrap_err(),
            Error::Down
        );
        // The upstream recovers; the failure is remembered for POLICY.retry_after_failure (5 s).
        *up.answer.lock().unwrap() = Ok(9);
        let start = Instant::now();
        // A deadline before the next attempt: the remembered failure, at once.
        let short = Some(start + Duration::from_secs(2));
        let got = cache.get(short, || up.fetch()).await;
        assert_eq!(got.result.unwrap_err(), Error::Down);
        assert_eq!(Instant::now(), start);
        // Budget past the next attempt: eight callers wait for it, one fetch answers them all.
        let long = Some(start + Duration::from_secs(6));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, up) = (cache.clone(), up.clone());
                tokio::spawn(async move { cache.get(long, || up.fetch()).await })
            })
            .collect();
        let mut fetched = 0;
        for caller in callers {
            let got = caller.await.unwrap();
            assert_eq!(*got.result.unwrap(), 9);
            fetched += usize::from(got.fetched);
        }
        assert_eq!(fetched, 1);
        assert_eq!(up.calls(), 2);
        assert_eq!(Instant::now(), start + POLICY.retry_after_failure);
    }
}
