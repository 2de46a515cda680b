//! Publish/subscribe: SUBSCRIBE, UNSUBSCRIBE, PUBLISH and PUBSUB NUMSUB, as Redis 7.0 answers
//! them to a RESP2 client. The server keeps who listens to which channel; a PUBLISH leaves
//! one message per subscribed connection in [`Channels::take_published`], and the network
//! carries each over that connection's link, so a message can be late, lost, or never reach a
//! connection that broke (`src/net`).
//!
//! ```text
//!  PUBLISH ch m ─► subscribers of ch (in subscription order) ─► published: [(conn, message)]
//!                                                                   └► network: link verdict
//! ```
//!
//! RQ uses one channel per worker (`rq:pubsub:<worker>`, docs/rq-dependencies-and-operations.md
//! §3.1): the worker subscribes on a connection of its own and the `rq` tools publish to it.
//!
//! Deliberate difference: Redis writes one confirmation per channel of a SUBSCRIBE or
//! UNSUBSCRIBE; the model answers a command with one reply, so for several channels it gives
//! their confirmations back in one array (RQ subscribes to one channel and unsubscribes from
//! all, which is one).

use std::collections::{BTreeMap, HashMap};

use crate::redis::arg::Arg;
use crate::redis::reply::Reply;
use crate::redis::server::ConnId;
use crate::sim::rng::WordBuildHasher;

/// Channels, their subscribers, and the messages published for the network to deliver.
#[derive(Default)]
pub struct Channels {
    /// Each channel's subscribers in the order they subscribed (Redis appends each to the
    /// channel's list of clients and writes messages in that order).
    subscribers: BTreeMap<Arg, Vec<ConnId>>,
    /// Each subscribed connection's channels, in the order it subscribed to them.
    by_conn: HashMap<ConnId, Vec<Arg>, WordBuildHasher>,
    published: Vec<(ConnId, Reply)>,
}

impl Channels {
    /// Whether `conn` listens to at least one channel: a RESP2 connection in that state may
    /// only (un)subscribe and PING.
    pub fn is_subscribed(&self, conn: ConnId) -> bool {
        self.by_conn.contains_key(&conn)
    }

    /// SUBSCRIBE: one confirmation `[subscribe, channel, channels now]` per channel.
    pub fn subscribe(&mut self, conn: ConnId, channels: &[Arg]) -> Reply {
        let confirmations = channels
            .iter()
            .map(|channel| {
                let mine = self.by_conn.entry(conn).or_default();
                if !mine.contains(channel) {
                    mine.push(channel.clone());
                    let listeners = self.subscribers.entry(channel.clone()).or_default();
                    listeners.push(conn);
                }
                let count = self.by_conn.get(&conn).map_or(0, Vec::len);
                confirmation("subscribe", Some(channel), count)
            })
            .collect();
        one_or_array(confirmations)
    }

    /// UNSUBSCRIBE: from the channels named, or without any from every channel of `conn`; one
    /// confirmation per channel, or `[unsubscribe, nil, 0]` when there was none.
    pub fn unsubscribe(&mut self, conn: ConnId, channels: &[Arg]) -> Reply {
        let named: Vec<Arg> = if channels.is_empty() {
            self.by_conn.get(&conn).cloned().unwrap_or_default()
        } else {
            channels.to_vec()
        };
        if named.is_empty() {
            return confirmation("unsubscribe", None, 0);
        }
        let confirmations = named
            .iter()
            .map(|channel| {
                self.remove(conn, channel);
                let count = self.by_conn.get(&conn).map_or(0, Vec::len);
                confirmation("unsubscribe", Some(channel), count)
            })
            .collect();
        one_or_array(confirmations)
    }

    fn remove(&mut self, conn: ConnId, channel: &Arg) {
        if let Some(mine) = self.by_conn.get_mut(&conn) {
            mine.retain(|c| c != channel);
            if mine.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
        if let Some(listeners) = self.subscribers.get_mut(channel) {
            listeners.retain(|c| *c != conn);
            if listeners.is_empty() {
                self.subscribers.remove(channel);
            }
        }
    }

    /// PUBLISH: `[message, channel, payload]` left for each subscriber; the reply is how many
    /// there were, whether or not the message will reach them.
    pub fn publish(&mut self, channel: &Arg, payload: &Arg) -> Reply {
        let Some(listeners) = self.subscribers.get(channel) else {
            return Reply::Int(0);
        };
        for conn in listeners {
            let message = Reply::Array(vec![
                Reply::Bulk(Arg::from("message")),
                Reply::Bulk(channel.clone()),
                Reply::Bulk(payload.clone()),
            ]);
            self.published.push((*conn, message));
        }
        Reply::Int(listeners.len() as i64)
    }

    /// PUBSUB NUMSUB: each channel named and its number of subscribers.
    pub fn numsub(&self, channels: &[Arg]) -> Reply {
        let mut items = Vec::with_capacity(channels.len() * 2);
        for channel in channels {
            let count = self.subscribers.get(channel).map_or(0, Vec::len);
            items.push(Reply::Bulk(channel.clone()));
            items.push(Reply::Int(count as i64));
        }
        Reply::Array(items)
    }

    /// The connection closed: it listens to nothing any more, and what was published for it
    /// and not yet handed to the network is dropped.
    pub fn disconnect(&mut self, conn: ConnId) {
        for channel in self.by_conn.get(&conn).cloned().unwrap_or_default() {
            self.remove(conn, &channel);
        }
        if !self.published.is_empty() {
            self.published.retain(|(to, _)| *to != conn);
        }
    }

    /// The messages published since the last call, in the order Redis writes them.
    pub fn take_published(&mut self) -> Vec<(ConnId, Reply)> {
        std::mem::take(&mut self.published)
    }

    /// Whether a PUBLISH left messages to deliver (checked after every request).
    pub fn has_published(&self) -> bool {
        !self.published.is_empty()
    }
}

fn confirmation(kind: &'static str, channel: Option<&Arg>, count: usize) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Arg::from(kind)),
        channel.map_or(Reply::Nil, |c| Reply::Bulk(c.clone())),
        Reply::Int(count as i64),
    ])
}

fn one_or_array(mut replies: Vec<Reply>) -> Reply {
    if replies.len() == 1 {
        return replies.pop().expect("one reply");
    }
    Reply::Array(replies)
}

/// Redis 7.0's refusal of any other command on a subscribed RESP2 connection; `full_name` is
/// the command's name, `container|sub` for a subcommand.
pub fn only_pubsub_allowed(full_name: &str) -> String {
    format!(
        "Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context"
    )
}

/// PING on a subscribed connection: `[pong, message or ""]` instead of `+PONG`.
pub fn subscribed_ping(args: &[Arg]) -> Reply {
    let message = args.first().cloned().unwrap_or_else(|| Arg::from(""));
    Reply::Array(vec![Reply::Bulk(Arg::from("pong")), Reply::Bulk(message)])
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};

    fn confirmation(kind: &str, channel: Option<&str>, count: i64) -> Reply {
        Reply::Array(vec![
            bulk(kind),
            channel.map_or(Reply::Nil, bulk),
            Reply::Int(count),
        ])
    }

    #[test]
    fn publish_counts_subscribers_and_leaves_one_message_each() {
        let mut s = Server::new();
        let t = crate::sim::SimTime::ZERO;
        assert_eq!(run(&mut s, t, C, &["PUBLISH", "ch", "m"]), Reply::Int(0));
        let subscribed = run(&mut s, t, A, &["SUBSCRIBE", "ch"]);
        assert_eq!(subscribed, confirmation("subscribe", Some("ch"), 1));
        run(&mut s, t, B, &["SUBSCRIBE", "ch"]);
        assert_eq!(run(&mut s, t, C, &["PUBLISH", "ch", "m"]), Reply::Int(2));
        let message = Reply::Array(vec![bulk("message"), bulk("ch"), bulk("m")]);
        let published = s.take_published();
        assert_eq!(published, vec![(A, message.clone()), (B, message)]);
        assert_eq!(
            run(&mut s, t, C, &["PUBSUB", "NUMSUB", "ch", "other"]),
            Reply::Array(vec![
                bulk("ch"),
                Reply::Int(2),
                bulk("other"),
                Reply::Int(0)
            ])
        );
    }

    #[test]
    fn a_disconnect_or_a_restart_drops_subscriptions() {
        let mut s = Server::new();
        let t = crate::sim::SimTime::ZERO;
        run(&mut s, t, A, &["SUBSCRIBE", "ch"]);
        run(&mut s, t, B, &["SUBSCRIBE", "ch"]);
        s.disconnect(A);
        assert_eq!(run(&mut s, t, C, &["PUBLISH", "ch", "m"]), Reply::Int(1));
        s.restart(None);
        assert_eq!(run(&mut s, t, C, &["PUBLISH", "ch", "m"]), Reply::Int(0));
        assert_eq!(
            run(&mut s, t, B, &["GET", "k"]),
            Reply::Nil,
            "B left subscribed mode"
        );
    }

    #[test]
    fn unsubscribe_confirms_each_channel_or_none() {
        let mut s = Server::new();
        let t = crate::sim::SimTime::ZERO;
        let none = run(&mut s, t, A, &["UNSUBSCRIBE"]);
        assert_eq!(none, confirmation("unsubscribe", None, 0));
        let both = run(&mut s, t, A, &["SUBSCRIBE", "a", "b", "a"]);
        let expected =
            [("a", 1), ("b", 2), ("a", 2)].map(|(c, n)| confirmation("subscribe", Some(c), n));
        assert_eq!(both, Reply::Array(expected.to_vec()));
        assert_eq!(
            run(&mut s, t, A, &["UNSUBSCRIBE", "a"]),
            confirmation("unsubscribe", Some("a"), 1)
        );
        assert_eq!(
            run(&mut s, t, A, &["UNSUBSCRIBE"]),
            confirmation("unsubscribe", Some("b"), 0)
        );
        assert_eq!(run(&mut s, t, A, &["GET", "k"]), Reply::Nil);
    }

    #[test]
    fn a_subscribed_connection_may_only_subscribe_unsubscribe_and_ping() {
        let mut s = Server::new();
        let t = crate::sim::SimTime::ZERO;
        run(&mut s, t, A, &["SUBSCRIBE", "ch"]);
        let refused = |name: &str| {
            err(&format!(
                "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / \
                 QUIT / RESET are allowed in this context"
            ))
        };
        assert_eq!(run(&mut s, t, A, &["GET", "k"]), refused("get"));
        assert_eq!(run(&mut s, t, A, &["MULTI"]), refused("multi"));
        assert_eq!(
            run(&mut s, t, A, &["PUBSUB", "NUMSUB"]),
            refused("pubsub|numsub")
        );
        assert_eq!(
            run(&mut s, t, A, &["PUBLISH", "ch", "x", "y"]),
            err("ERR wrong number of arguments for 'publish' command"),
            "arity is checked first"
        );
        assert_eq!(
            run(&mut s, t, A, &["PING"]),
            Reply::Array(vec![bulk("pong"), bulk("")])
        );
        let exec = run(&mut s, t, A, &["EXEC"]);
        let Reply::Error(text) = exec else {
            panic!("{exec:?}")
        };
        assert!(
            text.starts_with("EXECABORT Transaction discarded because of: Can't execute 'exec'")
        );
    }

    #[test]
    fn subscribe_inside_multi_is_queued_and_runs_in_exec() {
        let mut s = Server::new();
        let t = crate::sim::SimTime::ZERO;
        run(&mut s, t, A, &["MULTI"]);
        assert_eq!(
            run(&mut s, t, A, &["SUBSCRIBE", "q"]),
            Reply::Status("QUEUED".into())
        );
        let exec = run(&mut s, t, A, &["EXEC"]);
        assert_eq!(
            exec,
            Reply::Array(vec![confirmation("subscribe", Some("q"), 1)])
        );
        assert_eq!(run(&mut s, t, B, &["PUBLISH", "q", "m"]), Reply::Int(1));
    }
}
