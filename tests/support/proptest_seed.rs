//! The seed property tests draw their cases from. CI judges the same cases on every run, so a
//! submission cannot fail on a case no earlier run saw; `SIMRQ_PROPTEST_SEED=random` (or a
//! number) draws new ones, which is how to hunt for new bugs.

use proptest::test_runner::RngSeed;

/// The seed CI draws its random cases from.
const DEFAULT_SEED: u64 = 20_261_128;

pub fn rng_seed() -> RngSeed {
    match std::env::var("SIMRQ_PROPTEST_SEED").as_deref() {
        Ok("random") => RngSeed::Random,
        Ok(text) => RngSeed::Fixed(
            text.parse()
                .expect("SIMRQ_PROPTEST_SEED: a number or `random`"),
        ),
        Err(_) => RngSeed::Fixed(DEFAULT_SEED),
    }
}
