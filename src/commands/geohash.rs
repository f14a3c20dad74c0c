//! The geohash arithmetic behind the GEO commands, step for step as Redis 7.0
//! computes it, so that scores, decoded positions, distances and the set of
//! cells a search visits are bit-identical to Redis's.
//!
//! A position is stored as a sorted-set score: the longitude and latitude,
//! each scaled to a 26-bit cell index over -180..180 and -85.05112878..85.05112878
//! (Web Mercator's latitude limits), interleaved into 52 bits (latitude bits in
//! the even positions, longitude in the odd ones). Decoding returns the centre
//! of the cell. Distances are haversine great-circle distances on a sphere of
//! radius 6372797.560856 m. A search picks a cell size (`step`) from the
//! radius, takes the cell of the centre and its 8 neighbours, drops the
//! neighbours the search shape cannot reach, and scans each cell's score range.
//! GEOHASH's strings re-encode the decoded position over the standard
//! -90..90 latitude range in base32.

use std::f64::consts::PI;

pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate in a stored score.
pub const STEP_MAX: u8 = 26;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = PI / 180.0;

#[inline]
fn deg_rad(a: f64) -> f64 {
    a * D_R
}

#[inline]
fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// An interval of one coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A geohash cell: `step` bits per coordinate, interleaved in `bits`.
/// `step == 0 && bits == 0` is the "excluded" marker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hash {
    pub bits: u64,
    pub step: u8,
}

impl Hash {
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// The rectangle a cell covers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// The 8 cells around a cell.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neighbors {
    pub north: Hash,
    pub east: Hash,
    pub west: Hash,
    pub south: Hash,
    pub north_east: Hash,
    pub south_east: Hash,
    pub north_west: Hash,
    pub south_west: Hash,
}

/// The search shape: centre, and a radius or a box (in `unit`s; `conversion`
/// is metres per unit).
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub conversion: f64,
    pub kind: ShapeKind,
}

#[derive(Clone, Copy, Debug)]
pub enum ShapeKind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// The cells to scan for a search: the centre cell and its neighbours (some
/// zeroed when the shape cannot reach them).
#[derive(Clone, Copy, Debug)]
pub struct SearchCells {
    pub hash: Hash,
    pub neighbors: Neighbors,
}

impl SearchCells {
    /// In the order Redis scans them: centre, N, S, E, W, NE, NW, SE, SW.
    pub fn in_scan_order(&self) -> [Hash; 9] {
        let n = &self.neighbors;
        [self.hash, n.north, n.south, n.east, n.west, n.north_east, n.north_west, n.south_east, n.south_west]
    }
}

/// Spreads the low 32 bits of `x` to the even bit positions and those of `y`
/// to the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse: even bits into the low 32 bits, odd bits into the high 32.
fn deinterleave64(v: u64) -> u64 {
    fn squeeze(v: u64) -> u64 {
        let mut v = v & 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF;
        v
    }
    squeeze(v) | (squeeze(v >> 1) << 32)
}

/// The coordinate ranges positions are stored in.
pub const WGS84: (Range, Range) = (Range { min: LON_MIN, max: LON_MAX }, Range { min: LAT_MIN, max: LAT_MAX });

/// C's conversion of a non-negative double to `uint32_t` (truncation; the
/// values here are at most 2^32).
#[inline]
fn to_u32(v: f64) -> u32 {
    v as u32
}

/// Encodes a position into a cell of `step` bits per coordinate over the
/// given ranges (None outside the supported coordinates or the ranges).
pub fn encode(lon_range: Range, lat_range: Range, lon: f64, lat: f64, step: u8) -> Option<Hash> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_range.min || lat > lat_range.max || lon < lon_range.min || lon > lon_range.max {
        return None;
    }
    let mut lat_offset = (lat - lat_range.min) / (lat_range.max - lat_range.min);
    let mut lon_offset = (lon - lon_range.min) / (lon_range.max - lon_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    lon_offset *= scale;
    Some(Hash { bits: interleave64(to_u32(lat_offset), to_u32(lon_offset)), step })
}

/// The score of a position (52 bits, as GEOADD stores it).
pub fn encode_score(lon: f64, lat: f64) -> Option<u64> {
    encode(WGS84.0, WGS84.1, lon, lat, STEP_MAX).map(align52)
}

/// The rectangle of a cell.
pub fn decode(lon_range: Range, lat_range: Range, hash: Hash) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let lon_scale = lon_range.max - lon_range.min;
    let ilat = sep as u32;
    let ilon = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    Some(Area {
        lat: Range {
            min: lat_range.min + (ilat as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilat.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        lon: Range {
            min: lon_range.min + (ilon as f64 * 1.0 / div) * lon_scale,
            max: lon_range.min + (ilon.wrapping_add(1) as f64 * 1.0 / div) * lon_scale,
        },
    })
}

/// The centre of a cell, clamped to the supported coordinates.
fn area_center(a: &Area) -> (f64, f64) {
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// C's `(uint64_t)` of a double as x86-64 compilers emit it (values from
/// 2^63 up via a subtraction; out-of-range and NaN give the "indefinite").
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d < TWO63 || d.is_nan() {
        c_double_to_i64(d) as u64
    } else {
        (c_double_to_i64(d - TWO63) as u64) ^ (1u64 << 63)
    }
}

/// C's `(long long)` of a double on x86-64 (`cvttsd2si`: truncation, and
/// i64::MIN for NaN and values out of range).
pub fn c_double_to_i64(d: f64) -> i64 {
    if d.is_nan() || !(-9223372036854775808.0..9223372036854775808.0).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// The position a score stands for (Redis's `decodeGeohash`).
pub fn score_to_lonlat(score: f64) -> (f64, f64) {
    let hash = Hash { bits: c_double_to_u64(score), step: STEP_MAX };
    match decode(WGS84.0, WGS84.1, hash) {
        Some(a) => area_center(&a),
        None => (0.0, 0.0),
    }
}

/// The 11-character base32 geohash of a score (standard latitude range).
pub fn score_to_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = score_to_lonlat(score);
    let std_lat = Range { min: -90.0, max: 90.0 };
    let bits = encode(WGS84.0, std_lat, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

/// Longitude bits of an interleaved hash (the even ones from the top).
const X_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
/// Latitude bits.
const Y_BITS: u64 = 0x5555_5555_5555_5555;

/// Moves a cell one step along the axis whose bits are `axis` (`X_BITS`:
/// east for `d > 0`, west below; `Y_BITS`: north / south), wrapping around:
/// the other axis's bits are set so the carry runs through them.
fn move_axis(h: &mut Hash, d: i8, axis: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - h.step as u32 * 2;
    let mut v = h.bits & axis;
    let keep = h.bits & !axis;
    let zz = !axis >> shift;
    if d > 0 {
        v = v.wrapping_add(zz + 1);
    } else {
        v |= zz;
        v = v.wrapping_sub(zz + 1);
    }
    v &= axis >> shift;
    h.bits = v | keep;
}

fn moved(h: &Hash, dx: i8, dy: i8) -> Hash {
    let mut n = *h;
    move_axis(&mut n, dx, X_BITS);
    move_axis(&mut n, dy, Y_BITS);
    n
}

/// The 8 neighbours of a cell (`step` must be 1..=32).
pub fn neighbors(h: &Hash) -> Neighbors {
    Neighbors {
        east: moved(h, 1, 0),
        west: moved(h, -1, 0),
        south: moved(h, 0, -1),
        north: moved(h, 0, 1),
        north_west: moved(h, -1, 1),
        north_east: moved(h, 1, 1),
        south_east: moved(h, 1, -1),
        south_west: moved(h, -1, -1),
    }
}

/// A cell's bits shifted to the 52-bit score scale.
pub fn align52(h: Hash) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

/// The score range `[min, max)` holding every position inside a cell.
pub fn score_range(h: Hash) -> (f64, f64) {
    let min = align52(h);
    let max = align52(Hash { bits: h.bits.wrapping_add(1), step: h.step });
    (min as f64, max as f64)
}

/// The cell size (bits per coordinate) for a search of this radius around
/// this latitude.
fn estimate_steps(range_meters: f64, lat: f64) -> i32 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26)
}

/// The longitude/latitude bounds of the shape: [min lon, min lat, max lon, max lat].
fn bounding_box(s: &Shape) -> [f64; 4] {
    let (height, width) = match s.kind {
        ShapeKind::Radius(r) => (s.conversion * r, s.conversion * r),
        ShapeKind::Box { width, height } => (s.conversion * (height / 2.0), s.conversion * (width / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let lon_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(s.lat + lat_delta).cos());
    let lon_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(s.lat - lat_delta).cos());
    // The box is a trapezoid whose wide side is towards the equator.
    let southern = s.lat < 0.0;
    let lon_delta = if southern { lon_delta_bottom } else { lon_delta_top };
    [s.lon - lon_delta, s.lat - lat_delta, s.lon + lon_delta, s.lat + lat_delta]
}

/// The cells a search of shape `s` scans (Redis's
/// `geohashCalculateAreasByShapeWGS84`).
pub fn search_cells(s: &Shape) -> SearchCells {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(s);
    let (lon, lat) = (s.lon, s.lat);
    let radius_meters = match s.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box { width, height } => ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt(),
    } * s.conversion;
    let mut steps = estimate_steps(radius_meters, lat);
    let (lon_range, lat_range) = WGS84;
    let cell = |steps: i32| {
        let hash = encode(lon_range, lat_range, lon, lat, steps as u8).unwrap_or(Hash { bits: 0, step: steps as u8 });
        let nb = neighbors(&hash);
        let area = decode(lon_range, lat_range, hash).unwrap_or_default();
        (hash, nb, area)
    };
    let (mut hash, mut nb, mut area) = cell(steps);
    // A step too fine for the shape: the neighbours do not reach its bounds.
    let edge = |h: Hash| decode(lon_range, lat_range, h).unwrap_or_default();
    let decrease = edge(nb.north).lat.max < max_lat
        || edge(nb.south).lat.min > min_lat
        || edge(nb.east).lon.max < max_lon
        || edge(nb.west).lon.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, nb, area) = cell(steps);
    }
    // Neighbours beyond the shape's bounds are not scanned.
    if steps >= 2 {
        let zero = Hash::default();
        if area.lat.min < min_lat {
            nb.south = zero;
            nb.south_west = zero;
            nb.south_east = zero;
        }
        if area.lat.max > max_lat {
            nb.north = zero;
            nb.north_east = zero;
            nb.north_west = zero;
        }
        if area.lon.min < min_lon {
            nb.west = zero;
            nb.south_west = zero;
            nb.north_west = zero;
        }
        if area.lon.max > max_lon {
            nb.east = zero;
            nb.south_east = zero;
            nb.north_east = zero;
        }
    }
    SearchCells { hash, neighbors: nb }
}

/// Haversine great-circle distance in metres.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The distance from the shape's centre to a position, when the position is
/// inside the shape.
pub fn distance_if_inside(s: &Shape, lon: f64, lat: f64) -> Option<f64> {
    match s.kind {
        ShapeKind::Radius(r) => {
            let d = distance(s.lon, s.lat, lon, lat);
            if d > r * s.conversion {
                None
            } else {
                Some(d)
            }
        }
        ShapeKind::Box { width, height } => {
            let (width_m, height_m) = (width * s.conversion, height * s.conversion);
            let lon_distance = distance(lon, lat, s.lon, lat);
            let lat_distance = distance(lon, lat, lon, s.lat);
            if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
                None
            } else {
                Some(distance(s.lon, s.lat, lon, lat))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrip() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ff_ffff, 0x155_5555), (u32::MAX, 7)] {
            let v = interleave64(x, y);
            let s = deinterleave64(v);
            assert_eq!(s as u32, x);
            assert_eq!((s >> 32) as u32, y);
        }
    }

    #[test]
    fn known_scores_and_strings() {
        // Redis: GEOADD k 13.361389 38.115556 Palermo -> 3479099956230698, "sqc8b49rny0".
        let s = encode_score(13.361389, 38.115556).unwrap_or(0);
        assert_eq!(s, 3479099956230698);
        assert_eq!(&score_to_string(s as f64), b"sqc8b49rny0");
        assert_eq!(encode_score(180.0, LAT_MAX), Some(3 << 52));
        assert_eq!(encode_score(-180.0, LAT_MIN), Some(0));
        assert_eq!(encode_score(180.1, 0.0), None);
    }

    #[test]
    fn c_conversions() {
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(f64::INFINITY), 0);
        assert_eq!(c_double_to_u64(1e19), 10000000000000000000);
        assert_eq!(c_double_to_i64(1e19), i64::MIN);
        assert_eq!(c_double_to_i64(-2.5), -2);
    }
}
