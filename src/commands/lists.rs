//! List commands: pushes, pops, ranges, LPOS, LMOVE, LMPOP and the blocking pops.

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
