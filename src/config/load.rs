//! Reading the configuration as redis-server does: `[config-file] [-] [--name
//! value ...]`, where the options are turned into config lines appended after
//! the file (and stdin), then every line is parsed with redis.conf quoting.
//! `include` loads another file (glob patterns allowed); an error stops startup
//! with Redis's `*** FATAL CONFIG FILE ERROR ***` report.

use super::registry::{self, MULTI};
use super::Config;

/// Text of a fatal configuration error, as Redis prints it on stderr.
fn fatal(at: Option<(usize, &str)>, reason: &str) -> String {
    let mut s = format!("\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n", crate::startup::VERSION);
    if let Some((n, line)) = at {
        s.push_str(&format!("Reading the configuration file, at line {n}\n>>> '{line}'\n"));
    }
    s.push_str(reason);
    s
}

/// Redis's `getAbsolutePath`: a relative path joined to the working directory.
pub fn absolute_path(p: &str) -> String {
    let p = p.trim_matches([' ', '\r', '\n', '\t']);
    if p.starts_with('/') {
        return p.to_string();
    }
    let mut cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
    let mut rel = p;
    while let Some(r) = rel.strip_prefix("../") {
        rel = r;
        if let Some(i) = cwd.trim_end_matches('/').rfind('/') {
            cwd.truncate(i.max(1));
        }
    }
    if cwd.ends_with('/') {
        format!("{cwd}{rel}")
    } else {
        format!("{cwd}/{rel}")
    }
}

/// Applies `[config-file] [-] [--name value ...]` as redis-server does; returns
/// the config file's absolute path. An `Err` is the text to print on stderr
/// before exiting with status 1 (empty when it was already logged).
pub fn load_from_args(config: &mut Config, args: &[String]) -> Result<Option<String>, String> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut file = None;
    let mut j = 0;
    if !args[0].starts_with('-') {
        file = Some(absolute_path(&args[0]));
        j = 1;
    }
    let mut from_stdin = false;
    let mut options = String::new();
    let mut handled_last = true;
    let argc = args.len();
    while j < argc {
        let a = &args[j];
        if a == "-" && (j == 0 || j == argc - 1) {
            from_stdin = true;
        } else if handled_last && a.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&a[2..]);
            options.push(' ');
            let words = crate::resp::split_args(a.as_bytes()).map(|v| v.len()).unwrap_or(0);
            if words == 1 {
                // Only a name (`--port`): its value follows.
                handled_last = false;
                let next_is_option = j + 1 < argc && args[j + 1].starts_with("--");
                if a.eq_ignore_ascii_case("--save") && (next_is_option || j == argc - 1) {
                    options.push_str("\"\"");
                    handled_last = true;
                } else if a.eq_ignore_ascii_case("--sentinel") && next_is_option {
                    handled_last = true;
                }
            } else {
                handled_last = true;
            }
        } else {
            options.push_str(&registry::repr(a.as_bytes()));
            options.push(' ');
            handled_last = true;
        }
        j += 1;
    }
    load_file(config, file.as_deref(), from_stdin, Some(&options))?;
    Ok(file)
}

fn read_file(path: &str) -> Result<String, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        // fopen() of a directory succeeds and reads nothing.
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Ok(String::new()),
        Err(e) => {
            crate::log::warning(&format!("Fatal error, can't open config file '{path}': {}", super::strerror(&e)));
            Err(String::new())
        }
    }
}

/// Expands a glob pattern to the matching paths, sorted (C `glob`).
fn glob_paths(pattern: &str) -> Vec<String> {
    let Ok(cpat) = std::ffi::CString::new(pattern) else { return Vec::new() };
    let mut out = Vec::new();
    // SAFETY: `g` is zero-initialised as glob(3) expects, `cpat` is a valid
    // NUL-terminated string, and the result is read only when glob returns 0
    // (gl_pathv then holds gl_pathc valid C strings) and freed with globfree.
    unsafe {
        let mut g: libc::glob_t = std::mem::zeroed();
        if libc::glob(cpat.as_ptr(), 0, None, &mut g) == 0 {
            for i in 0..g.gl_pathc {
                let p = *g.gl_pathv.add(i);
                if !p.is_null() {
                    out.push(std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned());
                }
            }
        }
        libc::globfree(&mut g);
    }
    out
}

/// Redis's `loadServerConfig`: the file (or every file a glob matches), then
/// stdin, then the options, parsed as one text.
fn load_file(config: &mut Config, path: Option<&str>, from_stdin: bool, options: Option<&str>) -> Result<(), String> {
    let mut text = String::new();
    if let Some(p) = path {
        if p.contains(['*', '?', '[']) {
            for f in glob_paths(p) {
                text.push_str(&read_file(&f)?);
            }
        } else {
            text.push_str(&read_file(p)?);
        }
    }
    if from_stdin {
        crate::log::warning("Reading config from stdin");
        let mut s = String::new();
        use std::io::Read;
        let mut b = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut b);
        s.push_str(&String::from_utf8_lossy(&b));
        text.push_str(&s);
    }
    if let Some(o) = options {
        text.push('\n');
        text.push_str(o);
    }
    load_string(config, &text)
}

/// The names of Redis's commands (for `rename-command`).
fn command_exists(name: &str, config: &Config) -> bool {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../commands/redis-7.0-commands.json")).unwrap_or_default();
        let mut s: std::collections::HashSet<String> =
            doc["commands"].as_object().map(|m| m.keys().map(|k| k.to_ascii_lowercase()).collect()).unwrap_or_default();
        for (h, _) in crate::commands::HANDLERS {
            s.insert(h.split('|').next().unwrap_or(h).to_string());
        }
        s
    });
    let lname = name.to_ascii_lowercase();
    let mut exists = names.contains(&lname);
    for (from, to) in &config.renamed_commands {
        if from.eq_ignore_ascii_case(&lname) {
            exists = false;
        }
        if to.eq_ignore_ascii_case(&lname) {
            exists = true;
        }
    }
    exists
}

/// Redis's `loadServerConfigFromString`.
pub fn load_string(config: &mut Config, text: &str) -> Result<(), String> {
    config.begin_file();
    let r = parse_lines(config, text);
    config.end_file();
    r?;
    // Checks Redis makes once the lines are read.
    if !config.logfile.is_empty() {
        if let Err(e) = std::fs::OpenOptions::new().create(true).append(true).open(&config.logfile) {
            return Err(fatal(None, &format!("Can't open the log file: {}", super::strerror(&e))));
        }
    }
    if config.get("cluster-enabled") == Some("yes") && config.get("replicaof").is_some_and(|v| !v.is_empty()) {
        return Err(fatal(None, "replicaof directive not allowed in cluster mode"));
    }
    Ok(())
}

fn parse_lines(config: &mut Config, text: &str) -> Result<(), String> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason: &str| fatal(Some((i + 1, line)), reason);
        let Some(argv) = crate::resp::split_args(line.as_bytes()) else {
            return Err(fail("Unbalanced quotes in configuration line"));
        };
        let mut argv: Vec<String> = argv.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect();
        if argv.is_empty() {
            continue;
        }
        argv[0] = argv[0].to_ascii_lowercase();
        let name = argv[0].clone();
        if let Some(d) = registry::lookup(&name) {
            if !d.is(MULTI) && argv.len() != 2 {
                return Err(fail("wrong number of arguments"));
            }
            let args: Vec<String> = if d.is(MULTI) && argv.len() == 2 && !argv[1].is_empty() {
                // `--save "900 1 300 10"`: one argument holding several.
                match crate::resp::split_args(argv[1].as_bytes()) {
                    Some(v) => v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect(),
                    None => Vec::new(),
                }
            } else {
                argv[1..].to_vec()
            };
            if let Err(reason) = config.set_args(d, &args) {
                return Err(fail(&reason));
            }
            continue;
        }
        if registry::DEPRECATED.contains(&name.as_str()) {
            continue;
        }
        let argc = argv.len();
        match name.as_str() {
            "include" if argc == 2 => {
                load_file(config, Some(&argv[1]), false, None)?;
            }
            "rename-command" if argc == 3 => {
                if !command_exists(&argv[1], config) {
                    return Err(fail("No such command in rename-command"));
                }
                if !argv[2].is_empty() && command_exists(&argv[2], config) {
                    return Err(fail("Target command name already exists"));
                }
                config.renamed_commands.push((argv[1].clone(), argv[2].clone()));
            }
            "user" if argc >= 2 => config.user_lines.push(argv[1..].join(" ")),
            "loadmodule" if argc >= 2 => config.modules.push(argv[1..].join(" ")),
            n if n.contains('.') => {
                if argc < 2 {
                    return Err(fail("Module config specified without value"));
                }
                config.module_configs.push((argv[0].clone(), argv[1..].join(" ")));
            }
            "sentinel" => return Err(fail("sentinel directive while not in sentinel mode")),
            _ => return Err(fail("Bad directive or wrong number of arguments")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> Result<Config, String> {
        let mut c = Config::new();
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        load_from_args(&mut c, &a).map(|_| c)
    }

    #[test]
    fn options_become_lines() {
        let c = load(&["--port", "7000", "--save", "--maxmemory", "2mb"]).expect("valid");
        assert_eq!(c.port, 7000);
        assert_eq!(c.get("save"), Some(""));
        assert_eq!(c.get("maxmemory"), Some("2097152"));
        let c = load(&["--save", "10 1", "--save", "20 2"]).expect("valid");
        assert_eq!(c.get("save"), Some("10 1 20 2"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = load(&["--port", "abc"]).err().unwrap_or_default();
        assert_eq!(
            e,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer"
        );
        let e = load(&["--port", "--loglevel", "verbose"]).err().unwrap_or_default();
        assert!(e.ends_with(">>> 'port \"--loglevel\" \"verbose\"'\nwrong number of arguments"), "{e}");
        let e = load(&["--nosuch", "1"]).err().unwrap_or_default();
        assert!(e.ends_with("Bad directive or wrong number of arguments"), "{e}");
        let e = load(&["--rename-command", "nosuchcmd", "x"]).err().unwrap_or_default();
        assert!(e.ends_with("No such command in rename-command"), "{e}");
    }
}
