//! Background duties run `hz` times a second: the adaptive active-expiry cycle
//! (with the `expired` keyspace notifications of the keys it deletes),
//! closing idle clients (`timeout`), active rehashing of the key tables,
//! and the persistence duties (finished background saves, save points).
//! Work is done in short slices that each take the server lock briefly, so
//! other clients never see a long pause.

use crate::server::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys sampled per database per slice at effort 1 (Redis's value).
const KEYS_PER_LOOP: usize = 20;
/// Percent of stale keys in a sample above which the cycle keeps going.
const ACCEPTABLE_STALE: usize = 10;

pub async fn run(sh: Arc<Shared>) {
    loop {
        let hz = sh.server.lock().config.hz.max(1);
        let period = Duration::from_millis(1000 / hz as u64);
        // Registered before the flag is checked, so a shutdown requested in
        // between still wakes the wait (no sleeping on into the runtime's
        // shutdown, which makes the timer panic).
        let notified = sh.shutdown_notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if sh.shutdown.load(Ordering::SeqCst) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = notified => return,
        }
        if sh.shutdown.load(Ordering::SeqCst) {
            return;
        }
        active_expire_cycle(&sh, period);
        close_idle_clients(&sh);
        active_rehash(&sh);
        crate::persist::cron(&sh);
        crate::persist::aof::cron(&sh);
        sh.server.lock().stats.track_instantaneous(crate::util::now_ms());
    }
}

/// Time `active_rehash` spends per call, as Redis's `activerehashing`.
const REHASH_SLICE: Duration = Duration::from_millis(1);

/// Moves on the growing or shrinking of a database's key or expiry table
/// (`activerehashing`), 1 ms per call and one database at a time, as Redis
/// does: without it a table that stopped receiving writes would keep its
/// old bucket array alive.
fn active_rehash(sh: &Shared) {
    let mut srv = sh.server.lock();
    if !srv.config.activerehashing {
        return;
    }
    let start = Instant::now();
    for db in srv.dbs.iter_mut() {
        if db.rehash_for(start, REHASH_SLICE) {
            return;
        }
    }
}

/// Samples volatile keys in every database and deletes the expired ones, going
/// on while many sampled keys were stale and the time budget lasts.
pub fn active_expire_cycle(sh: &Shared, period: Duration) {
    let start = Instant::now();
    let (effort, enabled) = {
        let srv = sh.server.lock();
        (srv.config.active_expire_effort as usize, srv.active_expire_enabled)
    };
    if !enabled {
        return;
    }
    let per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * (effort - 1);
    let stale_ok = ACCEPTABLE_STALE + 1 - effort;
    // Redis allows 25% of the cycle (plus 2% per effort step).
    let budget = period.mul_f64((25 + 2 * (effort - 1)) as f64 / 100.0);
    loop {
        let mut sampled = 0;
        let mut expired = 0;
        {
            let mut srv = sh.server.lock();
            let now = crate::util::now_ms();
            let notify = srv.config.notify_keyspace_events != 0;
            if notify {
                crate::server::notify::sync(&mut srv);
            }
            for db in srv.dbs.iter_mut() {
                let r = db.sample_expired(per_loop, now);
                sampled += r.sampled;
                expired += r.expired;
            }
            if notify {
                // `expired` events of the keys deleted (no client runs this).
                crate::server::notify::flush(&mut srv, 0, &mut crate::resp::Reply::new());
            }
            if expired > 0 && srv.observing_keys() {
                // Watchers and client-side caches of the expired keys learn it now.
                crate::commands::transactions::process_background_events(&mut srv);
            }
            if crate::server::propagate::wanted(&srv) {
                crate::server::propagate::flush_background(&mut srv);
                crate::persist::aof::flush(&mut srv);
            }
            let perc = if sampled > 0 { expired as f64 / sampled as f64 } else { 0.0 };
            srv.stats.expired_stale_perc = srv.stats.expired_stale_perc * 0.95 + perc * 0.05;
        }
        if sampled == 0 || expired * 100 <= sampled * stale_ok {
            break;
        }
        if start.elapsed() >= budget {
            sh.server.lock().stats.expired_time_cap_reached_count += 1;
            break;
        }
    }
    let spent = start.elapsed().as_millis() as u64;
    sh.server.lock().stats.expire_cycle_cpu_ms += spent;
}

fn close_idle_clients(sh: &Shared) {
    let srv = sh.server.lock();
    let timeout = srv.config.timeout;
    if timeout == 0 {
        return;
    }
    let now = crate::util::now_ms();
    for c in srv.clients.values() {
        if !c.monitor && (now - c.last_interaction_ms) / 1000 > timeout as i64 {
            c.signal.kill();
        }
    }
}
