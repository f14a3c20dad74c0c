//! `ferrokv-server`: runs the server (see `ferrokv::startup`).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(ferrokv::startup::main());
}
