//! The report's section on Redis as it is deployed: what the persistence and failover
//! settings of the sweep cost in jobs lost and jobs run twice, per million jobs, point by
//! point. It appears when the scenario restarts, crashes or fails over Redis, or when the
//! sweep varies a `[redis]` key or a fault's `partition` or `persistence`; under
//! `maxmemory` it adds what memory cost: keys evicted, commands refused, the peak.

use crate::review::doc::Block;
use crate::review::sections::inline;
use crate::review::{short_path, ReportInput};
use crate::scenario::{FaultKind, RedisSpec};

/// The figures of the section's table: (column, `sweep.csv` figure, decimals).
const COLUMNS: [(&str, &str, usize); 4] = [
    ("jobs lost per million", "lost_per_million", 0),
    ("jobs run twice per million", "duplicates_per_million", 0),
    (
        "longest time without a scheduler (s)",
        "longest_scheduler_gap_s",
        1,
    ),
    ("time with two schedulers (s)", "dual_scheduler_s", 1),
];

/// The columns added when the scenario models Redis's memory (`[redis] maxmemory`).
const MEMORY_COLUMNS: [(&str, &str, usize); 3] = [
    ("keys evicted", "redis_evicted_keys", 0),
    ("commands refused (OOM)", "redis_refused_commands", 0),
    ("peak used memory (bytes)", "redis_peak_used_bytes", 0),
];

pub fn redis_section(input: &ReportInput<'_>) -> Vec<Block> {
    let grid = &input.plan.manifest.grid;
    let paths = grid.paths();
    let dimensions: Vec<usize> = (0..paths.len())
        .filter(|&i| is_redis_setting(paths[i]))
        .collect();
    let scenario = &input.plan.base;
    let faults: Vec<String> = scenario
        .faults
        .iter()
        .filter(|f| is_redis_fault(f.kind))
        .map(|f| format!("`{}`", f.kind.name()))
        .collect();
    if dimensions.is_empty() && faults.is_empty() {
        return Vec::new();
    }
    let memory = scenario.redis.maxmemory.is_some();
    let columns: Vec<_> = COLUMNS
        .iter()
        .chain(MEMORY_COLUMNS.iter().filter(|_| memory))
        .collect();
    let mut header = vec!["point".to_string()];
    header.extend(dimensions.iter().map(|&i| short_path(paths[i])));
    header.extend(columns.iter().map(|(name, _, _)| name.to_string()));
    let rows = input
        .data
        .points()
        .into_iter()
        .map(|point| {
            let values = grid.point(point).values;
            let mut row = vec![point.to_string()];
            row.extend(dimensions.iter().map(|&i| values[i].clone()));
            row.extend(
                columns
                    .iter()
                    .map(|(_, figure, decimals)| input.cell(point, figure, *decimals)),
            );
            row
        })
        .collect();
    let faults = if faults.is_empty() {
        "no Redis fault".to_string()
    } else {
        faults.join(", ")
    };
    vec![
        Block::Heading(2, "Redis as deployed".to_string()),
        Block::Paragraph(format!(
            "As written: {}; {faults}. A job is lost when Redis comes back without it \
             while it waited; it runs twice when Redis comes back with it queued again (its \
             pop was lost) or started again (its end was lost). Per million jobs enqueued, \
             mean ± 95 % CI over the point's seeds.",
            setup_in_words(&scenario.redis)
        )),
        Block::Table { header, rows },
    ]
}

fn is_redis_fault(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::RedisRestart | FaultKind::RedisCrash | FaultKind::RedisFailover
    )
}

/// A `--set` path that changes how Redis keeps or hands over its data.
fn is_redis_setting(path: &str) -> bool {
    path.starts_with("redis.") || path.ends_with(".partition") || path.ends_with(".persistence")
}

/// `[redis]`'s persistence and replication in a sentence.
fn setup_in_words(redis: &RedisSpec) -> String {
    let persistence = if redis.appendonly {
        let fsync = redis.appendfsync.unwrap_or_default().name();
        format!("AOF with `appendfsync {fsync}`")
    } else if let Some(every) = redis.snapshot_every {
        format!("an RDB snapshot every {every}")
    } else {
        "no persistence".to_string()
    };
    if redis.replicas == 0 {
        return format!("{persistence}, no replica{}", memory_in_words(redis));
    }
    let discovery = match redis.client_discovery {
        crate::scenario::ClientDiscovery::Sentinel => "through Sentinel",
        crate::scenario::ClientDiscovery::Fixed => "at a fixed address",
    };
    let min_replicas = match redis.min_replicas_to_write {
        0 => String::new(),
        n => format!(", `min-replicas-to-write {n}`"),
    };
    format!(
        "{persistence}, {} replica(s) {} behind, Sentinel's down-after {} and promotion {}, \
         clients {discovery}{min_replicas}{}",
        redis.replicas,
        inline(&redis.replica_lag),
        redis.sentinel_down_after,
        redis.sentinel_promotion,
        memory_in_words(redis),
    )
}

/// `, maxmemory 8mb with allkeys-lru`, or nothing without `maxmemory`.
fn memory_in_words(redis: &RedisSpec) -> String {
    let Some(limit) = redis.maxmemory else {
        return String::new();
    };
    let policy = redis.maxmemory_policy.unwrap_or_default().model().name();
    match limit.0 {
        0 => ", memory measured without a limit".to_string(),
        _ => format!(", `maxmemory {limit}` with `{policy}`"),
    }
}
