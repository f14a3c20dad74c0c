//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB's subcommands.
//! The subscription registry and delivery live in `server::pubsub`.

use super::{Ctx, Handler};
use crate::server::pubsub::{Kind, Sender};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("psubscribe", psubscribe),
    ("punsubscribe", punsubscribe),
    ("ssubscribe", ssubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub|help", pubsub_help),
    ("pubsub|channels", pubsub_channels),
    ("pubsub|shardchannels", pubsub_shardchannels),
    ("pubsub|numsub", pubsub_numsub),
    ("pubsub|shardnumsub", pubsub_shardnumsub),
    ("pubsub|numpat", pubsub_numpat),
];

/// The commands a RESP2 client in subscribed mode may run.
pub const ALLOWED_WHEN_SUBSCRIBED: &[&str] =
    &["subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "ping", "quit", "reset"];

/// Keeps the client's subscription counts (CLIENT LIST, subscribed mode) in
/// step with the registry.
fn sync_counts(ctx: &mut Ctx) {
    let id = ctx.client.id;
    let (c, p, s) = match ctx.srv.pubsub.subscribers.get(&id) {
        Some(sub) => (sub.channels.len(), sub.patterns.len(), sub.shard.len()),
        None => (0, 0, 0),
    };
    ctx.client.sub_channels = c;
    ctx.client.sub_patterns = p;
    ctx.client.sub_shard = s;
}

/// One (un)subscribe confirmation: a push frame of verb, name (or null) and count.
fn confirm(ctx: &mut Ctx, verb: &str, name: Option<&[u8]>, count: usize) {
    ctx.out.push_len(3);
    ctx.out.bulk(verb.as_bytes());
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn subscribe_kind(ctx: &mut Ctx, args: &[Bytes], kind: Kind) {
    let id = ctx.client.id;
    let resp = ctx.out.resp;
    for name in &args[1..] {
        ctx.srv.pubsub.subscribe(id, resp, kind, name);
        let count = ctx.srv.pubsub.count_for(id, kind);
        confirm(ctx, kind.verbs().0, Some(name), count);
    }
    sync_counts(ctx);
}

fn unsubscribe_kind(ctx: &mut Ctx, args: &[Bytes], kind: Kind) {
    let id = ctx.client.id;
    let verb = kind.verbs().1;
    let names: Vec<Bytes> = if args.len() > 1 { args[1..].to_vec() } else { ctx.srv.pubsub.subscriptions(id, kind) };
    if names.is_empty() {
        let count = ctx.srv.pubsub.count_for(id, kind);
        confirm(ctx, verb, None, count);
    }
    for name in &names {
        ctx.srv.pubsub.unsubscribe(id, kind, name);
        let count = ctx.srv.pubsub.count_for(id, kind);
        confirm(ctx, verb, Some(name), count);
    }
    sync_counts(ctx);
}

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_kind(ctx, args, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_kind(ctx, args, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_kind(ctx, args, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_kind(ctx, args, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_kind(ctx, args, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_kind(ctx, args, Kind::Shard)
}

fn publish_kind(ctx: &mut Ctx, args: &[Bytes], shard: bool) {
    let (limit, now) = (ctx.srv.config.pubsub_obuf, ctx.now);
    let from = Sender { id: ctx.client.id, current: ctx.srv.current_client, out: &mut *ctx.out };
    let n = ctx.srv.pubsub.publish(shard, &args[1], &args[2], from, limit, now);
    ctx.out.int(n as i64);
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) {
    publish_kind(ctx, args, false)
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) {
    publish_kind(ctx, args, true)
}

fn pubsub_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}

fn channels_kind(ctx: &mut Ctx, args: &[Bytes], kind: Kind) {
    if args.len() > 3 {
        let msg = format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&args[1])
        );
        ctx.err(&msg);
        return;
    }
    let pat = args.get(2).map(|p| &p[..]);
    let list = ctx.srv.pubsub.channels_matching(kind, pat);
    ctx.out.array_len(list.len());
    for c in &list {
        ctx.out.bulk(c);
    }
}

fn pubsub_channels(ctx: &mut Ctx, args: &[Bytes]) {
    channels_kind(ctx, args, Kind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx, args: &[Bytes]) {
    channels_kind(ctx, args, Kind::Shard)
}

fn numsub_kind(ctx: &mut Ctx, args: &[Bytes], kind: Kind) {
    // A flat list of channel, subscribers (also in RESP3, as Redis 7.0).
    ctx.out.array_len(2 * (args.len() - 2));
    for c in &args[2..] {
        ctx.out.bulk(c);
        let n = ctx.srv.pubsub.numsub(kind, c);
        ctx.out.int(n as i64);
    }
}

fn pubsub_numsub(ctx: &mut Ctx, args: &[Bytes]) {
    numsub_kind(ctx, args, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, args: &[Bytes]) {
    numsub_kind(ctx, args, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.srv.pubsub.num_patterns();
    ctx.out.int(n as i64);
}
