//! A real HTTP service on 127.0.0.1 standing for one listener of an Application Load Balancer
//! and the green task set behind it: a request that meets the listener rule's conditions (host
//! header, HTTP headers, query parameters, path patterns, method) gets green's answer, any other
//! request the listener's default action (404, as the ECS guides configure it). Values are ELB
//! patterns (`*` any run, `?` one character; case-insensitive but for paths). Every request is
//! recorded, so a test sees exactly what the probes carried.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

/// What a request must carry to reach green (the rule's conditions), the rest being free.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    /// The `Host` name (without the port).
    pub host: Option<String>,
    /// Headers, each with one accepted value (names case-insensitive).
    pub headers: Vec<(String, String)>,
    /// Query parameters, each with its value.
    pub query: Vec<(String, String)>,
    /// The request method (`None`: any).
    pub method: Option<String>,
    /// Path patterns, one of which the path must match (empty: any path).
    pub paths: Vec<String>,
}

/// How green answers the requests that reach it.
#[derive(Clone, Debug)]
pub enum Green {
    /// 200 with `{"status":"ok","version":...}`.
    Healthy,
    /// Always this status.
    Status(u16),
    /// Healthy for the first `n` requests that reach green, then 500.
    FailAfter(u64),
}

/// One request as the service saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    /// `Host` without the port.
    pub host: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// Whether the rule's conditions were met (green answered).
    pub matched: bool,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The service: a listener rule in front of green.
pub struct RoutedService {
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    green: Arc<Mutex<Green>>,
    stop: Arc<AtomicBool>,
}

impl RoutedService {
    pub fn start(conditions: Conditions, green: Green, version: &str) -> RoutedService {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the service");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let green = Arc::new(Mutex::new(green));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, green2, stop2) = (Arc::clone(&seen), Arc::clone(&green), Arc::clone(&stop));
        let version = version.to_owned();
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (seen, c, g, v) = (
                            Arc::clone(&seen2),
                            conditions.clone(),
                            Arc::clone(&green2),
                            version.clone(),
                        );
                        std::thread::spawn(move || serve(stream, &c, &g, &v, &seen));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        RoutedService {
            port,
            seen,
            green,
            stop,
        }
    }

    /// From now on, green answers this way.
    pub fn set_green(&self, green: Green) {
        *self.green.lock().unwrap() = green;
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests so far.
    pub fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Requests so far that met the rule's conditions.
    pub fn green_hits(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.matched)
            .count()
    }
}

impl Drop for RoutedService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Whether `text` matches the ELB pattern `pattern` (`*`: any run, `?`: one character).
pub fn pattern_matches(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(&fold(pattern), &fold(text))
}

fn matches(c: &Conditions, s: &Seen) -> bool {
    let host_ok = c
        .host
        .as_ref()
        .is_none_or(|h| pattern_matches(h, &s.host, true));
    let method_ok = c.method.as_ref().is_none_or(|m| *m == s.method);
    let path_ok = c.paths.is_empty() || c.paths.iter().any(|p| pattern_matches(p, &s.path, false));
    let headers_ok = c
        .headers
        .iter()
        .all(|(k, v)| s.header(k).is_some_and(|got| pattern_matches(v, got, true)));
    let pairs: Vec<(&str, &str)> = s
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    let query_ok = c.query.iter().all(|(k, v)| {
        pairs
            .iter()
            .any(|(pk, pv)| pattern_matches(k, pk, true) && pattern_matches(v, pv, true))
    });
    host_ok && method_ok && path_ok && headers_ok && query_ok
}

fn serve(
    stream: TcpStream,
    c: &Conditions,
    green: &Mutex<Green>,
    version: &str,
    seen: &Mutex<Vec<Seen>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or("/").to_owned();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (target, String::new()),
        };
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) if h == "\r\n" || h == "\n" => break,
                Ok(_) => {
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                    }
                }
            }
        }
        let host = headers
            .iter()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.rsplit_once(':').map_or(v.as_str(), |(h, _)| h).to_owned())
            .unwrap_or_default();
        let mut s = Seen {
            method,
            path,
            query,
            host,
            headers,
            matched: false,
        };
        s.matched = matches(c, &s);
        let reached = {
            let mut all = seen.lock().unwrap();
            all.push(s.clone());
            all.iter().filter(|x| x.matched).count() as u64
        };
        let ok = json!({"status": "ok", "version": version}).to_string();
        let (status, body) = if !s.matched {
            (404, "no listener rule matched".to_owned())
        } else {
            let green = green.lock().unwrap().clone();
            match green {
                Green::Healthy => (200, ok),
                Green::Status(code) => (code, json!({"error": "boom"}).to_string()),
                Green::FailAfter(n) if reached <= n => (200, ok),
                Green::FailAfter(_) => (500, json!({"error": "broke"}).to_string()),
            }
        };
        let reason = match status {
            200 => "OK",
            404 => "Not Found",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Status",
        };
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-App-Version: {version}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
