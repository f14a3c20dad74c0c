//! Client eviction (`maxmemory-clients`, Redis 7.0's evictClients): when the
//! memory that normal and pub/sub clients hold together reaches the limit,
//! the clients holding the most are disconnected, largest first, until the
//! rest are below it. Clients with CLIENT NO-EVICT and the master link are
//! never evicted (their memory still counts). The limit is bytes, or a
//! percentage of `maxmemory`.
//!
//! A client's memory is its `tot-mem` (`Client::memory`): the query buffer,
//! including a request still arriving, large replies while they wait for the
//! client to read them, queued MULTI commands, watched keys and
//! subscriptions, and the fixed per-client part. The total is kept up to
//! date incrementally (`account`): after each batch of a client, and while a
//! large request arrives or a large reply is written (the connection task
//! reports them), so checking it costs nothing per command.

use super::client::Client;
use super::Server;
use crate::config::Config;

/// The limit in bytes (0: no client eviction).
pub fn limit(cfg: &Config) -> usize {
    let v = cfg.maxmemory_clients;
    if v < 0 {
        (cfg.maxmemory as u128 * v.unsigned_abs() as u128 / 100) as usize
    } else {
        v as usize
    }
}

/// Brings `c`'s share of the total (`Server::client_memory`) up to date.
pub fn account(total: &mut usize, c: &mut Client) {
    let now = if c.is_master || c.signal.killed() { 0 } else { c.memory() };
    *total = *total + now - c.mem_counted;
    c.mem_counted = now;
}

/// A client leaves: its memory leaves the total.
pub fn forget(srv: &mut Server, c: &Client) {
    srv.client_memory -= c.mem_counted;
}

/// Updates the figure of client `id` (in the registry) and evicts; true
/// when `id` itself was evicted.
pub fn account_and_evict(srv: &mut Server, id: u64) -> bool {
    let Server { clients, client_memory, .. } = srv;
    if let Some(c) = clients.get_mut(&id) {
        account(client_memory, c);
    }
    evict(srv, id)
}

/// Evicts the largest evictable clients until the total is below the
/// limit; true when client `id` was among them.
pub fn evict(srv: &mut Server, id: u64) -> bool {
    let lim = limit(&srv.config);
    if lim == 0 || srv.client_memory < lim {
        return false;
    }
    let mut by_size: Vec<(usize, u64)> = srv
        .clients
        .values()
        .filter(|c| !c.no_evict && !c.is_master && !c.signal.killed())
        .map(|c| (c.mem_counted, c.id))
        .collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    let now = crate::util::now_ms();
    let mut evicted_self = false;
    for (_, victim) in by_size {
        if srv.client_memory < lim {
            break;
        }
        let Some(c) = srv.clients.get_mut(&victim) else { continue };
        crate::log::notice(&format!("Evicting client: {}", c.info_line(now)));
        c.signal.kill();
        // Gone from the total now, not when its connection ends.
        let mem = std::mem::take(&mut c.mem_counted);
        srv.client_memory -= mem;
        srv.stats.evicted_clients += 1;
        evicted_self |= victim == id;
    }
    evicted_self
}
