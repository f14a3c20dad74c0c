//! Keyspace commands: DEL, EXISTS, TYPE, RENAME, KEYS, SCAN, SELECT, MOVE, COPY,
//! FLUSHDB, expiry (EXPIRE family, TTL family, PERSIST) and OBJECT.

use super::{Ctx, Handler};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("del", del)];

fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let mut n = 0;
    for k in &args[1..] {
        let db = ctx.db();
        db.expire_if_needed(k, now);
        if db.remove(k).is_some() {
            n += 1;
        }
    }
    ctx.dirty(n as u64);
    ctx.out.int(n);
}
