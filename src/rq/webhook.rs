//! `rq/job.py Job.send_webhooks` and `rq/webhook.py Webhook.send`: after a terminal status
//! is committed, the process that committed it sends each of the job's webhooks for that
//! status with a blocking `urlopen(request, timeout=…)`; errors are logged, never raised
//! (docs/repeat-and-webhooks.md).
//!
//! simrq sends nothing: the sending process is busy for the endpoint's latency, drawn from
//! the stream `webhook/<job>/<execution>/<status>`, capped at the webhook's timeout. A slow
//! endpoint so delays a horse's exit (and its worker's next job), or a worker's main process.

use crate::event::{EventKind, WebhookStatus};
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::sim::{DurationDist, SimDuration};

/// `job.send_webhooks(status)`: one send per webhook of the job for `status`.
pub async fn send_webhooks(ctx: &ProcCtx, job: &Job, status: WebhookStatus) {
    let env = ctx.env.clone();
    let Some(policy) = env
        .classes
        .get(&job.func_name)
        .and_then(|class| class.webhooks.as_ref())
    else {
        return;
    };
    let wanted = match status {
        WebhookStatus::Finished => policy.on_finished,
        WebhookStatus::Failed => policy.on_failed,
    };
    if !wanted {
        return;
    }
    let latency = draw_latency(ctx, &policy.latency, job, status);
    // `urlopen` raises once `timeout` passes without an answer; `send` logs it and returns.
    let timed_out = latency > policy.timeout;
    let took = latency.min(policy.timeout);
    if took > SimDuration::ZERO {
        ctx.sim().sleep(took).await;
    }
    let kind = EventKind::WebhookSent {
        status,
        took,
        timed_out,
    };
    ctx.emit(Some(&job.origin), Some(&job.id), kind);
}

/// One draw of the endpoint's latency from its own stream; a constant draws nothing, so a
/// scenario's other streams never shift.
fn draw_latency(
    ctx: &ProcCtx,
    latency: &DurationDist,
    job: &Job,
    status: WebhookStatus,
) -> SimDuration {
    match latency {
        DurationDist::Constant(span) => *span,
        random => {
            let execution = ctx.env.executions(&job.id);
            let name = format!("webhook/{}/{execution}/{}", job.id, status.name());
            random.sample(&mut ctx.env.streams.stream(&name))
        }
    }
}
