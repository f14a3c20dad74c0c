//! Set commands: SADD, SREM, membership, random members, algebra (SINTER/SUNION/SDIFF and STORE forms), SSCAN.

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
