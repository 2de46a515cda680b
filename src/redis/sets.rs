//! Sets: SADD, SREM, SMEMBERS, SISMEMBER, SCARD. SMEMBERS replies in byte order; real Redis
//! replies in an unspecified order (sorted only for small integer sets).

use std::collections::BTreeSet;

use crate::redis::arg::Arg;
use crate::redis::keyspace::Db;
use crate::redis::reply::Reply;
use crate::sim::SimTime;

type Set = BTreeSet<Arg>;

pub fn sadd(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let add = |set: &mut Set| {
        args[1..]
            .iter()
            .filter(|m| set.insert((*m).clone()))
            .count()
    };
    let added = match db.update_or_create(now, &args[0], add) {
        Ok(added) => added,
        Err(reply) => return reply,
    };
    if added > 0 {
        db.watch.touch(&args[0]);
    }
    Reply::Int(added as i64)
}

pub fn srem(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    let (removed, emptied) = match db.write::<Set>(now, &args[0]) {
        Ok(Some(set)) => {
            let removed = args[1..].iter().filter(|m| set.remove(m.as_str())).count();
            (removed, set.is_empty())
        }
        Ok(None) => (0, false),
        Err(reply) => return reply,
    };
    if removed > 0 {
        db.modified(&args[0], emptied);
    }
    Reply::Int(removed as i64)
}

pub fn smembers(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Set>(now, &args[0]) {
        Ok(set) => Reply::Array(
            set.iter()
                .flat_map(|s| s.iter())
                .map(|m| Reply::Bulk(m.clone()))
                .collect(),
        ),
        Err(reply) => reply,
    }
}

pub fn sismember(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Set>(now, &args[0]) {
        Ok(set) => Reply::Int(set.is_some_and(|s| s.contains(args[1].as_str())) as i64),
        Err(reply) => reply,
    }
}

pub fn scard(db: &mut Db, now: SimTime, args: &[Arg]) -> Reply {
    match db.read::<Set>(now, &args[0]) {
        Ok(set) => Reply::Int(set.map_or(0, Set::len) as i64),
        Err(reply) => reply,
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};

    #[test]
    fn sadd_srem_smembers_sorted() {
        let mut s = Server::new();
        assert_eq!(run0(&mut s, &["SADD", "s", "b", "a", "b"]), Reply::Int(2));
        assert_eq!(run0(&mut s, &["SADD", "s", "a", "c"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["SMEMBERS", "s"]), bulks(&["a", "b", "c"]));
        assert_eq!(run0(&mut s, &["SISMEMBER", "s", "a"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["SREM", "s", "a", "zz"]), Reply::Int(1));
        assert_eq!(run0(&mut s, &["SCARD", "s"]), Reply::Int(2));
        assert_eq!(run0(&mut s, &["SREM", "s", "b", "c"]), Reply::Int(2));
        assert_eq!(run0(&mut s, &["EXISTS", "s"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["SMEMBERS", "s"]), bulks(&[]));
    }
}
