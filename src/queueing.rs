//! Queueing theory for checking the model: the M/M/c queue (Poisson arrivals at rate λ,
//! exponential service at rate μ per server, c servers, one FIFO queue) and Erlang's C formula.
//!
//! ```text
//!   offered load  a = λ / μ          utilisation ρ = a / c   (stable when ρ < 1)
//!   Erlang C      P(wait) = (a^c / c!) · 1/(1-ρ)  /  ( Σ_{k<c} a^k / k!  +  (a^c / c!) · 1/(1-ρ) )
//!   mean wait     W_q = P(wait) / (c·μ − λ)
//! ```
//!
//! A fault-free simrq scenario with these assumptions must agree with these numbers within
//! the confidence interval of its seeds (`tests/queueing.rs`, and a section of the capacity
//! report), so that a reviewer sees the model agree with theory before trusting its fault
//! figures.

/// An M/M/c queue.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MmcQueue {
    /// Arrivals per second (λ).
    pub arrival_per_s: f64,
    /// Services per second of one server (μ = 1 / mean service time).
    pub service_per_s: f64,
    /// Servers (c).
    pub servers: u32,
}

impl MmcQueue {
    /// Offered load a = λ/μ, in Erlangs.
    pub fn offered_load(&self) -> f64 {
        self.arrival_per_s / self.service_per_s
    }

    /// Utilisation of each server, ρ = λ / (c·μ).
    pub fn utilisation(&self) -> f64 {
        self.offered_load() / f64::from(self.servers)
    }

    /// True when the queue does not grow without bound (ρ < 1).
    pub fn is_stable(&self) -> bool {
        self.servers > 0 && self.utilisation() < 1.0
    }

    /// Erlang C: the probability that an arriving job waits (all c servers busy); `None`
    /// when the queue is unstable.
    pub fn probability_of_waiting(&self) -> Option<f64> {
        if !self.is_stable() {
            return None;
        }
        let load = self.offered_load();
        // Terms a^k / k! built incrementally, which stays finite for any realistic c.
        let mut term = 1.0;
        let mut below_c = 0.0;
        for k in 0..self.servers {
            below_c += term;
            term *= load / f64::from(k + 1);
        }
        let waiting = term / (1.0 - self.utilisation());
        Some(waiting / (below_c + waiting))
    }

    /// Mean time in the queue before service starts, W_q = P(wait) / (cμ − λ), in seconds.
    pub fn mean_wait_s(&self) -> Option<f64> {
        let capacity = f64::from(self.servers) * self.service_per_s;
        self.probability_of_waiting()
            .map(|p| p / (capacity - self.arrival_per_s))
    }

    /// P(W_q > t): the wait of a job that waits is exponential with rate cμ − λ.
    pub fn probability_wait_exceeds(&self, t_s: f64) -> Option<f64> {
        let capacity = f64::from(self.servers) * self.service_per_s;
        self.probability_of_waiting()
            .map(|p| p * (-(capacity - self.arrival_per_s) * t_s).exp())
    }

    /// The q-quantile of the queue wait (0 when q ≤ 1 − P(wait)).
    pub fn wait_quantile_s(&self, quantile: f64) -> Option<f64> {
        let capacity = f64::from(self.servers) * self.service_per_s;
        let p_wait = self.probability_of_waiting()?;
        let tail = 1.0 - quantile;
        if tail >= p_wait {
            return Some(0.0);
        }
        Some((p_wait / tail).ln() / (capacity - self.arrival_per_s))
    }
}

/// The two-sided 97.5 % quantile of Student's t with `degrees` degrees of freedom: the factor
/// of a 95 % confidence interval of a mean of `degrees + 1` independent runs. NaN for 0. The
/// one implementation (`run::aggregate::student_t_975`), so sweeps and `aggregate.json` agree.
pub fn t_975(degrees: u64) -> f64 {
    if degrees == 0 {
        return f64::NAN;
    }
    crate::run::aggregate::student_t_975(degrees)
}

/// Mean and half-width of the 95 % confidence interval of `values` (independent runs);
/// the half-width is NaN with fewer than two values.
pub fn mean_ci95(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return Some((mean, f64::NAN));
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half_width = t_975(values.len() as u64 - 1) * (variance / n).sqrt();
    Some((mean, half_width))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(left: f64, right: f64, tolerance: f64) -> bool {
        (left - right).abs() <= tolerance
    }

    #[test]
    fn erlang_c_matches_published_values() {
        // One server: P(wait) = ρ and W_q = ρ / (μ − λ) (M/M/1).
        let mm1 = MmcQueue {
            arrival_per_s: 0.5,
            service_per_s: 1.0,
            servers: 1,
        };
        assert!(close(mm1.probability_of_waiting().unwrap(), 0.5, 1e-12));
        assert!(close(mm1.mean_wait_s().unwrap(), 1.0, 1e-12));
        // Two servers, a = 1: P(wait) = 1/3, W_q = (1/3) / (2 − 1).
        let mm2 = MmcQueue {
            arrival_per_s: 1.0,
            service_per_s: 1.0,
            servers: 2,
        };
        assert!(close(
            mm2.probability_of_waiting().unwrap(),
            1.0 / 3.0,
            1e-12
        ));
        assert!(close(mm2.mean_wait_s().unwrap(), 1.0 / 3.0, 1e-12));
        // A textbook call centre: a = 10 Erlangs on 12 agents, P(wait) ≈ 0.4493.
        let centre = MmcQueue {
            arrival_per_s: 10.0,
            service_per_s: 1.0,
            servers: 12,
        };
        assert!(close(
            centre.probability_of_waiting().unwrap(),
            0.4493,
            5e-4
        ));
    }

    #[test]
    fn unstable_queues_have_no_steady_state() {
        let full = MmcQueue {
            arrival_per_s: 4.0,
            service_per_s: 1.0,
            servers: 4,
        };
        assert_eq!(full.probability_of_waiting(), None);
        assert_eq!(full.mean_wait_s(), None);
    }

    #[test]
    fn quantiles_invert_the_tail() {
        let queue = MmcQueue {
            arrival_per_s: 3.0,
            service_per_s: 1.0,
            servers: 4,
        };
        let p99 = queue.wait_quantile_s(0.99).unwrap();
        assert!(close(
            queue.probability_wait_exceeds(p99).unwrap(),
            0.01,
            1e-12
        ));
        assert_eq!(queue.wait_quantile_s(0.1), Some(0.0));
    }

    #[test]
    fn confidence_interval_uses_student_t() {
        let (mean, half) = mean_ci95(&[1.0, 2.0, 3.0]).unwrap();
        assert!(close(mean, 2.0, 1e-12));
        assert!(close(half, 4.302653 * (1.0f64 / 3.0).sqrt(), 1e-9));
        assert!(mean_ci95(&[5.0]).unwrap().1.is_nan());
    }
}
