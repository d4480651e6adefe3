//! Token buckets (docs/behaviour.md §9): route throttles from `defaultRouteSettings` / `routeSettings`, the
//! gateway-wide new-connection rate, connections per client IP, and the management API rate.
//!
//! Time is `tokio::time::Instant`, so tests drive the buckets with paused time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use switchboard_core::config::RouteSettings;
use tokio::time::Instant;

/// AWS's account-level rate, used when a route sets only a burst (docs/behaviour.md §9).
pub const ACCOUNT_RATE: f64 = 10_000.0;
/// AWS's account-level burst, used when a route sets only a rate (docs/behaviour.md §9).
pub const ACCOUNT_BURST: u32 = 5_000;

/// The limits of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Tokens added per second.
    pub rate: f64,
    /// Most tokens held; a full bucket lets this many requests through at once.
    pub burst: u32,
}

impl Limits {
    /// The limits of `route` in a stage: each field of its `routeSettings` entry, else the
    /// stage's `defaultRouteSettings`; a field set nowhere takes the AWS account default; no
    /// throttling at all when neither field is set anywhere.
    pub fn for_route(default: &RouteSettings, route: Option<&RouteSettings>) -> Option<Limits> {
        let rate = route
            .and_then(|r| r.throttling_rate_limit)
            .or(default.throttling_rate_limit);
        let burst = route
            .and_then(|r| r.throttling_burst_limit)
            .or(default.throttling_burst_limit);
        if rate.is_none() && burst.is_none() {
            return None;
        }
        Some(Limits {
            rate: rate.unwrap_or(ACCOUNT_RATE),
            burst: burst.unwrap_or(ACCOUNT_BURST),
        })
    }
}

/// A token bucket, starting full.
#[derive(Debug)]
pub struct TokenBucket {
    limits: Limits,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::new(BucketState {
                tokens: f64::from(limits.burst),
                refilled: Instant::now(),
            }),
        }
    }

    /// Its limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Takes one token if there is one. A burst of 0 refuses everything, as on AWS.
    pub fn try_acquire(&self) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(state.refilled).as_secs_f64();
        let rate = self.limits.rate.max(0.0);
        state.tokens = (state.tokens + elapsed * rate).min(f64::from(self.limits.burst));
        state.refilled = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why a new connection was refused before `$connect` ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectRefusal {
    /// Over `newConnectionsPerSecond`.
    Rate,
    /// Over `maxConnectionsPerIp`.
    PerIp,
}

/// Gateway-wide admission of new connections (extensions in `[server.limits]`).
#[derive(Debug, Default)]
pub struct ConnectionLimiter {
    rate: Option<TokenBucket>,
    per_ip: Option<PerIp>,
}

/// Live connections per client IP.
type IpCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

#[derive(Debug)]
struct PerIp {
    max: usize,
    counts: IpCounts,
}

/// A connection's place under `maxConnectionsPerIp`; released on drop.
#[derive(Debug)]
pub struct IpSlot {
    held: Option<(IpAddr, IpCounts)>,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Some((ip, counts)) = self.held.take() {
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = counts.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(&ip);
                }
            }
        }
    }
}

impl ConnectionLimiter {
    /// Limits from `newConnectionsPerSecond` (burst: one second's worth, at least 1) and
    /// `maxConnectionsPerIp`; both off when `None`.
    pub fn new(per_second: Option<f64>, per_ip: Option<usize>) -> Self {
        Self {
            rate: per_second.map(|rate| {
                TokenBucket::new(Limits {
                    rate,
                    burst: (rate.ceil() as u32).max(1),
                })
            }),
            per_ip: per_ip.map(|max| PerIp {
                max,
                counts: Arc::default(),
            }),
        }
    }

    /// Admits a connection from `ip`, or says why not. The slot is held for the connection's
    /// life; the per-IP check comes first so a refused IP does not spend the global rate.
    pub fn admit(&self, ip: IpAddr) -> Result<IpSlot, ConnectRefusal> {
        let slot = match &self.per_ip {
            None => IpSlot { held: None },
            Some(per_ip) => {
                let mut counts = per_ip.counts.lock().unwrap_or_else(|e| e.into_inner());
                let n = counts.entry(ip).or_insert(0);
                if *n >= per_ip.max {
                    return Err(ConnectRefusal::PerIp);
                }
                *n += 1;
                IpSlot {
                    held: Some((ip, Arc::clone(&per_ip.counts))),
                }
            }
        };
        if let Some(rate) = &self.rate {
            if !rate.try_acquire() {
                return Err(ConnectRefusal::Rate);
            }
        }
        Ok(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn settings(rate: Option<f64>, burst: Option<u32>) -> RouteSettings {
        RouteSettings {
            throttling_rate_limit: rate,
            throttling_burst_limit: burst,
            ..RouteSettings::default()
        }
    }

    #[test]
    fn route_settings_override_the_stage_default_field_by_field() {
        let stage = settings(Some(100.0), Some(50));
        assert_eq!(Limits::for_route(&RouteSettings::default(), None), None);
        assert_eq!(
            Limits::for_route(&stage, None),
            Some(Limits {
                rate: 100.0,
                burst: 50
            })
        );
        assert_eq!(
            Limits::for_route(&stage, Some(&settings(None, Some(2)))),
            Some(Limits {
                rate: 100.0,
                burst: 2
            })
        );
        assert_eq!(
            Limits::for_route(&RouteSettings::default(), Some(&settings(Some(1.0), None))),
            Some(Limits {
                rate: 1.0,
                burst: ACCOUNT_BURST
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_allows_its_burst_then_its_rate() {
        let bucket = TokenBucket::new(Limits {
            rate: 2.0,
            burst: 3,
        });
        assert!((0..3).all(|_| bucket.try_acquire()));
        assert!(!bucket.try_acquire());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(bucket.try_acquire());
        assert!(!bucket.try_acquire());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!((0..10).filter(|_| bucket.try_acquire()).count(), 3);
    }

    #[test]
    fn a_zero_burst_refuses_everything() {
        let bucket = TokenBucket::new(Limits {
            rate: 1000.0,
            burst: 0,
        });
        assert!(!bucket.try_acquire());
    }

    #[test]
    fn per_ip_slots_are_released_on_drop() {
        let limiter = ConnectionLimiter::new(None, Some(1));
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let other: IpAddr = "10.0.0.2".parse().expect("ip");
        let slot = limiter.admit(ip).expect("first");
        assert_eq!(limiter.admit(ip).err(), Some(ConnectRefusal::PerIp));
        assert!(limiter.admit(other).is_ok());
        drop(slot);
        assert!(limiter.admit(ip).is_ok());
    }
}
