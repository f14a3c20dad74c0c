//! Build script: compiles the small C helper used by INCRBYFLOAT (C `long double`
//! arithmetic, which Rust lacks).

fn main() {
    println!("cargo:rerun-if-changed=csrc/longdouble.c");
    cc::Build::new().file("csrc/longdouble.c").warnings(true).compile("ferrokv_longdouble");
}
