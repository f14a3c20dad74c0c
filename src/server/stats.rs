//! Counters behind INFO stats, commandstats, errorstats and latencystats: per
//! command calls and latency histograms (HDR, the layout Redis uses, so the
//! percentiles and LATENCY HISTOGRAM buckets come out the same), instantaneous
//! rates, and the memory figures (`used_memory` from `crate::alloc`, RSS).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone, Copy)]
pub struct CmdStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Samples kept per instantaneous metric (Redis's STATS_METRIC_SAMPLES).
const INST_SAMPLES: usize = 16;

/// One instantaneous metric (ops/sec, input and output bytes/sec).
#[derive(Default, Clone, Copy)]
pub struct InstMetric {
    last_time: i64,
    last_count: u64,
    samples: [u64; INST_SAMPLES],
    idx: usize,
}

impl InstMetric {
    fn track(&mut self, now_ms: i64, reading: u64) {
        let t = now_ms - self.last_time;
        let ops = reading.saturating_sub(self.last_count);
        self.samples[self.idx] = if t > 0 { ops.saturating_mul(1000) / t as u64 } else { 0 };
        self.idx = (self.idx + 1) % INST_SAMPLES;
        self.last_time = now_ms;
        self.last_count = reading;
    }

    /// Mean of the samples (per second).
    pub fn value(&self) -> u64 {
        self.samples.iter().sum::<u64>() / INST_SAMPLES as u64
    }
}

#[derive(Default)]
pub struct Stats {
    /// Clients disconnected by client eviction (`maxmemory-clients`).
    pub evicted_clients: u64,
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_cpu_ms: u64,
    /// Active expiry cycles that stopped at their time budget.
    pub expired_time_cap_reached_count: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    /// Per command id (see `commands::table::Command::id`).
    pub commands: Vec<CmdStats>,
    /// Per command id latency histogram, created on the first recorded call.
    pub latency_hist: Vec<Option<Box<Hdr>>>,
    /// Per error prefix (`ERR`, `WRONGTYPE`...).
    pub errors: HashMap<String, u64>,
    pub client_query_buffer_limit_disconnections: u64,
    /// Highest `used_memory` seen (INFO `used_memory_peak`).
    pub peak_memory: usize,
    pub inst_ops: InstMetric,
    pub inst_input: InstMetric,
    pub inst_output: InstMetric,
}

impl Stats {
    pub fn cmd(&mut self, id: usize) -> &mut CmdStats {
        if id >= self.commands.len() {
            self.commands.resize(id + 1, CmdStats::default());
        }
        &mut self.commands[id]
    }

    /// Records one executed call of command `id` that took `us` microseconds:
    /// calls, time, failure, and (when `track_latency`) the latency histogram.
    pub fn record_call(&mut self, id: usize, us: u64, failed: bool, track_latency: bool) {
        let st = self.cmd(id);
        st.calls += 1;
        st.usec += us;
        if failed {
            st.failed_calls += 1;
        }
        if track_latency {
            self.record_latency(id, us);
        }
    }

    /// Adds one sample to command `id`'s latency histogram.
    pub fn record_latency(&mut self, id: usize, us: u64) {
        if id >= self.latency_hist.len() {
            self.latency_hist.resize_with(id + 1, || None);
        }
        self.latency_hist[id].get_or_insert_with(|| Box::new(Hdr::new())).record(us.saturating_mul(1000));
    }

    /// Counts an error reply under its prefix (the first word of the message).
    pub fn count_error(&mut self, msg: &str) {
        self.total_error_replies += 1;
        let prefix = msg.split(' ').next().unwrap_or("ERR");
        if let Some(c) = self.errors.get_mut(prefix) {
            *c += 1;
        } else if self.errors.len() < 128 {
            self.errors.insert(prefix.to_string(), 1);
        }
    }

    /// Samples the instantaneous metrics; meant to run every 100 ms (serverCron).
    pub fn track_instantaneous(&mut self, now_ms: i64) {
        let (ops, inp, outp) = (self.total_commands_processed, self.net_input_bytes, self.net_output_bytes);
        self.inst_ops.track(now_ms, ops);
        self.inst_input.track(now_ms, inp);
        self.inst_output.track(now_ms, outp);
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        let n = self.commands.len();
        let peak = self.peak_memory;
        *self = Stats::default();
        self.commands.resize(n, CmdStats::default());
        self.peak_memory = peak;
    }
}

/// An HDR histogram with Redis's parameters (values 1 ns .. 1 s, two significant
/// digits): 256 sub-buckets, 23 buckets.
pub struct Hdr {
    counts: Vec<u64>,
    pub total: u64,
}

const HDR_SUB_BUCKET_COUNT: i64 = 256;
const HDR_SUB_HALF: i64 = 128;
const HDR_SUB_HALF_MAG: u32 = 7;
const HDR_MASK: i64 = 255;
const HDR_BUCKETS: i64 = 23;
const HDR_COUNTS_LEN: usize = ((HDR_BUCKETS + 1) * HDR_SUB_HALF) as usize;
/// Largest recordable value (ns).
pub const HDR_MAX: u64 = 1_000_000_000;

impl Default for Hdr {
    fn default() -> Self {
        Self::new()
    }
}

impl Hdr {
    pub fn new() -> Hdr {
        Hdr { counts: vec![0; HDR_COUNTS_LEN], total: 0 }
    }

    fn bucket_index(v: i64) -> i64 {
        let pow2ceiling = 64 - (v | HDR_MASK).leading_zeros() as i64;
        pow2ceiling - (HDR_SUB_HALF_MAG as i64 + 1)
    }

    fn sub_bucket_index(v: i64, b: i64) -> i64 {
        v >> b
    }

    fn counts_index_for(v: i64) -> i64 {
        let b = Self::bucket_index(v);
        let sb = Self::sub_bucket_index(v, b);
        ((b + 1) << HDR_SUB_HALF_MAG) + (sb - HDR_SUB_HALF)
    }

    fn value_at_index(idx: i64) -> i64 {
        let mut b = (idx >> HDR_SUB_HALF_MAG) - 1;
        let mut sb = (idx & (HDR_SUB_HALF - 1)) + HDR_SUB_HALF;
        if b < 0 {
            sb -= HDR_SUB_HALF;
            b = 0;
        }
        sb << b
    }

    fn lowest_equivalent(v: i64) -> i64 {
        let b = Self::bucket_index(v);
        let sb = Self::sub_bucket_index(v, b);
        sb << b
    }

    fn equivalent_range(v: i64) -> i64 {
        let b = Self::bucket_index(v);
        let sb = Self::sub_bucket_index(v, b);
        let adjusted = if sb >= HDR_SUB_BUCKET_COUNT { b + 1 } else { b };
        1 << adjusted
    }

    /// The highest value that shares `v`'s bucket.
    pub fn highest_equivalent(v: i64) -> i64 {
        Self::lowest_equivalent(v) + Self::equivalent_range(v) - 1
    }

    /// Records a value in nanoseconds (clamped to 1 ns .. 1 s as Redis does).
    pub fn record(&mut self, ns: u64) {
        let v = ns.clamp(1, HDR_MAX) as i64;
        let idx = Self::counts_index_for(v);
        if idx >= 0 && (idx as usize) < self.counts.len() {
            self.counts[idx as usize] += 1;
            self.total += 1;
        }
    }

    /// The value (ns) at a percentile, as `hdr_value_at_percentile`.
    pub fn value_at_percentile(&self, p: f64) -> i64 {
        let req = p.min(100.0);
        let at = ((req / 100.0) * self.total as f64 + 0.5) as u64;
        let at = at.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (idx, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= at {
                value = Self::value_at_index(idx as i64);
                break;
            }
        }
        if p == 0.0 {
            Self::lowest_equivalent(value)
        } else {
            Self::highest_equivalent(value)
        }
    }

    /// Cumulative counts at power-of-two levels from 1024 ns, as LATENCY
    /// HISTOGRAM reports them: `(bucket upper bound in usec, cumulative count)`,
    /// only where the count grew.
    pub fn log_buckets(&self) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        if self.total == 0 {
            return out;
        }
        let mut level: i64 = 1024;
        let mut cum = 0u64;
        let mut prev = 0u64;
        let mut idx = 0usize;
        loop {
            let li = Self::counts_index_for(level);
            let last = if li < 0 { 0 } else { (li as usize).min(self.counts.len() - 1) };
            while idx <= last {
                cum += self.counts[idx];
                idx += 1;
            }
            let hev = Self::highest_equivalent(Self::value_at_index(last as i64));
            if cum > prev {
                out.push((hev / 1000, cum));
            }
            prev = cum;
            if cum >= self.total || idx >= self.counts.len() {
                break;
            }
            level = level.saturating_mul(2);
        }
        out
    }
}

/// Resident set size of this process in bytes (from /proc/self/statm).
pub fn rss_bytes() -> usize {
    let page = page_size();
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<usize>().ok()))
        .map(|pages| pages * page)
        .unwrap_or(0)
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// Total physical memory in bytes.
pub fn total_system_memory() -> u64 {
    // SAFETY: sysconf only reads system constants.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size() as u64
    } else {
        0
    }
}

/// `used_memory`: what the counting allocator reports, else the RSS.
pub fn used_memory() -> usize {
    match crate::alloc::ALLOCATED.load(Ordering::Relaxed) {
        0 => rss_bytes(),
        n => n,
    }
}

/// Redis's `bytesToHuman`: `1015.45K`, `6.93M`, `200B`.
pub fn bytes_to_human(n: u64) -> String {
    const K: f64 = 1024.0;
    let d = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", d / K)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", d / (K * K))
    } else if n < 1024u64.pow(4) {
        format!("{:.2}G", d / (K * K * K))
    } else if n < 1024u64.pow(5) {
        format!("{:.2}T", d / (K * K * K * K))
    } else if n < 1024u64.pow(6) {
        format!("{:.2}P", d / (K * K * K * K * K))
    } else {
        format!("{n}B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdr_matches_redis_buckets() {
        let mut h = Hdr::new();
        h.record(7000);
        assert_eq!(h.value_at_percentile(50.0), 7007);
        // LATENCY HISTOGRAM level bounds Redis shows: 1, 2, 4, 8, 16, 33, 66, 132...
        let bounds: Vec<i64> = (0..12).map(|k| Hdr::highest_equivalent(1024 << k) / 1000).collect();
        assert_eq!(bounds, vec![1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113]);
        let mut h = Hdr::new();
        for us in [1u64, 1, 3, 100] {
            h.record(us * 1000);
        }
        assert_eq!(h.log_buckets(), vec![(1, 2), (4, 3), (132, 4)]);
    }

    #[test]
    fn human() {
        assert_eq!(bytes_to_human(200), "200B");
        assert_eq!(bytes_to_human(1039824), "1015.45K");
        assert_eq!(bytes_to_human(7266304), "6.93M");
    }
}
