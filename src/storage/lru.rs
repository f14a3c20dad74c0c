//! A key's access field (`Entry::lru`, 24 bits as in Redis's object header),
//! which eviction ranks keys by. Under the LRU policies (and when no policy
//! looks at it) it is the LRU clock, in seconds, of the last access. Under the
//! LFU policies it is Redis's LFU pair: the minute of the last decrement in the
//! high 16 bits and a logarithmic access counter in the low 8, which grows with
//! probability 1/((counter-5)*lfu-log-factor+1) per access and loses one per
//! `lfu-decay-time` minutes without access.

use std::sync::atomic::{AtomicU64, Ordering};

/// Commands run so far (bumped by the dispatcher while an LFU policy is set):
/// a key's LFU counter counts one access per command, however many times the
/// command's code looks the key up.
static COMMAND_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Marks the start of a command (see `COMMAND_EPOCH`).
#[inline]
pub fn next_command() {
    COMMAND_EPOCH.fetch_add(1, Ordering::Relaxed);
}

/// The current command's number.
#[inline]
pub fn command_epoch() -> u64 {
    COMMAND_EPOCH.load(Ordering::Relaxed)
}

/// The LRU clock wraps at 24 bits.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// The counter a new key starts with under LFU (so it is not evicted at once).
pub const LFU_INIT_VAL: u32 = 5;

/// The LRU clock (seconds, 24-bit wrap) at `now_ms`.
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Seconds since `lru` (handles the 24-bit wrap).
pub fn idle_secs(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    if clock >= lru {
        (clock - lru) as u64
    } else {
        (clock + (LRU_CLOCK_MAX - lru)) as u64
    }
}

/// Minutes (16-bit wrap), the LFU field's time unit.
fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xffff
}

/// The LFU counter of `field` after the decay due by `now_ms` (Redis's
/// `LFUDecrAndReturn`; the field itself is not changed).
pub fn lfu_counter(field: u32, decay_time: u32, now_ms: i64) -> u32 {
    let last = field >> 8;
    let counter = field & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last { now - last } else { 0xffff - last + now };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// How lookups maintain the access field (kept in step with `maxmemory-policy`,
/// `lfu-log-factor` and `lfu-decay-time`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Access {
    #[default]
    Lru,
    Lfu {
        log_factor: u32,
        decay_time: u32,
    },
}

impl Access {
    /// The field of a key created now.
    #[inline]
    pub fn fresh(self, now_ms: i64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { .. } => (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL,
        }
    }

    /// The field after an access at `now_ms`; `rng` is a xorshift state.
    #[inline]
    pub fn touched(self, field: u32, now_ms: i64, rng: &mut u64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { log_factor, decay_time } => {
                let mut counter = lfu_counter(field, decay_time, now_ms);
                if counter < 255 {
                    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
                    let p = 1.0 / (base * log_factor as f64 + 1.0);
                    if next_unit(rng) < p {
                        counter += 1;
                    }
                }
                (lfu_minutes(now_ms) << 8) | counter
            }
        }
    }

    /// The field of a key whose value a store replaces (the store's own
    /// lookup counted as the access): the new value gets the LRU clock, or
    /// keeps the LFU counter, as Redis's `dbSetValue`.
    #[inline]
    pub fn overwritten(self, field: u32, now_ms: i64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { .. } => field,
        }
    }

    /// The field of a key restored with a saved access frequency (LFU) or idle
    /// time in seconds (LRU), as RDB loading and RESTORE set it; a figure that
    /// does not apply to the current policy leaves the key fresh.
    pub fn restored(self, freq: Option<u8>, idle: Option<u64>, now_ms: i64) -> u32 {
        match (self, freq, idle) {
            (Access::Lfu { .. }, Some(f), _) => (lfu_minutes(now_ms) << 8) | f as u32,
            (Access::Lru, _, Some(idle)) => {
                let idle = idle.min(LRU_CLOCK_MAX as u64) as i64;
                let abs = lru_clock(now_ms) as i64 - idle;
                (if abs < 0 { abs + LRU_CLOCK_MAX as i64 } else { abs }) as u32
            }
            _ => self.fresh(now_ms),
        }
    }

    /// Eviction rank of a key: greater means a better candidate (idle
    /// milliseconds under LRU, 255 minus the decayed counter under LFU).
    pub fn rank(self, field: u32, now_ms: i64) -> u64 {
        match self {
            Access::Lru => idle_secs(field, now_ms) * 1000,
            Access::Lfu { decay_time, .. } => 255 - lfu_counter(field, decay_time, now_ms) as u64,
        }
    }
}

/// A uniform number in [0, 1) from a xorshift64* state (seeded when zero).
fn next_unit(state: &mut u64) -> f64 {
    if *state == 0 {
        *state = 0x9e37_79b9_7f4a_7c15;
    }
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counts_every_access_with_log_factor_zero() {
        let a = Access::Lfu { log_factor: 0, decay_time: 1 };
        let now = 1_700_000_000_000;
        let mut rng = 1;
        let mut f = a.fresh(now);
        for _ in 0..10 {
            f = a.touched(f, now, &mut rng);
        }
        assert_eq!(lfu_counter(f, 1, now), 15);
        // Three minutes later, three decay periods are due.
        assert_eq!(lfu_counter(f, 1, now + 180_000), 12);
        assert_eq!(lfu_counter(f, 0, now + 180_000), 15);
    }

    #[test]
    fn lfu_counter_saturates() {
        let a = Access::Lfu { log_factor: 0, decay_time: 0 };
        let mut rng = 7;
        let mut f = a.restored(Some(254), None, 0);
        for _ in 0..5 {
            f = a.touched(f, 0, &mut rng);
        }
        assert_eq!(f & 0xff, 255);
    }

    #[test]
    fn restored_idle_wraps() {
        let now = 5_000; // clock 5
        assert_eq!(Access::Lru.restored(None, Some(10), now), LRU_CLOCK_MAX - 5);
        assert_eq!(idle_secs(LRU_CLOCK_MAX - 5, now), 10);
    }
}
