//! The link between clients and the Redis server: one-way latency and the faults that a
//! scenario injects, applied through one verdict function.

use crate::sim::{HostId, SimTime};

/// One-way latency of a message: any duration distribution.
pub type Latency = crate::sim::DurationDist;

/// What happens to one request on the link (decided when the client sends it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered after the latency, and so is the reply.
    Pass,
    /// Black-holed: the command never arrives; the client waits for its socket timeout.
    Drop,
    /// Connection refused or reset at once (server down, or the path is cut with a RST).
    Refuse,
    /// The command is applied but the reply is lost: the client sees a connection error.
    LoseReply,
}

/// A link fault in force for a while, on one host's links or on all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFault {
    /// `None`: every client host.
    pub host: Option<HostId>,
    pub verdict: Verdict,
    pub until: SimTime,
}

/// The active link faults.
#[derive(Clone, Debug, Default)]
pub struct LinkFaults {
    faults: Vec<LinkFault>,
}

impl LinkFaults {
    pub fn add(&mut self, fault: LinkFault) {
        self.faults.push(fault);
    }

    /// The verdict for a request from `host` sent at `now`: the first active fault wins.
    pub fn verdict(&mut self, host: HostId, now: SimTime) -> Verdict {
        self.faults.retain(|fault| fault.until > now);
        self.faults
            .iter()
            .find(|fault| fault.host.is_none_or(|h| h == host))
            .map(|fault| fault.verdict)
            .unwrap_or(Verdict::Pass)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{RngStreams, SimDuration};

    #[test]
    fn lognormal_latency_has_the_requested_median() {
        let mut rng = RngStreams::new(1).stream("latency");
        let latency = Latency::LogNormal {
            median: SimDuration::from_millis(10),
            p99: SimDuration::from_millis(100),
        };
        let mut samples: Vec<u64> = (0..20_001).map(|_| latency.sample(&mut rng).0).collect();
        samples.sort_unstable();
        let median_ms = samples[10_000] as f64 / 1_000.0;
        let p99_ms = samples[19_800] as f64 / 1_000.0;
        assert!((median_ms - 10.0).abs() < 0.5, "median {median_ms} ms");
        assert!((p99_ms - 100.0).abs() < 12.0, "p99 {p99_ms} ms");
    }

    #[test]
    fn faults_apply_to_their_host_until_they_end() {
        let mut faults = LinkFaults::default();
        let (a, b) = (HostId(1), HostId(2));
        faults.add(LinkFault {
            host: Some(a),
            verdict: Verdict::Drop,
            until: SimTime::from_secs(10),
        });
        assert_eq!(faults.verdict(a, SimTime::from_secs(5)), Verdict::Drop);
        assert_eq!(faults.verdict(b, SimTime::from_secs(5)), Verdict::Pass);
        assert_eq!(faults.verdict(a, SimTime::from_secs(10)), Verdict::Pass);
        faults.add(LinkFault {
            host: None,
            verdict: Verdict::Refuse,
            until: SimTime::from_secs(20),
        });
        assert_eq!(faults.verdict(b, SimTime::from_secs(15)), Verdict::Refuse);
    }
}
