//! The `rq` command line as an operator runs it against a live system
//! (docs/rq-dependencies-and-operations.md §3): each command is a short process of its own
//! with its own connection, like the CLI, and sends exactly what RQ 2.12's CLI sends.

use std::rc::Rc;

use crate::cmd;
use crate::event::Name;
use crate::net::RedisError;
use crate::rq::env::{ProcCtx, RqEnv};
use crate::rq::keys;
use crate::sim::{HostId, Pid, SimDuration};

/// A command an operator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// `rq suspend`, with `--duration` when given.
    Suspend(Option<SimDuration>),
    Resume,
}

impl OperatorCommand {
    /// The command line, as the operator types it.
    pub fn text(self) -> String {
        match self {
            OperatorCommand::Suspend(Some(span)) => {
                format!("rq suspend --duration {}", span.whole_secs())
            }
            OperatorCommand::Suspend(None) => "rq suspend".to_string(),
            OperatorCommand::Resume => "rq resume".to_string(),
        }
    }
}

/// Runs `command` now as a short process of its own on `host`; a Redis error is reported as a
/// `redis_error` event and makes the process exit 1.
pub fn spawn(env: &Rc<RqEnv>, host: HostId, command: OperatorCommand) -> Pid {
    let text = command.text();
    let name = Name::from(format!("operator/{text}").as_str());
    let ctx = ProcCtx::new(env, &Name::from("operator"), &name, host);
    env.sim.spawn(host, &name, None, async move {
        let result = match command {
            OperatorCommand::Suspend(duration) => suspend(&ctx, duration).await,
            OperatorCommand::Resume => resume(&ctx).await,
        };
        if let Err(error) = &result {
            ctx.redis_error("operator", &text, error);
        }
        i32::from(result.is_err())
    })
}

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
