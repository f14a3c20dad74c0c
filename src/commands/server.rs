//! Server commands: INFO, CONFIG, COMMAND, DBSIZE-style introspection, SLOWLOG,
//! LATENCY, MONITOR, DEBUG, SHUTDOWN, TIME, LASTSAVE.

use super::{Ctx, Handler};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("time", time)];

fn time(ctx: &mut Ctx, _args: &[Bytes]) {
    let us = crate::util::now_us();
    ctx.out.array_len(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
}
