//! `ferrokv-server`: runs the server (see `ferrokv::startup`).

/// mimalloc, wrapped to keep the allocated-bytes counter behind INFO's `used_memory`.
#[global_allocator]
static GLOBAL: ferrokv::server::stats::CountingAlloc<mimalloc::MiMalloc> =
    ferrokv::server::stats::CountingAlloc(mimalloc::MiMalloc);

fn main() {
    std::process::exit(ferrokv::startup::main());
}
