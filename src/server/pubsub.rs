//! Pub/Sub state: which clients listen to which channels, patterns and shard
//! channels, and message delivery.
//!
//! A subscriber's messages travel through its own unbounded channel to its
//! connection task, which writes them to the socket. The bytes in flight are
//! counted per subscriber and bounded by `client-output-buffer-limit pubsub`:
//! a subscriber that does not read is disconnected, as Redis does, so it can
//! never make the server's memory grow without bound. Messages for the client
//! that is publishing are written straight into its own reply (before the
//! PUBLISH reply, as Redis orders them).

use crate::resp::Reply;
use crate::server::client::Signal;
use crate::storage::glob::glob_match;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

type Map<V> = HashMap<Bytes, V, ahash::RandomState>;

/// The three namespaces of subscriptions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The verbs of the confirmation replies.
    pub fn verbs(self) -> (&'static str, &'static str) {
        match self {
            Kind::Channel => ("subscribe", "unsubscribe"),
            Kind::Pattern => ("psubscribe", "punsubscribe"),
            Kind::Shard => ("ssubscribe", "sunsubscribe"),
        }
    }
}

/// The connection side of a subscriber: where its messages go.
pub struct Outlet {
    pub tx: UnboundedSender<Bytes>,
    /// Bytes sent and not yet written by the connection task.
    pub queued: Arc<AtomicUsize>,
    pub signal: Arc<Signal>,
}

/// One subscribed client.
#[derive(Default)]
pub struct Subscriber {
    /// Subscriptions in the order they were made, per kind.
    pub channels: Vec<Bytes>,
    pub patterns: Vec<Bytes>,
    pub shard: Vec<Bytes>,
    /// Protocol of the client (messages are push frames in RESP3).
    pub resp: u8,
    pub outlet: Option<Outlet>,
    /// When the queued bytes first went over the soft limit (ms).
    soft_since: Option<i64>,
}

impl Subscriber {
    pub fn list(&self, kind: Kind) -> &Vec<Bytes> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn list_mut(&mut self, kind: Kind) -> &mut Vec<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count Redis puts in (un)subscribe replies: channels plus patterns,
    /// or shard channels for the shard commands.
    pub fn count_for(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }
}

/// A `client-output-buffer-limit` class: hard bytes, soft bytes, soft seconds (0 = none).
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct ObufLimit {
    pub hard: usize,
    pub soft: usize,
    pub soft_secs: i64,
}

impl ObufLimit {
    /// One class (`normal`, `replica`, `pubsub`) of a `client-output-buffer-limit` value.
    pub fn class_from(config_value: &str, class: &str) -> ObufLimit {
        let w: Vec<&str> = config_value.split_whitespace().collect();
        for c in w.chunks(4) {
            if c.len() == 4 && c[0].eq_ignore_ascii_case(class) {
                let num = |s: &str| crate::util::parse_memory(s).unwrap_or(0).max(0) as usize;
                return ObufLimit { hard: num(c[1]), soft: num(c[2]), soft_secs: c[3].parse().unwrap_or(0) };
            }
        }
        ObufLimit::default()
    }

    /// Whether `size` pending bytes reach the limit: over the hard limit, or
    /// over the soft limit for longer than its seconds (`soft_since` keeps
    /// when it went over).
    pub fn reached(&self, size: usize, soft_since: &mut Option<i64>, now: i64) -> bool {
        let hard = self.hard > 0 && size > self.hard;
        let soft_expired = if self.soft > 0 && size > self.soft {
            let since = *soft_since.get_or_insert(now);
            now - since > self.soft_secs * 1000
        } else {
            *soft_since = None;
            false
        };
        hard || soft_expired
    }
}

#[derive(Default)]
pub struct PubSub {
    /// Subscribers per channel / pattern / shard channel, in subscription order.
    channels: Map<Vec<u64>>,
    patterns: Map<Vec<u64>>,
    shard: Map<Vec<u64>>,
    pub subscribers: HashMap<u64, Subscriber, ahash::RandomState>,
    /// Messages for the client whose request is running that a script's
    /// calls produced (they run as another client): they go before the
    /// request's reply, as Redis writes them (see `commands::execute`).
    pub held: bytes::BytesMut,
}

/// Who publishes: the client running the command, whose own copies go
/// straight into its reply `out`, and the client whose request is running
/// (`Server::current_client`; another one while a script runs), whose copies
/// wait in `PubSub::held`.
pub struct Sender<'o> {
    pub id: u64,
    pub current: u64,
    pub out: &'o mut Reply,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &Map<Vec<u64>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn map_mut(&mut self, kind: Kind) -> &mut Map<Vec<u64>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Subscribes `id`; false when it already was.
    pub fn subscribe(&mut self, id: u64, resp: u8, kind: Kind, name: &Bytes) -> bool {
        let sub = self.subscribers.entry(id).or_default();
        sub.resp = resp;
        if sub.list(kind).contains(name) {
            return false;
        }
        sub.list_mut(kind).push(name.clone());
        self.map_mut(kind).entry(name.clone()).or_default().push(id);
        true
    }

    /// Unsubscribes `id`; false when it was not subscribed.
    pub fn unsubscribe(&mut self, id: u64, kind: Kind, name: &[u8]) -> bool {
        let Some(sub) = self.subscribers.get_mut(&id) else { return false };
        let list = sub.list_mut(kind);
        let Some(pos) = list.iter().position(|c| c.as_ref() == name) else { return false };
        list.remove(pos);
        let map = self.map_mut(kind);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|&x| x != id);
            if ids.is_empty() {
                map.remove(name);
            }
        }
        true
    }

    /// The subscriptions of `id` of one kind (for unsubscribe-all).
    pub fn subscriptions(&self, id: u64, kind: Kind) -> Vec<Bytes> {
        self.subscribers.get(&id).map(|s| s.list(kind).clone()).unwrap_or_default()
    }

    pub fn count_for(&self, id: u64, kind: Kind) -> usize {
        self.subscribers.get(&id).map_or(0, |s| s.count_for(kind))
    }

    /// Removes every subscription of a client (disconnect, RESET).
    pub fn remove_client(&mut self, id: u64) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in self.subscriptions(id, kind) {
                self.unsubscribe(id, kind, &name);
            }
        }
        self.subscribers.remove(&id);
    }

    /// Whether a subscriber still needs its connection outlet.
    pub fn needs_outlet(&self, id: u64) -> bool {
        self.subscribers.get(&id).is_some_and(|s| s.outlet.is_none())
    }

    pub fn set_outlet(&mut self, id: u64, outlet: Outlet) {
        if let Some(s) = self.subscribers.get_mut(&id) {
            s.outlet = Some(outlet);
        }
    }

    pub fn set_resp(&mut self, id: u64, resp: u8) {
        if let Some(s) = self.subscribers.get_mut(&id) {
            s.resp = resp;
        }
    }

    pub fn num_channels(&self, kind: Kind) -> usize {
        self.map(kind).len()
    }

    /// Number of pattern subscriptions (PUBSUB NUMPAT counts patterns, as Redis 7.0).
    pub fn num_patterns(&self) -> usize {
        self.patterns.len()
    }

    /// Active channels (or shard channels) matching an optional pattern.
    pub fn channels_matching(&self, kind: Kind, pat: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind).keys().filter(|c| pat.is_none_or(|p| glob_match(p, c, false))).cloned().collect()
    }

    /// Subscribers of a channel (or shard channel), patterns excluded.
    pub fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        self.map(kind).get(channel).map_or(0, Vec::len)
    }

    /// Sends raw bytes to subscriber `id` through its message channel (so
    /// they keep their order with its messages); gives them back when `id`
    /// has no channel.
    pub fn send_raw(&mut self, id: u64, msg: Bytes) -> Option<Bytes> {
        let Some(outlet) = self.subscribers.get(&id).and_then(|s| s.outlet.as_ref()) else { return Some(msg) };
        outlet.queued.fetch_add(msg.len(), Ordering::Relaxed);
        if let Err(e) = outlet.tx.send(msg) {
            outlet.queued.fetch_sub(e.0.len(), Ordering::Relaxed);
        }
        None
    }

    /// Delivers a message; returns the number of receivers.
    pub fn publish(
        &mut self,
        shard: bool,
        channel: &[u8],
        message: &[u8],
        me: Sender,
        limit: ObufLimit,
        now: i64,
    ) -> usize {
        let PubSub { channels, patterns, shard: shard_map, subscribers, held } = self;
        let mut d = Delivery { me, held, limit, now, over: Vec::new(), receivers: 0 };
        let (map, verb): (&Map<Vec<u64>>, &[u8]) =
            if shard { (shard_map, b"smessage") } else { (channels, b"message") };
        // Each frame is encoded once per protocol and shared by its receivers.
        let mut frames = Frames::default();
        for &id in map.get(channel).into_iter().flatten() {
            d.deliver(subscribers, id, &[verb, channel, message], &mut frames);
        }
        if !shard {
            for (p, ids) in patterns.iter().filter(|(p, _)| glob_match(p, channel, false)) {
                let mut frames = Frames::default();
                for &id in ids {
                    d.deliver(subscribers, id, &[b"pmessage", p, channel, message], &mut frames);
                }
            }
        }
        let (over, receivers) = (std::mem::take(&mut d.over), d.receivers);
        for id in over {
            self.disconnect(id);
        }
        receivers
    }

    /// Closes a subscriber over its output limit (its connection ends and
    /// cleans up the rest).
    fn disconnect(&mut self, id: u64) {
        if let Some(sub) = self.subscribers.get_mut(&id) {
            if let Some(o) = sub.outlet.take() {
                crate::log::warning(&format!(
                    "Client id={id} scheduled to be closed ASAP for overcoming of output buffer limits."
                ));
                o.signal.kill();
            }
        }
    }
}

/// One PUBLISH in progress: who publishes, the output limit, and the
/// subscribers found over it.
struct Delivery<'o> {
    me: Sender<'o>,
    held: &'o mut bytes::BytesMut,
    limit: ObufLimit,
    now: i64,
    over: Vec<u64>,
    receivers: usize,
}

/// One message's frame, encoded on first need for RESP2 and for RESP3.
#[derive(Default)]
struct Frames([Option<Bytes>; 2]);

impl Frames {
    fn get(&mut self, resp: u8, parts: &[&[u8]]) -> Bytes {
        self.0[(resp >= 3) as usize]
            .get_or_insert_with(|| {
                let mut r = Reply { buf: bytes::BytesMut::new(), resp };
                write_frame(&mut r, parts);
                r.buf.freeze()
            })
            .clone()
    }
}

impl Delivery<'_> {
    fn deliver(
        &mut self,
        subscribers: &mut HashMap<u64, Subscriber, ahash::RandomState>,
        id: u64,
        parts: &[&[u8]],
        frames: &mut Frames,
    ) {
        self.receivers += 1;
        let Some(sub) = subscribers.get_mut(&id) else { return };
        if id == self.me.id {
            write_frame(self.me.out, parts);
            return;
        }
        if id == self.me.current {
            let mut r = Reply { buf: std::mem::take(self.held), resp: sub.resp };
            write_frame(&mut r, parts);
            *self.held = r.buf;
            return;
        }
        let Some(outlet) = &sub.outlet else { return };
        let frame = frames.get(sub.resp, parts);
        let n = frame.len();
        let queued = outlet.queued.fetch_add(n, Ordering::Relaxed) + n;
        if outlet.tx.send(frame).is_err() {
            return;
        }
        // client-output-buffer-limit pubsub: hard limit at once, soft limit when
        // exceeded for longer than its seconds.
        let limit = self.limit;
        if limit.reached(queued, &mut sub.soft_since, self.now) {
            self.over.push(id);
        }
    }
}

/// A message frame: a push in RESP3, an array in RESP2.
fn write_frame(out: &mut Reply, parts: &[&[u8]]) {
    out.push_len(parts.len());
    for p in parts {
        out.bulk(p);
    }
}
