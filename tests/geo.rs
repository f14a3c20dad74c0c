//! GEO commands, compared reply by reply with real Redis 7.0: GEOADD and its
//! options, GEODIST units, GEOHASH strings, GEOPOS coordinates, every search
//! command with every option combination over seeded random points worldwide
//! (poles, the antimeridian, dense clusters, shared positions, members exactly
//! at the radius), STORE/STOREDIST/GEOSEARCHSTORE results read back with ZRANGE,
//! every error, RESP3 shapes, statistics, dirty counts, keyspace notifications
//! and blocked clients woken by a store.

mod common;
use common::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::time::{Duration, Instant};

fn run(d: &mut Diff, args: &[String]) -> Resp {
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    d.check(&refs)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A random position: mostly worldwide, with extra weight on the poles, the
/// antimeridian, the exact limits and a dense cluster.
fn point(r: &mut SmallRng) -> (f64, f64) {
    const LAT: f64 = 85.05112878;
    match r.gen_range(0..12) {
        0 => (r.gen_range(-180.0..=180.0), r.gen_range(80.0..=LAT) * if r.gen_bool(0.5) { 1.0 } else { -1.0 }),
        1 => (r.gen_range(179.0..=180.0) * if r.gen_bool(0.5) { 1.0 } else { -1.0 }, r.gen_range(-LAT..=LAT)),
        2 => {
            let lons = [-180.0, 180.0, 0.0, -0.0];
            let lats = [LAT, -LAT, 0.0, 66.0, -80.0];
            (lons[r.gen_range(0..lons.len())], lats[r.gen_range(0..lats.len())])
        }
        3 | 4 => (13.36 + r.gen_range(-0.3..0.3), 38.11 + r.gen_range(-0.3..0.3)),
        _ => (r.gen_range(-180.0..=180.0), r.gen_range(-LAT..=LAT)),
    }
}

/// GEOADDs `n` random points to `key` (some sharing a position), in batches.
fn populate(d: &mut Diff, r: &mut SmallRng, key: &str, n: usize, prefix: &str) -> Vec<String> {
    let mut members = Vec::new();
    let mut args = s(&["GEOADD", key]);
    let mut last = (0.0, 0.0);
    for i in 0..n {
        let p = if i > 0 && r.gen_bool(0.08) { last } else { point(r) };
        last = p;
        let m = format!("{prefix}{i}");
        args.push(p.0.to_string());
        args.push(p.1.to_string());
        args.push(m.clone());
        members.push(m);
        if args.len() > 150 {
            run(d, &args);
            args = s(&["GEOADD", key]);
        }
    }
    if args.len() > 2 {
        run(d, &args);
    }
    members
}

/// A radius (value, unit) from metres to the whole planet, sometimes 0.
fn radius(r: &mut SmallRng) -> (String, &'static str) {
    radius_in(r, -1.0, 7.4)
}

/// A radius between 10^lo and 10^hi metres (sometimes 0) in a random unit.
fn radius_in(r: &mut SmallRng, lo: f64, hi: f64) -> (String, &'static str) {
    let units = [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34), ("KM", 1000.0), ("Mi", 1609.34)];
    let (u, f) = units[r.gen_range(0..units.len())];
    if r.gen_bool(0.03) {
        return ("0".into(), u);
    }
    let meters = 10f64.powf(r.gen_range(lo..hi));
    let v = meters / f;
    let text = if r.gen_bool(0.5) { format!("{v:.3}") } else { v.to_string() };
    (text, u)
}

/// Random trailing options for a search (no STORE).
fn options(r: &mut SmallRng, args: &mut Vec<String>) {
    let mut opts: Vec<Vec<String>> = Vec::new();
    for o in ["WITHCOORD", "WITHDIST", "WITHHASH"] {
        if r.gen_bool(0.4) {
            opts.push(s(&[o]));
        }
    }
    match r.gen_range(0..3) {
        0 => opts.push(s(&["ASC"])),
        1 => opts.push(s(&["DESC"])),
        _ => {}
    }
    if r.gen_bool(0.5) {
        let c = match r.gen_range(0..4) {
            0 => 1,
            1 => r.gen_range(2..8),
            2 => r.gen_range(8..60),
            _ => r.gen_range(60..500),
        };
        let mut v = s(&["COUNT", &c.to_string()]);
        if r.gen_bool(0.3) {
            v.push("ANY".into());
        }
        opts.push(v);
    }
    // Options may come in any order.
    for i in (1..opts.len()).rev() {
        opts.swap(i, r.gen_range(0..=i));
    }
    for o in opts {
        args.extend(o);
    }
}

fn coord(v: f64) -> String {
    v.to_string()
}

/// A random search of `key`: GEOSEARCH (from a member or coordinates, by
/// radius or box), GEORADIUS, GEORADIUSBYMEMBER or their _RO forms.
fn search(r: &mut SmallRng, key: &str, members: &[String]) -> Vec<String> {
    let m = members[r.gen_range(0..members.len())].clone();
    let (lon, lat) = point(r);
    let (rad, unit) = radius(r);
    let mut args = match r.gen_range(0..8) {
        0..=3 => {
            let mut a = s(&["GEOSEARCH", key]);
            if r.gen_bool(0.5) {
                a.extend(s(&["FROMMEMBER", &m]));
            } else {
                a.extend(s(&["FROMLONLAT", &coord(lon), &coord(lat)]));
            }
            if r.gen_bool(0.5) {
                a.extend(s(&["BYRADIUS", &rad, unit]));
            } else {
                let (h, _) = radius(r);
                a.extend(s(&["BYBOX", &rad, &h, unit]));
            }
            a
        }
        4 => s(&["GEORADIUS", key, &coord(lon), &coord(lat), &rad, unit]),
        5 => s(&["GEORADIUS_RO", key, &coord(lon), &coord(lat), &rad, unit]),
        6 => s(&["GEORADIUSBYMEMBER", key, &m, &rad, unit]),
        _ => s(&["GEORADIUSBYMEMBER_RO", key, &m, &rad, unit]),
    };
    options(r, &mut args);
    args
}

#[test]
fn geoadd_geodist_geohash_geopos() {
    let mut d = Diff::new();
    d.check_script(
        "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania\n\
         GEOADD Sicily 13.361389 38.115556 Palermo\n\
         GEOADD Sicily CH 13.361389 38.115556 Palermo 13.5 38.1 Palermo\n\
         GEOADD Sicily NX 1 1 Palermo 2 2 Agrigento\n\
         GEOADD Sicily XX 1 1 Palermo 2 2 Trapani\n\
         GEOADD Sicily XX CH 13.361389 38.115556 Palermo 3 3 Enna\n\
         GEOADD Sicily ch nx 14 37 Enna 14 37 Palermo\n\
         GEOADD Sicily NX CH XX 1 1 x\n\
         GEOADD Sicily xx nx 1 1 x\n\
         GEOADD Sicily ch ch ch\n\
         GEOADD Sicily ch ch ch ch\n\
         GEOADD nokey XX 1 1 a\n\
         EXISTS nokey\n\
         GEOADD nokey XX CH 1 1 a\n\
         GEOADD Sicily 1 1 a 2\n\
         GEOADD Sicily 1 1 a 2 2\n\
         GEOADD Sicily GT 1 1 a\n\
         GEOADD Sicily INCR 1 1 a\n\
         ZRANGE Sicily 0 -1 WITHSCORES\n\
         GEODIST Sicily Palermo Catania\n\
         GEODIST Sicily Palermo Catania m\n\
         GEODIST Sicily Palermo Catania km\n\
         GEODIST Sicily Palermo Catania KM\n\
         GEODIST Sicily Palermo Catania mi\n\
         GEODIST Sicily Palermo Catania fT\n\
         GEODIST Sicily Palermo Catania yd\n\
         GEODIST Sicily Palermo Catania km extra\n\
         GEODIST Sicily Palermo Palermo\n\
         GEODIST Sicily Palermo nosuch\n\
         GEODIST Sicily nosuch Palermo km\n\
         GEODIST nokey a b\n\
         GEODIST nokey a b yd\n\
         GEOHASH Sicily Palermo Catania nosuch Agrigento\n\
         GEOHASH Sicily\n\
         GEOHASH nokey a b\n\
         GEOPOS Sicily Palermo Catania nosuch Agrigento\n\
         GEOPOS Sicily\n\
         GEOPOS nokey a b\n\
         GEOADD w 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw 0 0 zero -0 -0 negzero\n\
         GEOADD w 179.99999999 85.05112877 a -179.99999999 -85.05112877 b 0.000001 -0.000001 c\n\
         ZRANGE w 0 -1 WITHSCORES\n\
         GEOPOS w ne sw se nw zero negzero a b c\n\
         GEOHASH w ne sw se nw zero negzero a b c\n\
         GEODIST w ne sw\n\
         GEODIST w ne se km\n\
         GEODIST w zero se mi\n\
         GEODIST w nw ne ft\n\
         GEOADD anti 0 0 a 180 0 b -180 0 c 90 0 d -90 0 e 0 10 f 180 -10 g\n\
         GEODIST anti a b\n\
         GEODIST anti a c\n\
         GEODIST anti f g\n\
         GEODIST anti d e\n\
         GEODIST anti b c",
    );
}

#[test]
fn raw_scores_decode_like_redis() {
    let mut d = Diff::new();
    d.check_script(
        "ZADD z -1 neg 0 zero 4503599627370495 top52 4503599627370496 over52 13510798882111488 corner 1e19 huge 1e300 vast\n\
         ZADD z inf inf -inf ninf 1.5 frac -1e300 nvast 9223372036854775808 two63 18446744073709551615 u64\n\
         GEOPOS z neg zero top52 over52 corner huge vast inf ninf frac nvast two63 u64\n\
         GEOHASH z neg zero top52 over52 corner huge vast inf ninf frac nvast two63 u64\n\
         GEODIST z neg zero\n\
         GEODIST z corner vast km\n\
         GEOSEARCH z FROMMEMBER zero BYRADIUS 30000 km ASC WITHHASH WITHCOORD WITHDIST\n\
         GEOSEARCH z FROMLONLAT 0 0 BYBOX 40000 40000 km WITHHASH\n\
         GEORADIUSBYMEMBER z inf 20000 km WITHHASH\n\
         GEORADIUSBYMEMBER z neg 100 km WITHCOORD",
    );
}

#[test]
fn search_errors() {
    let mut d = Diff::new();
    d.check_script(
        "GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania\n\
         SET str x\n\
         # coordinates\n\
         GEOADD k 181 0 a\n\
         GEOADD k -180.0001 0 a\n\
         GEOADD k 0 85.06 a\n\
         GEOADD k 0 -85.06 a\n\
         GEOADD k 200 -0 a\n\
         GEOADD k 1e300 5 a\n\
         GEOADD k inf 0 a\n\
         GEOADD k 0 -inf a\n\
         GEOADD k 1 1 ok 500 1 bad\n\
         EXISTS k2\n\
         GEOADD k2 1 1 ok 500 1 bad\n\
         EXISTS k2\n\
         GEOADD k x 1 a\n\
         GEOADD k 1 x a\n\
         GEOADD k nan 1 a\n\
         GEOADD k \" 1\" 1 a\n\
         GEOADD k \"1 \" 1 a\n\
         GEOADD k \"\" 1 a\n\
         GEOADD k 0x10 1 hex\n\
         GEOADD str 1 1 a\n\
         GEOADD str 500 1 a\n\
         GEOADD k\n\
         GEOADD k 1 1\n\
         # units and radius\n\
         GEORADIUS k 15 37 200 yd\n\
         GEORADIUS k 15 37 -1 km\n\
         GEORADIUS k 15 37 x km\n\
         GEORADIUS k 15 37 -0 km\n\
         GEORADIUS k 15 37 inf km\n\
         GEORADIUS k 15 37 nan km\n\
         GEORADIUS k 15 37 200 \"\"\n\
         GEORADIUS k 500 37 200 km\n\
         GEORADIUS k 500 37 -1 yd\n\
         GEORADIUS k x 37 200 km\n\
         GEORADIUS k 15 37 200\n\
         GEORADIUS k 15 37 200 km FOO\n\
         GEORADIUS k 15 37 200 km COUNT\n\
         GEORADIUS k 15 37 200 km COUNT 0\n\
         GEORADIUS k 15 37 200 km COUNT -3\n\
         GEORADIUS k 15 37 200 km COUNT x\n\
         GEORADIUS k 15 37 200 km COUNT 99999999999999999999\n\
         GEORADIUS k 15 37 200 km ANY\n\
         GEORADIUS k 15 37 200 km ANY COUNT 1\n\
         GEORADIUS k 15 37 200 km COUNT 1 ANY ASC\n\
         GEORADIUS k 15 37 200 km STORE\n\
         GEORADIUS k 15 37 200 km STORE d WITHDIST\n\
         GEORADIUS k 15 37 200 km WITHHASH STOREDIST d\n\
         GEORADIUS k 15 37 200 km WITHCOORD STORE d STOREDIST d2\n\
         GEORADIUS_RO k 15 37 200 km STORE d\n\
         GEORADIUS_RO k 15 37 200 km STOREDIST d\n\
         GEORADIUS k 15 37 200 km FROMMEMBER Palermo\n\
         GEORADIUS k 15 37 200 km BYBOX 1 1 km\n\
         GEORADIUS str 15 37 200 km\n\
         GEORADIUS str 500 37 200 km\n\
         GEORADIUSBYMEMBER k nosuch 200 km\n\
         GEORADIUSBYMEMBER k Palermo 200 yd\n\
         GEORADIUSBYMEMBER k Palermo -5 km\n\
         GEORADIUSBYMEMBER k Palermo 5 km STORE d WITHDIST\n\
         GEORADIUSBYMEMBER k Palermo 5 km COUNT 0\n\
         GEORADIUSBYMEMBER_RO k Palermo 5 km STORE d\n\
         GEORADIUSBYMEMBER str Palermo 200 km\n\
         GEORADIUSBYMEMBER nokey nosuch -5 yd\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km STORE d WITHDIST\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km COUNT 0\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km ANY\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km FOO\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km\n\
         GEORADIUSBYMEMBER nokey nosuch 5 km STORE d\n\
         # GEOSEARCH grammar\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km STORE d\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST d\n\
         GEOSEARCH k BYRADIUS 200 km ASC\n\
         GEOSEARCH k FROMLONLAT 15 37 ASC\n\
         GEOSEARCH k FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km\n\
         GEOSEARCH k FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 km\n\
         GEOSEARCH k FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 1 km\n\
         GEOSEARCH k FROMLONLAT 1 1 FROMLONLAT 15 37 BYRADIUS 1 km\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km\n\
         GEOSEARCH k FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 1 km\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 300 km\n\
         GEOSEARCH k FROMLONLAT 15 37 BYBOX 1 1 km BYBOX 400 400 km\n\
         GEOSEARCH k FROMMEMBER nosuch BYRADIUS 1 km\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS x km\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS -1 km\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 yd\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX x 1 km\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX 1 x km\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX -1 1 km\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX 1 -1 km\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX 1 1 yd\n\
         GEOSEARCH k FROMMEMBER Palermo BYBOX 1 1\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1\n\
         GEOSEARCH k FROMLONLAT 15 BYRADIUS 1 km\n\
         GEOSEARCH k FROMLONLAT 500 37 BYRADIUS 1 km\n\
         GEOSEARCH k FROMLONLAT 15 x BYRADIUS 1 km\n\
         GEOSEARCH k FROMMEMBER\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 km COUNT 0\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 km ANY\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 km COUNT 2 ANY WITHDIST\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 km WITHDIST WITHDIST ASC DESC\n\
         GEOSEARCH k fromlonlat 15 37 byradius 200 KM withdist withcoord withhash desc count 1 any\n\
         geosearch k withdist\n\
         geosearch k withdist asc desc any\n\
         GeoSearch k FROMLONLAT 15 37 COUNT 1\n\
         GEOSEARCH nokey FROMMEMBER nosuch BYRADIUS 1 km\n\
         GEOSEARCH nokey FROMMEMBER nosuch BYRADIUS -1 km\n\
         GEOSEARCH nokey FROMMEMBER nosuch\n\
         GEOSEARCH nokey FROMLONLAT 500 0 BYRADIUS 1 km\n\
         GEOSEARCH str FROMMEMBER nosuch BYRADIUS 1 km\n\
         GEOSEARCH str FOO\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD STOREDIST\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STORE x\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST STOREDIST\n\
         GEOSEARCHSTORE d k BYRADIUS 200 km\n\
         geosearchstore d k FROMLONLAT 15 37\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km ANY\n\
         GEOSEARCHSTORE d str FROMLONLAT 15 37 BYRADIUS 200 km\n\
         GEOSEARCHSTORE str k FROMLONLAT 15 37 BYRADIUS 200 km\n\
         TYPE str\n\
         GEOSEARCHSTORE d nokey FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST\n\
         GEOSEARCH\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS\n\
         GEOSEARCHSTORE d k\n\
         GEORADIUS k 15 37 200\n\
         GEORADIUSBYMEMBER k Palermo 200\n\
         GEOHASH\n\
         GEOPOS\n\
         GEODIST k a\n\
         GEOHASH str a\n\
         GEOPOS str a\n\
         GEODIST str a b\n\
         GEODIST str a b yd\n\
         GEODIST str a b km x\n\
         RPUSH list a\n\
         GEOHASH list a\n\
         GEOSEARCH list FROMLONLAT 0 0 BYRADIUS 1 km",
    );
    d.same_info("errorstats", "errorstat_ERR");
    d.same_info("errorstats", "errorstat_WRONGTYPE");
}

/// Options of every search command on a small and a large set, compared with
/// Redis (the reply order of an unsorted search is the scan order).
#[test]
fn every_option_combination() {
    let mut d = Diff::new();
    let mut r = SmallRng::seed_from_u64(11);
    let members = populate(&mut d, &mut r, "g", 40, "m");
    let with =
        [[false, false, false], [true, false, false], [false, true, false], [false, false, true], [true, true, true]];
    let sorts: [&[&str]; 3] = [&[], &["ASC"], &["DESC"]];
    let counts: [&[&str]; 4] = [&[], &["COUNT", "3"], &["COUNT", "2", "ANY"], &["COUNT", "100"]];
    let froms = [s(&["FROMMEMBER", &members[3]]), s(&["FROMLONLAT", "13.4", "38.0"])];
    let bys = [s(&["BYRADIUS", "80", "km"]), s(&["BYBOX", "150", "90", "km"]), s(&["BYRADIUS", "12000", "km"])];
    for w in &with {
        for so in &sorts {
            for c in &counts {
                let mut opts: Vec<String> = Vec::new();
                for (on, name) in w.iter().zip(["WITHCOORD", "WITHDIST", "WITHHASH"]) {
                    if *on {
                        opts.push(name.into());
                    }
                }
                opts.extend(so.iter().map(|x| x.to_string()));
                opts.extend(c.iter().map(|x| x.to_string()));
                for f in &froms {
                    for b in &bys {
                        let mut a = s(&["GEOSEARCH", "g"]);
                        a.extend(f.iter().cloned());
                        a.extend(b.iter().cloned());
                        a.extend(opts.iter().cloned());
                        run(&mut d, &a);
                    }
                }
                let mut a = s(&["GEORADIUS", "g", "13.4", "38.0", "300", "mi"]);
                a.extend(opts.iter().cloned());
                run(&mut d, &a);
                let mut a = s(&["GEORADIUSBYMEMBER_RO", "g", &members[7], "900", "km"]);
                a.extend(opts.iter().cloned());
                run(&mut d, &a);
            }
        }
    }
}

/// Thousands of random searches over a listpack set, a skiplist set and a
/// dense cluster, in RESP2 and RESP3.
#[test]
fn random_searches() {
    let mut d = Diff::new();
    let mut r = SmallRng::seed_from_u64(0x9e0);
    let small = populate(&mut d, &mut r, "small", 60, "s");
    let big = populate(&mut d, &mut r, "big", 500, "b");
    // A dense cluster with many shared positions: big ties for COUNT.
    let mut dense = Vec::new();
    let mut args = s(&["GEOADD", "dense"]);
    for i in 0..300 {
        let (lon, lat) = if i % 3 == 0 {
            (2.35, 48.85)
        } else {
            (2.35 + r.gen_range(-0.05..0.05), 48.85 + r.gen_range(-0.05..0.05))
        };
        args.extend([lon.to_string(), lat.to_string(), format!("d{i}")]);
        dense.push(format!("d{i}"));
    }
    run(&mut d, &args);
    d.check(&["OBJECT", "ENCODING", "small"]);
    d.check(&["OBJECT", "ENCODING", "big"]);
    let mut nonempty = 0;
    for round in 0..2 {
        if round == 1 {
            d.both(&["HELLO", "3"]);
        }
        let n = if round == 0 { 3000 } else { 1000 };
        for i in 0..n {
            let (key, members) = match i % 3 {
                0 => ("small", &small),
                1 => ("big", &big),
                _ => ("dense", &dense),
            };
            let mut q = search(&mut r, key, members);
            if key == "dense" {
                // Searches around the cluster, small enough to matter.
                if q[0] == "GEOSEARCH" && q[2] == "FROMLONLAT" {
                    q[3] = format!("{}", 2.35 + r.gen_range(-0.06..0.06));
                    q[4] = format!("{}", 48.85 + r.gen_range(-0.06..0.06));
                }
                if q[0].starts_with("GEORADIUS") && !q[0].contains("MEMBER") {
                    q[2] = "2.35".into();
                    q[3] = "48.85".into();
                }
            }
            let rep = run(&mut d, &q);
            if matches!(&rep, Resp::Array(Some(v)) if !v.is_empty()) {
                nonempty += 1;
            }
        }
    }
    // The searches find something most of the time (they test something).
    assert!(nonempty > 2500, "only {nonempty} searches found members");
}

/// Members exactly at (or a hair inside/outside) the radius and the box edges.
#[test]
fn members_at_the_edge() {
    let mut d = Diff::new();
    let mut r = SmallRng::seed_from_u64(5);
    let members = populate(&mut d, &mut r, "e", 150, "e");
    for _ in 0..250 {
        let a = &members[r.gen_range(0..members.len())];
        let b = &members[r.gen_range(0..members.len())];
        let dist = match d.check(&["GEODIST", "e", a, b]) {
            Resp::Bulk(Some(v)) => String::from_utf8_lossy(&v).into_owned(),
            _ => continue,
        };
        let dm: f64 = dist.parse().unwrap_or(0.0);
        for radius in [dist.clone(), format!("{}", dm + 0.0001), format!("{}", (dm - 0.0001).max(0.0))] {
            run(&mut d, &s(&["GEOSEARCH", "e", "FROMMEMBER", a, "BYRADIUS", &radius, "m", "ASC", "WITHDIST"]));
            run(&mut d, &s(&["GEORADIUSBYMEMBER", "e", a, &radius, "m", "WITHHASH"]));
            let w = format!("{}", dm * 2.0);
            run(&mut d, &s(&["GEOSEARCH", "e", "FROMMEMBER", a, "BYBOX", &w, &w, "m", "DESC"]));
            run(&mut d, &s(&["GEOSEARCH", "e", "FROMMEMBER", a, "BYBOX", &w, "1", "m", "WITHCOORD"]));
        }
        // Centre exactly on a member's stored coordinates.
        if let Resp::Array(Some(v)) = d.check(&["GEOPOS", "e", a]) {
            if let Some(Resp::Array(Some(xy))) = v.first() {
                let (x, y) = (xy[0].text(), xy[1].text());
                run(&mut d, &s(&["GEORADIUS", "e", &x, &y, &dist, "m", "WITHDIST", "ASC"]));
                run(&mut d, &s(&["GEOSEARCH", "e", "FROMLONLAT", &x, &y, "BYBOX", &dist, &dist, "m", "WITHDIST"]));
            }
        }
    }
}

/// Searches around the poles and across the antimeridian.
#[test]
fn poles_and_antimeridian() {
    let mut d = Diff::new();
    let mut r = SmallRng::seed_from_u64(77);
    let mut args = s(&["GEOADD", "p"]);
    for i in 0..300 {
        let (lon, lat) = match i % 3 {
            0 => (r.gen_range(-180.0..=180.0), r.gen_range(75.0..=85.05112878)),
            1 => (r.gen_range(-180.0..=180.0), -r.gen_range(75.0..=85.05112878)),
            _ => (
                if r.gen_bool(0.5) { r.gen_range(175.0..=180.0) } else { r.gen_range(-180.0..=-175.0) },
                r.gen_range(-60.0..60.0),
            ),
        };
        args.extend([lon.to_string(), lat.to_string(), format!("p{i}")]);
    }
    run(&mut d, &args);
    let mut nonempty = 0;
    for _ in 0..2500 {
        const LAT: f64 = 85.05112878;
        let sign = if r.gen_bool(0.5) { 1.0 } else { -1.0 };
        let (lon, lat) = match r.gen_range(0..6) {
            0 => (r.gen_range(-180.0..=180.0), r.gen_range(70.0..=LAT)),
            1 => (r.gen_range(-180.0..=180.0), -r.gen_range(70.0..=LAT)),
            2 => (180.0 * sign, r.gen_range(-60.0..60.0)),
            3 => (r.gen_range(-180.0..=180.0), LAT * sign),
            4 => (180.0 * sign, LAT * if r.gen_bool(0.5) { 1.0 } else { -1.0 }),
            _ => (r.gen_range(170.0..=180.0) * sign, r.gen_range(-60.0..60.0)),
        };
        let (lon, lat) = (lon.to_string(), lat.to_string());
        let (rad, unit) = radius_in(&mut r, 3.0, 7.0);
        let mut a = match r.gen_range(0..4) {
            0 => s(&["GEOSEARCH", "p", "FROMLONLAT", &lon, &lat, "BYRADIUS", &rad, unit]),
            1 => s(&["GEORADIUS", "p", &lon, &lat, &rad, unit]),
            2 => {
                let m = format!("p{}", r.gen_range(0..300));
                s(&["GEOSEARCH", "p", "FROMMEMBER", &m, "BYRADIUS", &rad, unit])
            }
            _ => {
                let (h, _) = radius_in(&mut r, 3.0, 7.0);
                s(&["GEOSEARCH", "p", "FROMLONLAT", &lon, &lat, "BYBOX", &rad, &h, unit])
            }
        };
        options(&mut r, &mut a);
        if matches!(run(&mut d, &a), Resp::Array(Some(v)) if !v.is_empty()) {
            nonempty += 1;
        }
    }
    assert!(nonempty > 1000, "only {nonempty} searches found members");
}

/// COUNT over many members at the same distance: Redis's partial quicksort
/// and glibc's merge sort decide the order of ties.
#[test]
fn count_with_ties() {
    let mut d = Diff::new();
    let mut args = s(&["GEOADD", "t"]);
    for i in 0..200 {
        let (lon, lat) = match i % 4 {
            0 => (10.0, 10.0),
            1 => (10.001, 10.0),
            2 => (10.0, 10.001),
            _ => (10.0 + (i as f64) * 0.0001, 10.0),
        };
        args.extend([lon.to_string(), lat.to_string(), format!("t{:03}", 199 - i)]);
    }
    run(&mut d, &args);
    for c in [1, 2, 5, 6, 7, 8, 9, 13, 40, 41, 49, 50, 51, 60, 99, 100, 101, 150, 199, 200, 250] {
        for order in ["ASC", "DESC", ""] {
            let mut a =
                s(&["GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "50", "km", "COUNT", &c.to_string()]);
            if !order.is_empty() {
                a.push(order.into());
            }
            run(&mut d, &a);
            let mut b = a.clone();
            b.push("ANY".into());
            run(&mut d, &b);
            run(&mut d, &s(&["GEORADIUSBYMEMBER", "t", "t100", "50", "km", "COUNT", &c.to_string(), "WITHDIST"]));
        }
    }
    for order in ["ASC", "DESC"] {
        run(&mut d, &s(&["GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "50", "km", order]));
    }
}

/// STORE, STOREDIST and GEOSEARCHSTORE: replies, the stored sets (scores,
/// encoding, TTL removed), deleting the destination on an empty result.
#[test]
fn store_variants() {
    let mut d = Diff::new();
    let mut r = SmallRng::seed_from_u64(3);
    let members = populate(&mut d, &mut r, "src", 250, "s");
    for i in 0..300 {
        // Every fifth search stores into its own source (a copy of it).
        let same = i % 5 == 0;
        let (src, dst) = if same { ("srccopy", "srccopy") } else { ("src", "dst") };
        if same {
            d.check(&["COPY", "src", "srccopy", "REPLACE"]);
        }
        if i % 7 == 0 {
            d.check(&["SET", "dst", "old"]);
            d.check(&["EXPIRE", "dst", "1000"]);
        }
        let mut q = search(&mut r, src, &members);
        q.retain(|a| !matches!(a.as_str(), "WITHCOORD" | "WITHDIST" | "WITHHASH"));
        if q[0].ends_with("_RO") {
            q[0] = q[0].trim_end_matches("_RO").to_string();
        }
        if q[0] == "GEOSEARCH" {
            q[0] = "GEOSEARCHSTORE".into();
            q.insert(1, dst.into());
            if r.gen_bool(0.5) {
                q.push("STOREDIST".into());
            }
        } else {
            q.push(if r.gen_bool(0.5) { "STORE" } else { "STOREDIST" }.into());
            q.push(dst.into());
        }
        run(&mut d, &q);
        for k in ["dst", "srccopy"] {
            d.check(&["ZRANGE", k, "0", "-1", "WITHSCORES"]);
            d.check(&["OBJECT", "ENCODING", k]);
            d.check(&["TTL", k]);
        }
    }
    d.check_script(
        "GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 0 m\n\
         EXISTS dst\n\
         GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 0 m\n\
         SET dst x\n\
         GEORADIUS src 0 0 0 m STORE dst\n\
         EXISTS dst\n\
         SET dst x\n\
         GEOSEARCHSTORE dst nokey FROMMEMBER x BYRADIUS 1 m\n\
         EXISTS dst\n\
         SET dst x\n\
         GEORADIUSBYMEMBER nokey x 1 m STOREDIST dst\n\
         EXISTS dst\n\
         GEOADD one 1 1 a\n\
         GEOSEARCHSTORE dst one FROMMEMBER a BYRADIUS 1 m STOREDIST\n\
         ZRANGE dst 0 -1 WITHSCORES\n\
         GEORADIUS src 0 0 20000 km STOREDIST dst STORE dst2 COUNT 3\n\
         ZRANGE dst2 0 -1 WITHSCORES\n\
         EXISTS dst\n\
         CONFIG SET zset-max-listpack-entries 2\n\
         GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 20000 km COUNT 3\n\
         OBJECT ENCODING dst\n\
         GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 20000 km COUNT 2\n\
         OBJECT ENCODING dst\n\
         CONFIG SET zset-max-listpack-value 1\n\
         GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 20000 km COUNT 2 STOREDIST\n\
         OBJECT ENCODING dst\n\
         ZRANGE dst 0 -1 WITHSCORES",
    );
}

/// RESP3: coordinates are doubles, distances stay bulk strings, missing
/// entries are nulls.
#[test]
fn resp3_shapes() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.check_script(
        "GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 0 0 zero\n\
         GEOPOS k Palermo nosuch zero\n\
         GEOPOS nokey a\n\
         GEOHASH k Palermo nosuch\n\
         GEOHASH nokey a\n\
         GEODIST k Palermo Catania\n\
         GEODIST k Palermo nosuch\n\
         GEODIST nokey a b\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD WITHDIST WITHHASH ASC\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 200 km\n\
         GEOSEARCH k FROMLONLAT 15 37 BYRADIUS 1 m\n\
         GEOSEARCH nokey FROMLONLAT 15 37 BYRADIUS 1 m\n\
         GEORADIUS k 15 37 200 km WITHDIST\n\
         GEORADIUSBYMEMBER k zero 100 km WITHCOORD WITHHASH\n\
         GEOSEARCHSTORE d k FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST\n\
         ZRANGE d 0 -1 WITHSCORES",
    );
}

/// Keyspace hits and misses, the dirty counter and command statistics.
#[test]
fn statistics_and_dirty() {
    let mut d = Diff::new();
    d.check_script(
        "GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania\n\
         GEOADD k 13.361389 38.115556 Palermo\n\
         GEOADD k CH 13.5 38.115556 Palermo 1 1 new\n\
         GEOADD k XX 1 1 nosuch\n\
         GEODIST k Palermo Catania\n\
         GEODIST nokey a b\n\
         GEODIST k a b yd\n\
         GEOHASH k Palermo\n\
         GEOHASH nokey a\n\
         GEOPOS k Palermo\n\
         GEOPOS nokey a\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 300 km\n\
         GEOSEARCH nokey FROMMEMBER Palermo BYRADIUS 300 km\n\
         GEORADIUS k 15 37 200 km\n\
         GEORADIUSBYMEMBER k Palermo 200 km STORE d\n\
         GEORADIUSBYMEMBER k Palermo 200 km STORE d\n\
         GEOSEARCHSTORE d2 k FROMMEMBER Palermo BYRADIUS 300 km\n\
         GEOSEARCHSTORE d2 k FROMMEMBER Palermo BYRADIUS 0 km\n\
         GEOSEARCHSTORE d2 k FROMMEMBER Palermo BYRADIUS 0 km\n\
         GEOSEARCHSTORE d3 nokey FROMMEMBER Palermo BYRADIUS 0 km",
    );
    for f in ["keyspace_hits", "keyspace_misses"] {
        d.same_info("stats", f);
    }
    d.same_info("persistence", "rdb_changes_since_last_save");
    for c in ["geoadd", "geodist", "geohash", "geopos", "geosearch", "georadius", "georadiusbymember", "geosearchstore"]
    {
        let field = format!("cmdstat_{c}");
        let strip = |v: String| {
            v.split(",usec=").next().unwrap_or("").to_string()
                + &v.split(",rejected_calls=").nth(1).map(|x| format!(",rejected_calls={x}")).unwrap_or_default()
        };
        let f = strip(info_field(&mut d.f, "commandstats", &field));
        let r = strip(info_field(&mut d.r, "commandstats", &field));
        assert_eq!(f, r, "{field}");
    }
}

/// A client blocked on a sorted set key is served by a store into it.
#[test]
fn store_wakes_blocked_clients() {
    both_servers(|srv| {
        let mut c = srv.conn();
        c.cmd(&["GEOADD", "src", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
        let mut out = Vec::new();
        for store in [
            vec!["GEOSEARCHSTORE", "dst", "src", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            vec!["GEORADIUS", "src", "15", "37", "200", "km", "STOREDIST", "dst"],
            vec!["GEORADIUSBYMEMBER", "src", "Palermo", "500", "km", "STORE", "dst", "DESC", "COUNT", "1"],
            vec!["GEOADD", "dst", "1", "2", "added"],
        ] {
            let mut w = srv.conn();
            w.send(&[b"BZPOPMIN", b"dst", b"0"]);
            settle();
            out.push(c.cmd(&store));
            out.push(w.read());
            out.push(c.cmd(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]));
            c.cmd(&["DEL", "dst"]);
        }
        out
    });
}

/// Keyspace notifications: events (channel, message and order) seen by a
/// pattern subscriber, then the transcript of a RESP3 client subscribed to
/// its own events (the event comes before a store's reply, as in Redis).
#[test]
fn keyspace_notifications() {
    const SCRIPT: &str = "GEOADD k 13.361389 38.115556 Palermo 15.087269 37.502669 Catania\n\
         GEOADD k 13.361389 38.115556 Palermo\n\
         GEOADD k XX 1 1 Palermo\n\
         GEOADD k NX 1 1 Palermo\n\
         GEOADD k 500 1 Palermo\n\
         GEOSEARCH k FROMMEMBER Palermo BYRADIUS 300 km\n\
         GEOSEARCH nokey FROMMEMBER Palermo BYRADIUS 300 km\n\
         GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 30000 km\n\
         GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 30000 km STOREDIST\n\
         GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 0 km\n\
         GEOSEARCHSTORE d k FROMMEMBER Palermo BYRADIUS 0 km\n\
         GEORADIUS k 15 37 20000 km STORE d\n\
         GEORADIUSBYMEMBER k Palermo 20000 km STOREDIST d\n\
         GEORADIUS k 15 37 0 km STORE d\n\
         SET d x\n\
         GEORADIUSBYMEMBER nokey x 1 km STORE d\n\
         GEODIST k Palermo Catania\n\
         GEOPOS nokey a\n\
         GEOHASH nokey a";
    // Pattern subscriber on each server.
    let d = Diff::with(&["--notify-keyspace-events", "KEAnm"]);
    let mut events = Vec::new();
    for srv in [&d.ferrokv, &d.redis] {
        let mut c = srv.conn();
        let mut sub = srv.conn();
        sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        let mut seen = Vec::new();
        for (n, line) in SCRIPT.lines().enumerate() {
            let args = split(line.trim());
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            c.cmd_b(&refs);
            let mark = format!("__keysync__:{n}");
            c.cmd(&["PUBLISH", &mark, "x"]);
            loop {
                let m = sub.read().items();
                let (ch, msg) = (m[2].text(), m[3].text());
                if ch == mark {
                    break;
                }
                seen.push(format!("{n}: {ch} {msg}"));
            }
        }
        events.push(seen);
    }
    assert_eq!(events[0], events[1], "events differ (left ferrokv, right redis)");
    drop(d);

    // A RESP3 client receiving its own events between its replies.
    let d = Diff::with(&["--notify-keyspace-events", "KEAnm"]);
    let mut req = String::from("HELLO 3\r\nPSUBSCRIBE __key*__:*\r\n");
    for line in SCRIPT.lines() {
        let args = split(line.trim());
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        req.push_str(&String::from_utf8_lossy(&Conn::encode(&refs)));
    }
    req.push_str("PING done\r\n");
    let transcript = |port: u16| {
        let mut sock = raw_connect(port);
        sock.write_all(req.as_bytes()).expect("write");
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !got.ends_with(b"+done\r\n") && !got.ends_with(b"$4\r\ndone\r\n") && Instant::now() < deadline {
            let (b, closed) = read_until_quiet(&mut sock, Duration::from_millis(200));
            got.extend_from_slice(&b);
            if closed {
                break;
            }
        }
        let t = String::from_utf8_lossy(&got).into_owned();
        // The HELLO reply carries the client id and server version: skip it.
        t.find(">3\r\n").map(|i| t[i..].to_string()).unwrap_or(t)
    };
    let (f, r) = (transcript(d.ferrokv.port), transcript(d.redis.port));
    assert_eq!(f, r, "RESP3 self-subscribed transcripts differ (left ferrokv, right redis)");
}

/// WATCH sees a store into the destination and GEOADD on the key.
#[test]
fn watch_and_multi() {
    both_servers(|srv| {
        let mut c = srv.conn();
        let mut o = srv.conn();
        c.cmd(&["GEOADD", "k", "1", "1", "a", "2", "2", "b"]);
        let mut out = Vec::new();
        for (watched, write) in [
            ("d", vec!["GEOSEARCHSTORE", "d", "k", "FROMMEMBER", "a", "BYRADIUS", "500", "km"]),
            ("k", vec!["GEOADD", "k", "3", "3", "c"]),
            ("k", vec!["GEOADD", "k", "3", "3", "c"]),
            ("d", vec!["GEORADIUS", "k", "0", "0", "1", "m", "STORE", "nothere"]),
        ] {
            out.push(c.cmd(&["WATCH", watched]));
            out.push(o.cmd(&write));
            out.push(c.cmd(&["MULTI"]));
            out.push(c.cmd(&["GEOPOS", "k", "a", "c"]));
            out.push(c.cmd(&["GEOSEARCH", "k", "FROMLONLAT", "0", "0", "BYRADIUS", "1000", "km", "ASC"]));
            out.push(c.cmd(&["EXEC"]));
        }
        out
    });
}
