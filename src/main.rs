//! The `simrq` command line; see `simrq --help`.
fn main() {
    std::process::exit(simrq::cli::main());
}

/// mimalloc: the simulation allocates many small strings; it is markedly faster than the
/// system allocator for that pattern (see the README's benchmark figures).
#[global_allocator]
static ALLOCATOR: simrq::alloc::Allocator = simrq::alloc::Allocator;
