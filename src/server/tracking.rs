//! Client-side caching (CLIENT TRACKING): which clients may hold which keys,
//! and the invalidation messages they get when those keys change.
//!
//! Default mode: after a read-only command of a tracking client, its keys go
//! into the tracking table (key name → client ids; names are global, not per
//! database, as in Redis). A change to a key takes it out of the table and
//! queues one invalidation per client that had it. BCAST mode: clients
//! subscribe to key prefixes instead; every changed key matching a prefix is
//! remembered with the client that changed it, and all of them go out in one
//! message per prefix when the batch of commands ends (Redis's beforeSleep).
//!
//! Messages are queued (`Tracking::outbox`) while commands run and delivered
//! when the running command returns (`deliver`), which puts a client's own
//! invalidations after its reply, as Redis 7.0 does. A message goes to the
//! tracking client, or to its REDIRECT client: as a RESP3 push
//! `invalidate [keys]`, or in RESP2 as a `message` on `__redis__:invalidate`
//! when the redirect client is subscribed. A flush invalidates everything
//! (a null instead of keys). The table is bounded by `tracking-table-max-keys`:
//! past it, keys are invalidated as if changed.
//!
//! Changes are found through the databases' key events (`storage::db::KeyEvent`,
//! the same records WATCH uses): while anything is tracked every database
//! records every key it touches (`Db::observe_all`).

use super::client::Client;
use super::Server;
use crate::resp::Reply;
use crate::storage::SBytes;
use std::collections::{BTreeMap, HashMap};

/// A client's CLIENT TRACKING settings (present while tracking is on).
#[derive(Clone, Debug, Default)]
pub struct TrackState {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES (OPTIN) or NO (OPTOUT) given for the next command.
    pub caching: bool,
    /// Client id invalidations go to (0: the client itself).
    pub redirect: u64,
    /// The redirect client is gone (flag `R`, `broken_redirect`).
    pub broken: bool,
    /// BCAST prefixes, sorted.
    pub prefixes: Vec<Vec<u8>>,
}

impl TrackState {
    /// Whether the keys of the command now running are remembered (default
    /// mode, and OPTIN/OPTOUT as CLIENT CACHING decided).
    pub fn remembers(&self) -> bool {
        !self.bcast && (!self.optin || self.caching) && (!self.optout || !self.caching)
    }
}

/// What one invalidation message carries.
#[derive(Clone, Debug)]
enum Payload {
    /// One key changed, by client `by` (0: no client, e.g. active expiry).
    Key(SBytes, u64),
    /// A prefix's changed keys, each with the client that changed it last.
    Keys(Vec<(Vec<u8>, u64)>),
    /// Everything (FLUSHDB/FLUSHALL): a null.
    Flush,
}

/// One BCAST prefix: its clients and the keys changed since the last broadcast.
#[derive(Default)]
struct Bcast {
    clients: Vec<u64>,
    keys: BTreeMap<Vec<u8>, u64>,
}

#[derive(Default)]
pub struct Tracking {
    /// Key → clients that may cache it (Redis's TrackingTable).
    table: HashMap<SBytes, Vec<u64>, ahash::RandomState>,
    /// (key, client) pairs in `table` (INFO `tracking_total_items`).
    items: usize,
    /// BCAST prefixes in byte order (INFO `tracking_total_prefixes`).
    prefixes: BTreeMap<Vec<u8>, Bcast>,
    /// Clients with tracking on (INFO `tracking_clients`).
    pub clients: usize,
    /// Invalidations to deliver: (tracking client, payload); client 0 with
    /// `Flush` means every tracking client.
    outbox: Vec<(u64, Payload)>,
    /// A script runs for this tracking client, and these are its command's
    /// keys: a read-only command inside it remembers them (Redis 7.0 tracks
    /// the caller's command, not the script's own calls).
    pub script_keys: Option<(u64, Vec<bytes::Bytes>)>,
    /// Successive passes that found the table over its limit.
    over_limit_passes: usize,
}

impl Tracking {
    /// Whether databases must record every key event.
    pub fn observing(&self) -> bool {
        !self.table.is_empty() || !self.prefixes.is_empty()
    }

    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    pub fn total_items(&self) -> usize {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// Keeps the databases' `observe_all` in line with what is tracked.
pub fn sync(srv: &mut Server) {
    let want = srv.tracking.observing();
    if srv.dbs.first().is_some_and(|d| d.observe_all != want) {
        for d in srv.dbs.iter_mut() {
            d.observe_all = want;
        }
    }
}

/// CLIENT TRACKING ON: `c` tracks with `state`; BCAST prefixes (none given:
/// the empty prefix) are added to those it already has.
pub fn enable(srv: &mut Server, c: &mut Client, mut state: TrackState, new_prefixes: Vec<Vec<u8>>) {
    match &c.tracking {
        None => srv.tracking.clients += 1,
        Some(old) => {
            state.caching = old.caching;
            state.prefixes = old.prefixes.clone();
        }
    }
    if state.bcast {
        let mut add = new_prefixes;
        if add.is_empty() {
            add.push(Vec::new());
        }
        for p in add {
            let bs = srv.tracking.prefixes.entry(p.clone()).or_default();
            if !bs.clients.contains(&c.id) {
                bs.clients.push(c.id);
            }
            if !state.prefixes.contains(&p) {
                state.prefixes.push(p);
            }
        }
        state.prefixes.sort();
    }
    c.tracking = Some(Box::new(state));
    sync(srv);
}

/// CLIENT TRACKING OFF, RESET, disconnect. Keys the client read stay in the
/// table until they change (then nothing is sent to it), as in Redis.
pub fn disable(srv: &mut Server, c: &mut Client) {
    let Some(state) = c.tracking.take() else { return };
    srv.tracking.clients -= 1;
    for p in &state.prefixes {
        if let Some(bs) = srv.tracking.prefixes.get_mut(p) {
            bs.clients.retain(|&id| id != c.id);
            if bs.clients.is_empty() {
                srv.tracking.prefixes.remove(p);
            }
        }
    }
    sync(srv);
}

/// A read-only command ran for `c`: remember its keys if `c` tracks them.
/// Inside a script (`c` is the script's client) the caller's keys count.
pub fn after_read(srv: &mut Server, c: &Client, cmd: &crate::commands::table::Command, args: &[bytes::Bytes]) {
    if let Some(t) = &c.tracking {
        if t.remembers() {
            let keys = command_keys(cmd, args);
            remember(srv, c.id, &keys);
        }
    } else if c.id == crate::scripting::LUA_CLIENT_ID {
        if let Some((owner, keys)) = srv.tracking.script_keys.take() {
            remember(srv, owner, &keys);
            srv.tracking.script_keys = Some((owner, keys));
        }
    }
}

/// The keys at a command's key positions.
pub fn command_keys(cmd: &crate::commands::table::Command, args: &[bytes::Bytes]) -> Vec<bytes::Bytes> {
    crate::commands::server::get_keys(cmd, args).into_iter().filter_map(|(pos, _)| args.get(pos).cloned()).collect()
}

fn remember(srv: &mut Server, owner: u64, keys: &[bytes::Bytes]) {
    let t = &mut srv.tracking;
    for k in keys {
        let ids = match t.table.get_mut(k.as_ref()) {
            Some(ids) => ids,
            None => t.table.entry(SBytes::new(k)).or_default(),
        };
        if !ids.contains(&owner) {
            ids.push(owner);
            t.items += 1;
        }
    }
    sync(srv);
}

/// Redis's `trackingInvalidateKey`: `key` changed. `bcast`: also for BCAST
/// prefixes (not when the table's limit drops it).
pub fn invalidate_key(srv: &mut Server, key: &[u8], bcast: bool) {
    let by = srv.current_client;
    let t = &mut srv.tracking;
    if bcast {
        for (p, bs) in t.prefixes.iter_mut() {
            if key.starts_with(p) {
                bs.keys.insert(key.to_vec(), by);
            }
        }
    }
    let Some(ids) = t.table.remove(key) else { return };
    t.items -= ids.len();
    let k = SBytes::new(key);
    for id in ids {
        t.outbox.push((id, Payload::Key(k.clone(), by)));
    }
}

/// FLUSHDB / FLUSHALL: every tracking client is told to drop everything, and
/// the table is emptied.
pub fn flushed(srv: &mut Server) {
    let t = &mut srv.tracking;
    if t.clients > 0 {
        t.outbox.push((0, Payload::Flush));
    }
    t.table = HashMap::default();
    t.items = 0;
    sync(srv);
}

/// Redis's beforeSleep duties, at the end of a batch (`cur` is the client
/// that ran it, with its output) or of a background step: keeps the table
/// within `tracking-table-max-keys`, broadcasts BCAST prefixes' keys and
/// delivers what is queued.
pub fn before_sleep(srv: &mut Server, cur: Option<(&mut Client, &mut Reply)>) {
    limit_used_slots(srv);
    broadcast(srv);
    deliver(srv, cur);
    sync(srv);
}

/// Redis's `trackingLimitUsedSlots`: over the limit, drops keys (sending
/// their invalidations), with an effort that grows while it stays over.
fn limit_used_slots(srv: &mut Server) {
    let max = srv.config.tracking_table_max_keys;
    let t = &mut srv.tracking;
    if max == 0 || t.table.len() <= max {
        t.over_limit_passes = 0;
        return;
    }
    let effort = 100 * (t.over_limit_passes + 1);
    let excess = t.table.len() - max;
    let victims: Vec<SBytes> = t.table.keys().take(effort.min(excess)).cloned().collect();
    // Runs between requests: the drops are nobody's changes (no NOLOOP).
    for k in victims {
        invalidate_key(srv, &k, false);
    }
    let t = &mut srv.tracking;
    if t.table.len() <= max {
        t.over_limit_passes = 0;
    } else {
        t.over_limit_passes += 1;
    }
}

/// Queues the keys changed under each BCAST prefix for its clients.
fn broadcast(srv: &mut Server) {
    let t = &mut srv.tracking;
    for bs in t.prefixes.values_mut() {
        if bs.keys.is_empty() {
            continue;
        }
        let keys: Vec<(Vec<u8>, u64)> = std::mem::take(&mut bs.keys).into_iter().collect();
        for &id in &bs.clients {
            t.outbox.push((id, Payload::Keys(keys.clone())));
        }
    }
}

/// Delivers the queued invalidations. `cur` is the client now out of
/// `srv.clients` (running its request) and its output.
pub fn deliver(srv: &mut Server, mut cur: Option<(&mut Client, &mut Reply)>) {
    if srv.tracking.outbox.is_empty() {
        return;
    }
    for (id, payload) in std::mem::take(&mut srv.tracking.outbox) {
        if id == 0 {
            let mut ids: Vec<u64> = srv.clients.values().filter(|c| c.tracking.is_some()).map(|c| c.id).collect();
            if let Some((c, _)) = &cur {
                if c.tracking.is_some() {
                    ids.push(c.id);
                }
            }
            for id in ids {
                send(srv, &mut cur, id, &payload);
            }
        } else {
            send(srv, &mut cur, id, &payload);
        }
    }
}

/// The client `id`: the running one or one in the registry.
fn client_mut<'a>(
    srv: &'a mut Server,
    cur: &'a mut Option<(&mut Client, &mut Reply)>,
    id: u64,
) -> Option<&'a mut Client> {
    match cur {
        Some((c, _)) if c.id == id => Some(&mut **c),
        _ => srv.clients.get_mut(&id).map(|b| &mut **b),
    }
}

/// Redis's `sendTrackingMessage` for tracking client `id`.
fn send(srv: &mut Server, cur: &mut Option<(&mut Client, &mut Reply)>, id: u64, payload: &Payload) {
    let Some(c) = client_mut(srv, cur, id) else { return };
    let tracking_resp = c.resp;
    let Some(t) = c.tracking.as_ref() else { return };
    let keys: Vec<&[u8]> = match payload {
        Payload::Key(k, by) => {
            // BCAST clients only get broadcasts; NOLOOP skips own changes.
            if t.bcast || (t.noloop && *by == id) {
                return;
            }
            vec![k.as_ref()]
        }
        Payload::Keys(list) => {
            let keys: Vec<&[u8]> =
                list.iter().filter(|(_, by)| !(t.noloop && *by == id)).map(|(k, _)| k.as_slice()).collect();
            if keys.is_empty() {
                return;
            }
            keys
        }
        Payload::Flush => Vec::new(),
    };
    let redirect = t.redirect;
    let mut target = id;
    if redirect != 0 {
        let exists = matches!(cur, Some((c, _)) if c.id == redirect) || srv.clients.contains_key(&redirect);
        if !exists {
            let Some(c) = client_mut(srv, cur, id) else { return };
            if let Some(t) = c.tracking.as_mut() {
                t.broken = true;
            }
            if tracking_resp > 2 {
                let mut r = Reply { buf: Default::default(), resp: 3 };
                r.push_len(2);
                r.bulk(b"tracking-redir-broken");
                r.int(redirect as i64);
                put(srv, cur, id, r.buf.freeze());
            }
            return;
        }
        target = redirect;
    }
    let Some(tc) = client_mut(srv, cur, target) else { return };
    let mut r = Reply { buf: Default::default(), resp: tc.resp };
    if tc.resp > 2 {
        r.push_len(2);
        r.bulk(b"invalidate");
    } else if redirect != 0 && tc.in_pubsub() {
        r.array_len(3);
        r.bulk(b"message");
        r.bulk(b"__redis__:invalidate");
    } else {
        return;
    }
    match payload {
        // The null is in the tracking client's protocol, as Redis sends it.
        Payload::Flush => r.buf.extend_from_slice(if tracking_resp > 2 { b"_\r\n" } else { b"$-1\r\n" }),
        _ => {
            r.array_len(keys.len());
            for k in keys {
                r.bulk(k);
            }
        }
    }
    put(srv, cur, target, r.buf.freeze());
}

/// Hands a message to client `id`'s connection: into the running client's
/// output, through a subscriber's message channel (keeping its order with
/// published messages), or into its pending output, waking its task.
fn put(srv: &mut Server, cur: &mut Option<(&mut Client, &mut Reply)>, id: u64, msg: bytes::Bytes) {
    if let Some((c, out)) = cur {
        if c.id == id {
            out.buf.extend_from_slice(&msg);
            return;
        }
    }
    let Some(msg) = srv.pubsub.send_raw(id, msg) else { return };
    if let Some(c) = srv.clients.get_mut(&id) {
        c.pending_out.extend_from_slice(&msg);
        c.signal.wake.notify_one();
    }
}
