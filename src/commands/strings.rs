//! String commands: GET, SET and friends, counters, ranges, LCS.

use super::{Ctx, Handler};
use crate::storage::Value;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("get", get), ("set", set)];

/// Replies with a string value, or WRONGTYPE.
pub fn reply_string(ctx: &mut Ctx, v: &Value) -> bool {
    match v {
        Value::Int(n) => ctx.out.bulk_int(*n),
        Value::Str(s) | Value::RawStr(s) => ctx.out.bulk(s),
    }
    true
}

fn get(ctx: &mut Ctx, args: &[Bytes]) {
    match ctx.lookup_read(&args[1]) {
        None => ctx.out.null(),
        Some(e) => {
            let v = e.value.clone();
            reply_string(ctx, &v);
        }
    }
}

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    ctx.db().set(&args[1], Value::from_bytes(&args[2]), now);
    ctx.dirty(1);
    ctx.out.ok();
}
