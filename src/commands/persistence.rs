//! Persistence commands: SAVE, BGSAVE [SCHEDULE], LASTSAVE, DUMP and RESTORE,
//! with Redis 7.0's replies and errors. The work is in `crate::persist`.

use super::{err, Ctx, Handler};
use crate::persist::{self, rdb};
use crate::server::notify;
use crate::storage::Entry;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("save", save),
    ("bgsave", bgsave),
    ("bgrewriteaof", bgrewriteaof),
    ("lastsave", lastsave),
    ("dump", dump),
    ("restore", restore),
];

const BGSAVE_RUNNING: &str = "ERR Background save already in progress";

fn save(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.srv.persist.bgsave_in_progress() {
        ctx.err(BGSAVE_RUNNING);
        return;
    }
    ctx.srv.persist.saves += 1;
    match persist::save(ctx.srv) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.err("ERR"),
    }
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) {
    let schedule = args.len() == 2 && args[1].eq_ignore_ascii_case(b"schedule");
    if args.len() > 1 && !schedule {
        ctx.syntax();
        return;
    }
    let in_exec = ctx.no_block && ctx.client.multi >= 0;
    if ctx.srv.persist.bgsave_in_progress() {
        ctx.err(BGSAVE_RUNNING);
    } else if ctx.srv.persist.child.is_some() || in_exec {
        // An AOF rewrite runs, or inside EXEC: Redis leaves it to its cron.
        if schedule || in_exec {
            ctx.srv.persist.bgsave_scheduled = true;
            ctx.out.status("Background saving scheduled");
        } else {
            ctx.err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if persist::bgsave(ctx.srv).is_ok() {
        ctx.out.status("Background saving started");
    } else {
        ctx.err("ERR");
    }
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(ctx.srv.lastsave);
}

fn dump(ctx: &mut Ctx, args: &[Bytes]) {
    let o = rdb::encode::Opts::from_server(ctx.srv);
    match ctx.lookup_read(&args[1]) {
        Some(e) => {
            let p = rdb::encode::dump_payload(&e.value, o);
            ctx.out.bulk(&p);
        }
        None => ctx.out.null(),
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (i64, i64) = (-1, -1);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = &args[j];
        if a.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if a.eq_ignore_ascii_case(b"absttl") {
            absttl = true;
        } else if a.eq_ignore_ascii_case(b"idletime") && more >= 1 && freq == -1 {
            let Some(v) = ctx.int_arg(&args[j + 1]) else { return };
            if v < 0 {
                ctx.err("ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            idle = v;
            j += 1;
        } else if a.eq_ignore_ascii_case(b"freq") && more >= 1 && idle == -1 {
            let Some(v) = ctx.int_arg(&args[j + 1]) else { return };
            if !(0..=255).contains(&v) {
                ctx.err("ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            freq = v;
            j += 1;
        } else {
            ctx.syntax();
            return;
        }
        j += 1;
    }
    let key = &args[1];
    if !replace && ctx.lookup_write(key).is_some() {
        ctx.err("BUSYKEY Target key name already exists.");
        return;
    }
    let Some(mut ttl) = crate::util::parse_i64(&args[2]) else {
        ctx.err(err::NOT_INT);
        return;
    };
    if ttl < 0 {
        ctx.err("ERR Invalid TTL value, must be >= 0");
        return;
    }
    if !rdb::decode::verify_payload(&args[3], ctx.srv.persist.skip_checksum_validation) {
        ctx.err("ERR DUMP payload version or checksum are wrong");
        return;
    }
    let lim = rdb::Limits::from_config(&ctx.srv.config);
    let value = match rdb::decode::payload_value(&args[3], &lim, key) {
        Ok(Some(v)) => v,
        _ => {
            ctx.err("ERR Bad data format");
            return;
        }
    };
    let deleted = replace && ctx.db().remove(key).is_some();
    let now = crate::util::now_ms();
    if ttl != 0 && !absttl {
        ttl = ttl.wrapping_add(now);
    }
    if ttl != 0 && ttl <= now {
        if deleted {
            ctx.dirty(1);
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.out.ok();
        return;
    }
    let freq = u8::try_from(freq).ok();
    let idle = u64::try_from(idle).ok();
    let lru = ctx.db().access.restored(freq, idle, ctx.now);
    let db = ctx.db();
    db.add_entry(key, Entry::new(value, lru));
    if ttl != 0 {
        db.set_expire(key, ttl);
    }
    ctx.key_ready(key);
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.out.ok();
    ctx.dirty(1);
}

/// BGREWRITEAOF: a new base file from the dataset and a new incremental file
/// (done before replying: ferrokv does not fork).
fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.srv.persist.child_is(persist::ChildKind::Aof) {
        ctx.err("ERR Background append only file rewriting already in progress");
    } else if ctx.srv.persist.child.is_some() || (ctx.no_block && ctx.client.multi >= 0) {
        ctx.srv.aof.rewrite_scheduled = true;
        ctx.out.status("Background append only file rewriting scheduled");
    } else if persist::aof::rewrite(ctx.srv).is_ok() {
        ctx.out.status("Background append only file rewriting started");
    } else {
        ctx.err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }
}
