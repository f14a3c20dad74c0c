//! The stream worker pool of examples/stream_worker_pool.py (redis-py: a
//! producer with XADD MAXLEN ~, consumers on XREADGROUP/XACK, one consumer
//! that crashes, a reaper on XAUTOCLAIM/XPENDING/XINFO/XGROUP DELCONSUMER),
//! run unchanged against ferrokv and against real Redis over RESP2 and RESP3:
//! it must pass its own invariant checks on both, and the parts of its
//! summary that do not depend on timing must agree.

mod common;
use common::*;
use std::process::Command;

/// Summary fields that any correct server makes the same.
const DETERMINISTIC: &[&str] = &[
    "ok",
    "jobs",
    "produced",
    "processed",
    "missing",
    "wrong_results",
    "stream_length",
    "entries_added",
    "entries_read",
    "lag",
    "pending",
    "crashed_holding",
    "reclaimed_from_crasher",
    "reclaimed_deleted",
    "dead_consumers_removed",
    "consumers_left",
];

/// Runs the pool against `port`; returns the JSON summary (the last stdout line).
fn run_pool(name: &str, port: u16, protocol: u8) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/stream_worker_pool.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--protocol", &protocol.to_string()])
        .args(["--jobs", "3000", "--workers", "4", "--timeout", "90", "--dead-after-ms", "3000"])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "worker pool against {name} (RESP{protocol}) failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let line = stdout.lines().last().unwrap_or_default();
    let summary: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}: summary is not JSON ({e}): {stdout}"));
    assert_eq!(summary["ok"], serde_json::Value::Bool(true), "{name}: {summary}");
    eprintln!("{name} RESP{protocol}: {line}");
    summary
}

#[test]
fn stream_worker_pool_runs_unchanged() {
    if !redis_py_or_skip("worker pool test") {
        return;
    }
    // One run at a time: the pool judges consumers by their idle time, so
    // runs competing for the CPU would only make it slower to tell.
    for protocol in [2u8, 3] {
        let mut summaries = Vec::new();
        for (name, server) in [("redis", Server::redis()), ("ferrokv", Server::ferrokv())] {
            summaries.push((name, run_pool(name, server.port, protocol)));
        }
        let (_, want) = &summaries[0];
        let (_, got) = &summaries[1];
        for key in DETERMINISTIC {
            assert!(!want[key].is_null(), "redis summary lacks {key}: {want}");
            assert_eq!(got[key], want[key], "RESP{protocol}: {key} differs (ferrokv {got}, redis {want})");
        }
        // The run is meaningful: the crash, the takeover, the retention window.
        assert_eq!(got["crashed_holding"], 20);
        assert_eq!(got["dead_consumers_removed"], serde_json::json!(["crasher"]));
        assert_eq!(got["stream_length"], 1000);
    }
}
