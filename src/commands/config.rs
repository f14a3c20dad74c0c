//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP.

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
