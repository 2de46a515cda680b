//! A small RESP2 client and a throwaway `redis-server`, for tests that compare the model with
//! real Redis. Include it with `#[path = "support/resp.rs"] mod resp;`.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use simrq::redis::Reply;

/// One connection to a Redis server.
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends one command and reads its reply.
    pub fn call<S: AsRef<str>>(&mut self, words: &[S]) -> Reply {
        self.send(words);
        self.read_reply()
    }

    /// Sends one command without reading the reply.
    pub fn send<S: AsRef<str>>(&mut self, words: &[S]) {
        let mut frame = format!("*{}\r\n", words.len()).into_bytes();
        for word in words {
            let word = word.as_ref().as_bytes();
            frame.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
            frame.extend_from_slice(word);
            frame.extend_from_slice(b"\r\n");
        }
        self.writer
            .write_all(&frame)
            .expect("write to redis-server");
    }

    pub fn read_reply(&mut self) -> Reply {
        let line = self.read_line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Status(rest.to_string().into()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().expect("integer reply")),
            "$" => match rest.parse::<i64>().expect("bulk length") {
                -1 => Reply::Nil,
                length => Reply::Bulk(self.read_bulk(length as usize).into()),
            },
            "*" => match rest.parse::<i64>().expect("array length") {
                -1 => Reply::NilArray,
                length => Reply::Array((0..length).map(|_| self.read_reply()).collect()),
            },
            other => panic!("unexpected RESP type {other:?} in {line:?}"),
        }
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("read from redis-server");
        assert!(line.ends_with("\r\n"), "truncated reply line {line:?}");
        line.truncate(line.len() - 2);
        line
    }

    fn read_bulk(&mut self, length: usize) -> String {
        let mut bytes = vec![0u8; length + 2];
        self.reader.read_exact(&mut bytes).expect("read bulk");
        bytes.truncate(length);
        String::from_utf8(bytes).expect("utf-8 bulk")
    }
}

/// Where `redis-server` is on PATH, if anywhere.
pub fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

/// RQ's acquire-or-refresh lock script as EVAL sends it, on `rq:scheduler-lock:q` for
/// `holder` with RQ's 61 s TTL: the words of the command.
pub fn lock_words(holder: &str) -> [&str; 6] {
    [
        "EVAL",
        simrq::redis::ACQUIRE_OR_REFRESH_LOCK_SCRIPT,
        "1",
        "rq:scheduler-lock:q",
        holder,
        "61",
    ]
}

/// A real redis-server for a scripted session; `None` (and SKIPPED on stderr) without one,
/// which fails the test under `SIMRQ_REQUIRE_REDIS=1`.
pub fn scripted_server() -> Option<RedisServer> {
    let Some(binary) = find_redis_server() else {
        let _ = writeln!(std::io::stderr(), "SKIPPED: redis-server not found");
        assert!(std::env::var("SIMRQ_REQUIRE_REDIS").as_deref() != Ok("1"));
        return None;
    };
    Some(RedisServer::start(&binary))
}

/// A `redis-server` of its own on a free port of 127.0.0.1, without persistence, in a temporary
/// directory; killed (by pid) when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start(binary: &PathBuf) -> RedisServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let child = Process::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = RedisServer {
            child,
            port,
            _dir: dir,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut client) = Client::connect(self.port) {
                if client.call(&["PING"]) == Reply::Status("PONG".into()) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not answer PING", self.port);
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port).expect("connect to redis-server")
    }

    /// SIGKILLs the server now (by its pid), as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}
