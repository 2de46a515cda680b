//! The model against queueing theory: `scenarios/mmc.toml` (M/M/3, λ = 2/s, μ = 1/s, no
//! faults) over 10 seeds must agree with Erlang C's mean queue wait and probability of waiting
//! within the 95 % confidence interval of its seeds. About 20 s of CPU in release.

use simrq::queueing::MmcQueue;
use simrq::review::theory::{check_mmc, mmc_of, MMC_SCENARIO};

#[test]
fn mmc_scenario_is_the_queue_it_claims_to_be() {
    let scenario = simrq::scenario::parse(MMC_SCENARIO, "scenarios/mmc.toml").unwrap();
    let queue = mmc_of(&scenario).unwrap();
    assert_eq!(
        queue,
        MmcQueue {
            arrival_per_s: 2.0,
            service_per_s: 1.0,
            servers: 3
        }
    );
    // Erlang C for a = 2 on 3 servers: P(wait) = 4/9, W_q = 4/9 s.
    assert!((queue.probability_of_waiting().unwrap() - 4.0 / 9.0).abs() < 1e-12);
    assert!((queue.mean_wait_s().unwrap() - 4.0 / 9.0).abs() < 1e-12);
}

#[test]
fn mmc_scenario_agrees_with_erlang_c_within_the_confidence_interval() {
    let scratch = tempfile::tempdir().unwrap();
    let check = check_mmc(MMC_SCENARIO, "scenarios/mmc.toml", 10, scratch.path()).unwrap();
    for (name, agreement) in [
        ("mean queue wait (s)", check.mean_wait_s),
        ("P(wait > 10 ms)", check.probability_of_waiting),
        ("worker utilisation", check.utilisation),
    ] {
        println!(
            "{name}: simulated {:.4} ± {:.4}, theory {:.4}",
            agreement.simulated, agreement.ci95, agreement.theory
        );
    }
    assert!(check.mean_wait_s.agrees(), "{:?}", check.mean_wait_s);
    assert!(
        check.probability_of_waiting.agrees(),
        "{:?}",
        check.probability_of_waiting
    );
    assert!(check.utilisation.agrees(), "{:?}", check.utilisation);
    // The interval must be tight enough to mean something: under 10 % of the mean wait.
    assert!(check.mean_wait_s.ci95 < 0.1 * check.mean_wait_s.theory);
}

#[test]
fn one_server_is_the_mm1_queue() {
    let queue = MmcQueue {
        arrival_per_s: 0.8,
        service_per_s: 1.0,
        servers: 1,
    };
    assert!((queue.probability_of_waiting().unwrap() - 0.8).abs() < 1e-12);
    assert!((queue.mean_wait_s().unwrap() - 4.0).abs() < 1e-12);
}

/// One Student's t for every confidence interval (sweeps, `aggregate.json`), checked against
/// a maintained statistics crate for 1…500 degrees of freedom.
#[test]
fn student_t_quantiles_match_statrs() {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    for degrees in 1..=500u64 {
        let exact = StudentsT::new(0.0, 1.0, degrees as f64)
            .unwrap()
            .inverse_cdf(0.975);
        let ours = simrq::queueing::t_975(degrees);
        assert!(
            (ours - exact).abs() < 2e-5,
            "df {degrees}: {ours} vs {exact}"
        );
        assert_eq!(ours, simrq::run::aggregate::student_t_975(degrees));
    }
}
