//! Counters behind INFO stats, commandstats and errorstats.

use std::collections::HashMap;

/// Per-command counters (INFO commandstats).
#[derive(Default, Clone, Copy)]
pub struct CmdStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

#[derive(Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_cpu_ms: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    /// Per command id (see `commands::table::Command::id`).
    pub commands: Vec<CmdStats>,
    /// Per error prefix (`ERR`, `WRONGTYPE`...).
    pub errors: HashMap<String, u64>,
    pub client_query_buffer_limit_disconnections: u64,
}

impl Stats {
    pub fn cmd(&mut self, id: usize) -> &mut CmdStats {
        if id >= self.commands.len() {
            self.commands.resize(id + 1, CmdStats::default());
        }
        &mut self.commands[id]
    }

    /// Counts an error reply under its prefix (the first word of the message).
    pub fn count_error(&mut self, msg: &str) {
        self.total_error_replies += 1;
        let prefix = msg.split(' ').next().unwrap_or("ERR");
        if let Some(c) = self.errors.get_mut(prefix) {
            *c += 1;
        } else if self.errors.len() < 128 {
            self.errors.insert(prefix.to_string(), 1);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&mut self) {
        let n = self.commands.len();
        *self = Stats::default();
        self.commands.resize(n, CmdStats::default());
    }
}
