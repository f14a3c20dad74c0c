//! Hash commands: HSET, HGET and friends, HINCRBY(FLOAT), HRANDFIELD, HSCAN.

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
