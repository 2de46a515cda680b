//! The `simrq` command line; see `simrq --help`.
fn main() {
    std::process::exit(simrq::cli::main());
}
