//! MULTI/EXEC state per connection and the WATCH table.
//!
//! A write to a key marks every connection WATCHing it dirty (Redis's `touchWatchedKey`);
//! so does removing it by expiry. EXEC of a dirty connection, or one whose WATCHed key has
//! expired meanwhile, replies a null array and runs nothing.

use crate::redis::arg::Arg;
use crate::redis::commands::Spec;
use crate::redis::reply::Command;
use crate::redis::server::ConnId;

/// Every WATCH in force, as flat lists rather than maps both ways: RQ watches one key per
/// transaction and few connections are between WATCH and EXEC at any moment, so scanning a
/// few entries is cheap, while maps allocated and freed a node and two key copies per WATCH.
#[derive(Default)]
pub struct WatchTable {
    /// (key, connection) per WATCH, each pair once. Arg keys: RQ's fit inline.
    watches: Vec<(Arg, ConnId)>,
    /// Connections whose watched keys were touched, each once.
    dirty: Vec<ConnId>,
}

impl WatchTable {
    /// `key` was written or removed: its watchers' transactions must fail.
    pub fn touch(&mut self, key: &str) {
        // Most writes happen while nobody WATCHes anything: no key comparison then.
        if self.watches.is_empty() {
            return;
        }
        for (watched, conn) in &self.watches {
            if watched == key && !self.dirty.contains(conn) {
                self.dirty.push(*conn);
            }
        }
    }

    pub fn watch(&mut self, conn: ConnId, key: &str) {
        if !self
            .watches
            .iter()
            .any(|(watched, by)| *by == conn && watched == key)
        {
            self.watches.push((Arg::from(key), conn));
        }
    }

    /// Forgets every WATCH of `conn` and its dirtiness.
    pub fn unwatch_all(&mut self, conn: ConnId) {
        self.dirty.retain(|dirty| *dirty != conn);
        self.watches.retain(|(_, by)| *by != conn);
    }

    pub fn is_dirty(&self, conn: ConnId) -> bool {
        self.dirty.contains(&conn)
    }

    pub fn watched_keys(&self, conn: ConnId) -> impl Iterator<Item = &str> {
        self.watches
            .iter()
            .filter(move |(_, by)| *by == conn)
            .map(|(key, _)| key.as_str())
    }
}

/// The commands a connection queued after MULTI, each with the spec found when it was checked.
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<(&'static Spec, Command)>,
    /// A queued command was unknown or had the wrong number of arguments: EXEC aborts.
    pub aborted: bool,
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Outcome, Reply, Server};
    use crate::sim::SimTime;

    fn pipeline(s: &mut Server, conn: crate::redis::ConnId, commands: &[&[&str]]) -> Vec<Reply> {
        let request: Vec<_> = commands.iter().map(|words| command(words)).collect();
        match s.execute(SimTime::ZERO, conn, &request) {
            Outcome::Replies(replies) => replies,
            Outcome::Blocked { .. } => panic!("blocked"),
        }
    }

    #[test]
    fn multi_exec_queues_and_runs_atomically() {
        let mut s = Server::new();
        let replies = pipeline(
            &mut s,
            A,
            &[
                &["MULTI"],
                &["SET", "k", "v"],
                &["HSET", "k", "f", "v"],
                &["GET", "k"],
                &["EXEC"],
            ],
        );
        let queued = Reply::Status("QUEUED".into());
        assert_eq!(replies[..4], [ok(), queued.clone(), queued.clone(), queued]);
        assert_eq!(
            replies[4],
            Reply::Array(vec![
                ok(),
                err("WRONGTYPE Operation against a key holding the wrong kind of value"),
                bulk("v"),
            ])
        );
    }

    #[test]
    fn protocol_errors() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["EXEC"]), err("ERR EXEC without MULTI"));
        assert_eq!(run0(&mut s, &["DISCARD"]), err("ERR DISCARD without MULTI"));
        run0(&mut s, &["MULTI"]);
        assert_eq!(
            run0(&mut s, &["MULTI"]),
            err("ERR MULTI calls can not be nested")
        );
        assert_eq!(
            run0(&mut s, &["WATCH", "k"]),
            err("ERR WATCH inside MULTI is not allowed")
        );
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(
            run0(&mut s, &["EXEC"]),
            Reply::Array(vec![ok()]),
            "those errors do not abort"
        );
    }

    #[test]
    fn an_arity_or_unknown_command_error_aborts_exec() {
        let mut s = Server::new();
        run0(&mut s, &["MULTI"]);
        run0(&mut s, &["SET", "k", "v"]);
        assert_eq!(
            run0(&mut s, &["SET", "k"]),
            err("ERR wrong number of arguments for 'set' command")
        );
        assert_eq!(
            run0(&mut s, &["EXEC"]),
            err("EXECABORT Transaction discarded because of previous errors.")
        );
        assert_eq!(run0(&mut s, &["GET", "k"]), Reply::Nil);
        run0(&mut s, &["MULTI"]);
        assert_eq!(
            run0(&mut s, &["NOPE", "a", "b"]),
            err("ERR unknown command 'NOPE', with args beginning with: 'a' 'b' ")
        );
        assert!(run0(&mut s, &["EXEC"]).is_error());
    }

    #[test]
    fn a_write_by_another_client_aborts_a_watched_exec() {
        let mut s = Server::new();
        run0(&mut s, &["SET", "k", "1"]);
        run(&mut s, SimTime::ZERO, A, &["WATCH", "k"]);
        run(&mut s, SimTime::ZERO, B, &["SET", "k", "2"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SET", "k", "3"], &["EXEC"]]);
        assert_eq!(replies[2], Reply::NilArray);
        assert_eq!(run0(&mut s, &["GET", "k"]), bulk("2"));
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SET", "k", "3"], &["EXEC"]]);
        assert_eq!(
            replies[2],
            Reply::Array(vec![ok()]),
            "EXEC unwatched everything"
        );
    }

    #[test]
    fn own_writes_before_multi_and_expiry_abort_too() {
        let mut s = Server::new();
        run0(&mut s, &["WATCH", "k"]);
        run0(&mut s, &["SET", "k", "mine"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
        assert_eq!(replies[2], Reply::NilArray);

        run0(&mut s, &["SET", "t", "v", "PX", "10"]);
        run0(&mut s, &["WATCH", "t"]);
        let later = SimTime(20_000);
        s.execute(later, A, &[command(&["MULTI"])]);
        assert_eq!(
            run(&mut s, later, A, &["EXEC"]),
            Reply::NilArray,
            "expired while watched"
        );
    }

    #[test]
    fn a_no_op_write_does_not_abort_and_unwatch_discard_forget() {
        let mut s = Server::new();
        run0(&mut s, &["SADD", "s", "a"]);
        run(&mut s, SimTime::ZERO, A, &["WATCH", "s"]);
        run(&mut s, SimTime::ZERO, B, &["SADD", "s", "a"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SCARD", "s"], &["EXEC"]]);
        assert_eq!(replies[2], Reply::Array(vec![Reply::Int(1)]));

        run(&mut s, SimTime::ZERO, A, &["WATCH", "s"]);
        run(&mut s, SimTime::ZERO, A, &["UNWATCH"]);
        run(&mut s, SimTime::ZERO, B, &["SADD", "s", "b"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SCARD", "s"], &["EXEC"]]);
        assert_eq!(replies[2], Reply::Array(vec![Reply::Int(2)]));

        run(&mut s, SimTime::ZERO, A, &["WATCH", "s"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SADD", "s", "c"], &["DISCARD"]]);
        assert_eq!(replies[2], ok());
        run(&mut s, SimTime::ZERO, B, &["SADD", "s", "d"]);
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["SCARD", "s"], &["EXEC"]]);
        assert_eq!(
            replies[2],
            Reply::Array(vec![Reply::Int(3)]),
            "DISCARD unwatched"
        );
    }

    #[test]
    fn disconnect_forgets_multi_and_watches() {
        let mut s = Server::new();
        run0(&mut s, &["WATCH", "k"]);
        run0(&mut s, &["MULTI"]);
        s.disconnect(A);
        run(&mut s, SimTime::ZERO, B, &["SET", "k", "1"]);
        assert_eq!(run0(&mut s, &["EXEC"]), err("ERR EXEC without MULTI"));
        let replies = pipeline(&mut s, A, &[&["MULTI"], &["GET", "k"], &["EXEC"]]);
        assert_eq!(replies[2], Reply::Array(vec![bulk("1")]));
    }
}
