//! Sorted set commands: ZADD and friends, ranges by rank/score/lex, pops, algebra, ZSCAN.

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
