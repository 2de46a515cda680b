//! Network and Redis server faults at the level the RQ model sees them (rq-semantics §7).

use std::cell::RefCell;
use std::rc::Rc;

use simrq::cmd;
use simrq::net::{
    Client, ClientSettings, Latency, LinkFault, Network, RedisError, Restore, Verdict,
};
use simrq::sim::{RngStreams, Sim, SimDuration, SimTime};

fn world() -> (Sim, Network) {
    let sim = Sim::new();
    let _server = sim.add_host();
    let latency = Latency::Constant(SimDuration::from_millis(1));
    let network = Network::new(&sim, latency, RngStreams::new(1).stream("net"));
    (sim, network)
}

type Log = Rc<RefCell<Vec<String>>>;

/// Runs `body` as a client process on a new host and returns what it logged.
fn client_process<F, Fut>(sim: &Sim, network: &Network, settings: ClientSettings, body: F) -> Log
where
    F: FnOnce(Sim, Client, Log) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let host = sim.add_host();
    let log: Log = Rc::default();
    let client = Client::new(network, host, settings, RngStreams::new(1).stream("client"));
    let (s, l) = (sim.clone(), log.clone());
    sim.spawn(host, "client", None, async move {
        body(s, client, l).await;
        0
    });
    log
}

/// redis-py's defaults with a socket timeout of `limit`.
fn with_socket_timeout(limit: SimDuration) -> ClientSettings {
    ClientSettings {
        socket_timeout: Some(limit),
        ..Default::default()
    }
}

fn note(log: &Log, sim: &Sim, what: impl std::fmt::Display) {
    log.borrow_mut().push(format!("{}@{}", what, sim.now()));
}

/// A dropped request is never answered: the client raises TimeoutError at its socket timeout.
#[test]
fn a_dropped_command_times_out_at_the_socket_timeout() {
    let (sim, network) = world();
    let settings = with_socket_timeout(SimDuration::from_secs(415));
    network.add_link_fault(LinkFault {
        host: None,
        verdict: Verdict::Drop,
        until: SimTime::from_secs(1),
    });
    let log = client_process(&sim, &network, settings, |sim, client, log| async move {
        let reply = client.call(cmd!("SET", "k", "v")).await;
        note(&log, &sim, format!("{reply:?}"));
    });
    sim.run_until(SimTime::from_secs(1_000));
    // Connecting is black-holed too: redis-py's connect timeout (5 s) raises TimeoutError.
    assert_eq!(
        *log.borrow(),
        [format!("{:?}@5.000000", Err::<(), _>(RedisError::Timeout))]
    );
}

/// A lost reply: Redis applied the command, the client sees a ConnectionError (§7).
#[test]
fn a_lost_reply_is_an_error_although_the_command_was_applied() {
    let (sim, network) = world();
    let log = client_process(
        &sim,
        &network,
        ClientSettings::default(),
        |sim, client, log| async move {
            client.call(cmd!("PING")).await.unwrap();
            sim.sleep(SimDuration::from_secs(10)).await;
            let reply = client.call(cmd!("SET", "k", "v")).await;
            note(&log, &sim, format!("{reply:?}"));
        },
    );
    sim.run_until(SimTime::from_secs(5));
    network.add_link_fault(LinkFault {
        host: None,
        verdict: Verdict::LoseReply,
        until: SimTime::from_secs(20),
    });
    sim.run_until(SimTime::from_secs(30));
    assert_eq!(
        *log.borrow(),
        [format!(
            "{:?}@10.004000",
            Err::<(), _>(RedisError::Connection)
        )]
    );
    assert_eq!(network.peek_string("k").as_deref(), Some("v"));
}

/// With redis-py retries (host/port clients, §2) the same lost reply is re-sent and succeeds.
#[test]
fn client_retries_resend_after_a_lost_reply() {
    let (sim, network) = world();
    let settings = ClientSettings {
        retries: 10,
        ..Default::default()
    };
    network.add_link_fault(LinkFault {
        host: None,
        verdict: Verdict::LoseReply,
        until: SimTime(1_500),
    });
    let log = client_process(&sim, &network, settings, |sim, client, log| async move {
        let reply = client.call(cmd!("RPUSH", "q", "j1")).await;
        note(&log, &sim, format!("{reply:?}"));
    });
    sim.run_until(SimTime::from_secs(10));
    let logged = log.borrow()[0].clone();
    assert!(logged.starts_with("Ok(Int(2))"), "{logged}");
    // The push was applied twice: the ambiguity behind §9 R7.
    assert_eq!(network.with_server(|s| s.peek_list_len(sim.now(), "q")), 2);
}

/// A retry after a socket timeout while the first copy still waits at a paused server: both
/// copies run when it resumes, and the client reads the second one's reply.
#[test]
fn a_timed_out_transaction_is_resent_while_its_first_copy_is_still_in_transit() {
    let (sim, network) = world();
    let settings = ClientSettings {
        socket_timeout: Some(SimDuration::from_secs(1)),
        retries: 1,
        ..Default::default()
    };
    network.pause_server(SimDuration::from_millis(1_500));
    let log = client_process(&sim, &network, settings, |sim, client, log| async move {
        let replies = client.transaction(vec![cmd!("RPUSH", "q", "j1")]).await;
        note(&log, &sim, format!("{replies:?}"));
        let length = client.call(cmd!("LLEN", "q")).await;
        note(&log, &sim, format!("{length:?}"));
    });
    sim.run_until(SimTime::from_secs(10));
    assert_eq!(
        *log.borrow(),
        ["Ok([Int(2)])@1.501000", "Ok(Int(2))@1.503000"]
    );
}

/// A `refuse` fault resets open connections: a pending BLMOVE fails at once (§7).
#[test]
fn a_refuse_fault_resets_a_pending_blocking_pop() {
    let (sim, network) = world();
    let settings = with_socket_timeout(SimDuration::from_secs(415));
    let log = client_process(&sim, &network, settings, |sim, client, log| async move {
        let reply = client
            .call(cmd!("BLMOVE", "q", "q:i", "LEFT", "RIGHT", 405))
            .await;
        note(&log, &sim, format!("{reply:?}"));
    });
    sim.run_until(SimTime::from_secs(10));
    network.add_link_fault(LinkFault {
        host: None,
        verdict: Verdict::Refuse,
        until: SimTime::from_secs(20),
    });
    sim.run_until(SimTime::from_secs(30));
    assert_eq!(
        *log.borrow(),
        [format!(
            "{:?}@10.001000",
            Err::<(), _>(RedisError::Connection)
        )]
    );
}

/// A paused server answers late; the client waits (its socket timeout is longer).
#[test]
fn a_paused_server_answers_when_it_resumes() {
    let (sim, network) = world();
    let log = client_process(
        &sim,
        &network,
        ClientSettings::default(),
        |sim, client, log| async move {
            sim.sleep(SimDuration::from_secs(2)).await;
            let reply = client.call(cmd!("PING")).await;
            note(&log, &sim, format!("{reply:?}"));
        },
    );
    sim.run_until(SimTime::from_secs(1));
    network.pause_server(SimDuration::from_secs(30));
    sim.run_until(SimTime::from_secs(60));
    assert_eq!(*log.borrow(), ["Ok(Status(\"PONG\"))@31.001000"]);
}

/// Restarts: nothing survives without persistence, everything with AOF, the last snapshot
/// with RDB (§7 "Redis restart").
#[test]
fn restarts_keep_what_their_persistence_keeps() {
    for (restore, expected) in [
        (Restore::Nothing, None),
        (Restore::Everything, Some("new")),
        (Restore::LastSnapshot, Some("old")),
    ] {
        let (sim, network) = world();
        let log = client_process(
            &sim,
            &network,
            ClientSettings::default(),
            |sim, client, _| async move {
                client.call(cmd!("SET", "k", "old")).await.unwrap();
                sim.sleep(SimDuration::from_secs(10)).await;
                client.call(cmd!("SET", "k", "new")).await.unwrap();
            },
        );
        sim.run_until(SimTime::from_secs(5));
        network.snapshot_every(SimDuration::ZERO);
        sim.run_until(SimTime::from_secs(20));
        network.restart_server(SimDuration::from_secs(1), restore.clone());
        sim.run_until(SimTime::from_secs(30));
        assert!(log.borrow().is_empty());
        assert_eq!(network.peek_string("k").as_deref(), expected, "{restore:?}");
    }
}

// ----- publish/subscribe over the network -------------------------------------------------

/// A subscriber that listens for `listen_s` seconds after subscribing to `ch`, logging each
/// message (or error) with its arrival time.
fn subscriber(sim: &Sim, network: &Network, listen_s: u64) -> (Log, simrq::sim::HostId) {
    let host = sim.add_host();
    let log: Log = Rc::default();
    let client = Client::new(
        network,
        host,
        ClientSettings::default(),
        RngStreams::new(1).stream("subscriber"),
    );
    let (s, l) = (sim.clone(), log.clone());
    sim.spawn(host, "subscriber", None, async move {
        client.call(cmd!("SUBSCRIBE", "ch")).await.unwrap();
        let until = s.now() + SimDuration::from_secs(listen_s);
        while s.now() < until {
            match client.next_message(until.since(s.now())).await {
                Ok(Some(message)) => {
                    let payload = message.as_array().and_then(|m| m.last()?.as_str());
                    note(&l, &s, format!("{payload:?}"))
                }
                Ok(None) => {}
                Err(error) => {
                    note(&l, &s, error);
                    break;
                }
            }
        }
        0
    });
    (log, host)
}

/// Publishes `payload` on `ch` at `at_s` and logs PUBLISH's reply.
fn publish_at(sim: &Sim, network: &Network, at_s: u64, payload: &'static str) -> Log {
    client_process(
        sim,
        network,
        ClientSettings::default(),
        move |sim, client, log| async move {
            sim.sleep(SimDuration::from_secs(at_s)).await;
            let receivers = client.call(cmd!("PUBLISH", "ch", payload)).await;
            note(&log, &sim, format!("{receivers:?}"));
        },
    )
}

/// PUBLISH counts the subscriber; the message reaches it one latency after Redis ran the
/// PUBLISH (1 ms there, 1 ms back for the reply, 1 ms to the subscriber).
#[test]
fn a_published_message_reaches_a_subscriber_one_latency_later() {
    let (sim, network) = world();
    let (messages, _) = subscriber(&sim, &network, 10);
    let published = publish_at(&sim, &network, 1, "hello");
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(*published.borrow(), ["Ok(Int(1))@1.002000"]);
    assert_eq!(*messages.borrow(), ["Some(\"hello\")@1.002000"]);
}

/// A refused (reset) subscriber connection: Redis forgets the subscription at once, so a
/// PUBLISH finds no one (0, the message is lost), and the subscriber's read fails.
#[test]
fn a_reset_subscriber_is_not_counted_and_its_read_fails() {
    let (sim, network) = world();
    let (messages, host) = subscriber(&sim, &network, 10);
    let published = publish_at(&sim, &network, 2, "lost");
    let net = network.clone();
    sim.schedule_at(SimTime::from_secs(1), move |_| {
        net.add_link_fault(LinkFault {
            host: Some(host),
            verdict: Verdict::Refuse,
            until: SimTime::from_secs(3),
        })
    });
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(*published.borrow(), ["Ok(Int(0))@2.002000"]);
    assert_eq!(*messages.borrow(), ["ConnectionError@1.001000"]);
}

/// A black-holed subscriber is still subscribed (PUBLISH counts it) but the message is lost
/// on the way; once the partition is over, messages arrive again.
#[test]
fn a_message_published_into_a_partition_is_lost() {
    let (sim, network) = world();
    let (messages, host) = subscriber(&sim, &network, 10);
    let net = network.clone();
    sim.schedule_at(SimTime::from_secs(1), move |_| {
        net.add_link_fault(LinkFault {
            host: Some(host),
            verdict: Verdict::Drop,
            until: SimTime::from_secs(3),
        })
    });
    let during = publish_at(&sim, &network, 2, "during");
    let after = publish_at(&sim, &network, 4, "after");
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(*during.borrow(), ["Ok(Int(1))@2.002000"]);
    assert_eq!(*after.borrow(), ["Ok(Int(1))@4.002000"]);
    assert_eq!(*messages.borrow(), ["Some(\"after\")@4.002000"]);
}

/// A Redis restart drops every subscription: the subscriber's read fails and a PUBLISH after
/// the restart finds no one.
#[test]
fn a_redis_restart_drops_subscriptions() {
    let (sim, network) = world();
    let (messages, _) = subscriber(&sim, &network, 10);
    let published = publish_at(&sim, &network, 3, "lost");
    let net = network.clone();
    sim.schedule_at(SimTime::from_secs(1), move |_| {
        net.restart_server(SimDuration::from_secs(1), Restore::Everything)
    });
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(*published.borrow(), ["Ok(Int(0))@3.002000"]);
    assert_eq!(*messages.borrow(), ["ConnectionError@1.001000"]);
}

/// The socket timeout races the reply (rq-semantics §7: redis-py raises TimeoutError when no
/// reply came within `socket_timeout`). With 1 ms each way the reply lands 2 ms after the
/// send: a 3 ms timeout reads it, and a 2 ms one times out, because the timeout was set when
/// the request was sent and so comes first among the events of that instant.
#[test]
fn a_reply_landing_at_the_socket_timeout_loses_the_race() {
    for (timeout_ms, expected) in [
        (3, "Ok@0.002000".to_string()),
        (2, format!("{:?}@0.002000", RedisError::Timeout)),
    ] {
        let (sim, network) = world();
        let settings = with_socket_timeout(SimDuration::from_millis(timeout_ms));
        let log = client_process(&sim, &network, settings, |sim, client, log| async move {
            let reply = client.call(cmd!("SET", "k", "v")).await;
            note(&log, &sim, outcome(&reply));
        });
        sim.run_until(SimTime::from_secs(1));
        assert_eq!(*log.borrow(), [expected], "socket timeout {timeout_ms} ms");
    }
}

/// A reply that landed before the socket timeout is read even if the client only runs again
/// after it (its pod was stopped meanwhile): the reply is there, so no TimeoutError.
#[test]
fn a_reply_that_landed_while_the_client_was_stopped_is_read_after_the_deadline() {
    let (sim, network) = world();
    let settings = with_socket_timeout(SimDuration::from_millis(10));
    let host = sim.add_host();
    let log: Log = Rc::default();
    let client = Client::new(&network, host, settings, RngStreams::new(1).stream("c"));
    let (s, l) = (sim.clone(), log.clone());
    let pid = sim.spawn(host, "client", None, async move {
        let reply = client.call(cmd!("SET", "k", "v")).await;
        note(&l, &s, outcome(&reply));
        0
    });
    sim.run_until(SimTime::from_secs(0) + SimDuration::from_micros(500));
    sim.signal(pid, simrq::sim::Signal::Stop);
    sim.run_until(SimTime::from_secs(0) + SimDuration::from_millis(50));
    sim.signal(pid, simrq::sim::Signal::Cont);
    sim.run_until(SimTime::from_secs(1));
    assert_eq!(*log.borrow(), ["Ok@0.050000"]);
}

/// A request that a paused Redis holds past the socket timeout fails at the timeout, not when
/// the server resumes, and a command sent after the pause is answered normally.
#[test]
fn a_request_held_by_a_paused_server_times_out_at_the_socket_timeout() {
    let (sim, network) = world();
    let settings = with_socket_timeout(SimDuration::from_secs(2));
    network.pause_server(SimDuration::from_secs(5));
    let log = client_process(&sim, &network, settings, |sim, client, log| async move {
        let reply = client.call(cmd!("SET", "k", "v")).await;
        note(&log, &sim, outcome(&reply));
        sim.sleep(SimDuration::from_secs(10)).await;
        let reply = client.call(cmd!("GET", "k")).await;
        note(&log, &sim, outcome(&reply));
    });
    sim.run_until(SimTime::from_secs(100));
    let log = log.borrow();
    assert_eq!(
        *log,
        [
            format!("{:?}@2.000000", RedisError::Timeout),
            "Ok@12.002000".into()
        ]
    );
}

/// `Ok` for a reply, the error for a failure.
fn outcome<T>(reply: &Result<T, RedisError>) -> String {
    match reply {
        Ok(_) => "Ok".to_string(),
        Err(error) => format!("{error:?}"),
    }
}
