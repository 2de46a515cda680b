//! The `rq` command line as an operator runs it against a live system
//! (docs/rq-dependencies-and-operations.md §3): each command is a short process of its own
//! with its own connection, like the CLI, and sends exactly what RQ 2.12's CLI sends.

use crate::cmd;
use crate::net::RedisError;
use crate::rq::env::ProcCtx;
use crate::rq::keys;
use crate::sim::SimDuration;

/// `rq suspend [--duration N]` (`rq/suspension.py suspend`, §3.5): `SET rq:suspended 1`, then,
/// with a duration, a separate `EXPIRE`; workers see it at the top of their next loop.
pub async fn suspend(ctx: &ProcCtx, duration: Option<SimDuration>) -> Result<(), RedisError> {
    ctx.redis.call(cmd!("SET", keys::SUSPENDED, 1)).await?;
    if let Some(duration) = duration {
        let seconds = duration.whole_secs() as i64;
        ctx.redis
            .call(cmd!("EXPIRE", keys::SUSPENDED, seconds))
            .await?;
    }
    Ok(())
}

/// `rq resume` (`rq/suspension.py resume`, §3.5): `DEL rq:suspended`.
pub async fn resume(ctx: &ProcCtx) -> Result<(), RedisError> {
    ctx.redis
        .call(cmd!("DEL", keys::SUSPENDED))
        .await
        .map(|_| ())
}
