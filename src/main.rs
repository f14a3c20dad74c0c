//! `ferrokv-server`: runs the server (see `ferrokv::startup`).

/// mimalloc, keeping the allocated-bytes counter behind INFO's `used_memory`.
#[global_allocator]
static GLOBAL: ferrokv::alloc::Counting = ferrokv::alloc::Counting;

fn main() {
    std::process::exit(ferrokv::startup::main());
}
