//! Keeps docs/compatibility.md honest: its command table must list every
//! command and subcommand of the Redis 7.0 reference exactly once, mark every
//! registered handler (`ferrokv::commands::HANDLERS`) `supported` and nothing
//! else, and its summary line must match the table.
//!
//! The table rows this reads look like
//! `| `CONFIG GET` | server | supported | notes |`: the name in backticks,
//! uppercase, a subcommand as `PARENT SUB`. Only the `## Commands` section is
//! read (the DEBUG subcommands table below it is free-form).

use ferrokv::commands::HANDLERS;
use std::collections::{BTreeMap, BTreeSet};

const DOC: &str = "docs/compatibility.md";

struct Row {
    line: usize,
    status: String,
}

fn read(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `config|get` -> `CONFIG GET`.
fn doc_name(registered: &str) -> String {
    registered.replace('|', " ").to_ascii_uppercase()
}

/// The rows of the `## Commands` section, by name.
fn table_rows(doc: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let mut inside = false;
    for (i, line) in doc.lines().enumerate() {
        let line_no = i + 1;
        if let Some(title) = line.strip_prefix("## ") {
            inside = title.trim() == "Commands";
            continue;
        }
        if !inside || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // ["", name, group, status, notes..., ""]
        assert!(cells.len() >= 6, "{DOC}:{line_no}: a row needs 4 columns: {line}");
        let name = cells[1];
        assert!(
            name.len() > 2 && name.starts_with('`') && name.ends_with('`'),
            "{DOC}:{line_no}: the command name must be in backticks: {line}"
        );
        let name = &name[1..name.len() - 1];
        assert_eq!(name, name.to_ascii_uppercase(), "{DOC}:{line_no}: command names are uppercase");
        let status = cells[3].to_string();
        let ok = status == "supported"
            || status == "partial"
            || status.starts_with("later")
            || status
                .strip_prefix("not yet (#")
                .and_then(|s| s.strip_suffix(')'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        assert!(
            ok,
            "{DOC}:{line_no}: status must be `supported`, `partial`, `not yet (#N)` or `later (...)`, got `{status}`"
        );
        let prev = rows.insert(name.to_string(), Row { line: line_no, status });
        assert!(prev.is_none(), "{DOC}:{line_no}: `{name}` has two rows");
    }
    assert!(!rows.is_empty(), "{DOC}: no table rows found under `## Commands`");
    rows
}

/// Every command of the reference, and the subcommands of each container.
fn reference() -> BTreeMap<String, Vec<String>> {
    let text = read("src/commands/redis-7.0-commands.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    let commands = json["commands"].as_object().expect("`commands` object");
    commands
        .iter()
        .map(|(name, spec)| {
            let subs = spec["subcommands"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s["name"].as_str()).map(doc_name).collect())
                .unwrap_or_default();
            (doc_name(name), subs)
        })
        .collect()
}

#[test]
fn every_reference_command_has_one_row() {
    let rows = table_rows(&read(DOC));
    let reference = reference();
    assert_eq!(reference.len(), 240, "Redis 7.0 has 240 commands");
    let mut expected = BTreeSet::new();
    for (name, subs) in &reference {
        expected.insert(name.clone());
        expected.extend(subs.iter().cloned());
    }
    let listed: BTreeSet<String> = rows.keys().cloned().collect();
    let missing: Vec<&String> = expected.difference(&listed).collect();
    let unknown: Vec<&String> = listed.difference(&expected).collect();
    assert!(missing.is_empty(), "{DOC} has no row for {missing:?}");
    assert!(unknown.is_empty(), "{DOC} lists names that are not Redis 7.0 commands: {unknown:?}");
}

#[test]
fn supported_rows_match_the_registered_handlers() {
    let rows = table_rows(&read(DOC));
    let reference = reference();
    let registered: BTreeSet<String> = HANDLERS.iter().map(|(name, _)| doc_name(name)).collect();
    let supported = |name: &str| rows.get(name).is_some_and(|r| r.status == "supported");
    let mut errors = Vec::new();

    // Every handler is listed as supported (a container that also has a
    // handler of its own, like COMMAND, may be partial).
    for name in &registered {
        match rows.get(name) {
            None => errors.push(format!("`{name}` is registered but has no row")),
            Some(r) => {
                let container = reference.get(name).is_some_and(|s| !s.is_empty());
                let ok = r.status == "supported" || (container && r.status == "partial");
                if !ok {
                    errors.push(format!("line {}: `{name}` is registered but marked `{}`", r.line, r.status));
                }
            }
        }
    }

    // Every supported or partial row is backed by handlers.
    for (name, row) in &rows {
        let subs: &[String] = reference.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let is_sub = name.contains(' ');
        match row.status.as_str() {
            "supported" if is_sub || subs.is_empty() => {
                if !registered.contains(name) {
                    errors.push(format!("line {}: `{name}` is marked supported but has no handler", row.line));
                }
            }
            "supported" => {
                // A container: supported when all its subcommands are.
                let not: Vec<&String> = subs.iter().filter(|s| !supported(s)).collect();
                if !not.is_empty() {
                    errors.push(format!(
                        "line {}: container `{name}` is marked supported but these subcommands are not: {not:?} (use `partial`)",
                        row.line
                    ));
                }
            }
            "partial" => {
                let n = subs.iter().filter(|s| supported(s)).count();
                if subs.is_empty() || (n == 0 && !registered.contains(name)) || n == subs.len() {
                    errors.push(format!(
                        "line {}: `{name}` is marked partial: that is for a container with some, not all, subcommands supported ({n} of {})",
                        row.line,
                        subs.len()
                    ));
                }
            }
            _ => {
                if !subs.is_empty() && subs.iter().any(|s| supported(s)) {
                    errors.push(format!(
                        "line {}: container `{name}` has supported subcommands but is marked `{}` (use `partial` or `supported`)",
                        row.line, row.status
                    ));
                }
            }
        }
    }
    assert!(errors.is_empty(), "{DOC} is out of date:\n  {}", errors.join("\n  "));
}

#[test]
fn summary_line_matches_the_table() {
    let doc = read(DOC);
    let rows = table_rows(&doc);
    let reference = reference();
    let status = |name: &str| rows.get(name).map(|r| r.status.as_str()).unwrap_or("");
    let supported = reference.keys().filter(|n| status(n) == "supported").count();
    let partial = reference.keys().filter(|n| status(n) == "partial").count();
    let subs: Vec<&String> = reference.values().flatten().collect();
    let subs_supported = subs.iter().filter(|n| status(n) == "supported").count();
    let expected = [supported, reference.len(), partial, subs_supported, subs.len()];

    let line = doc
        .lines()
        .find(|l| l.starts_with("**Summary:**"))
        .unwrap_or_else(|| panic!("{DOC} has no `**Summary:**` line"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("number"))
        .collect();
    assert_eq!(
        numbers,
        expected,
        "{DOC}: the summary line should read \"**Summary:** {} of {} commands supported, {} partially (...); {} of {} subcommands supported.\" (no other digits), found: {line}",
        expected[0],
        expected[1],
        expected[2],
        expected[3],
        expected[4]
    );
}
