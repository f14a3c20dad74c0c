//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET, CLIENT.

use super::{Ctx, Handler};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[("ping", ping), ("echo", echo), ("quit", quit)];

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        ctx.err("ERR wrong number of arguments for 'ping' command");
    } else if args.len() == 2 {
        ctx.out.bulk(&args[1]);
    } else {
        ctx.out.status("PONG");
    }
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.bulk(&args[1]);
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}
