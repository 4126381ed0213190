//! A minimal HTTP/1.1 client for the local control APIs (one request per connection).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

fn split_url(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    match rest.find('/') {
        Some(i) => (rest[..i].to_owned(), rest[i..].to_owned()),
        None => (rest.to_owned(), "/".to_owned()),
    }
}

/// Sends a request and returns (status, body).
pub fn request(method: &str, url: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    let (host, path) = split_url(url);
    let mut stream = TcpStream::connect(&host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("set timeout");
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    crate::write_all(&mut stream, head.as_bytes());
    crate::write_all(&mut stream, body);
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).expect("status line");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line from {url}: {status_line:?}"));
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    let mut out = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).expect("chunk size");
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).expect("chunk");
            out.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        out.resize(n, 0);
        reader.read_exact(&mut out).expect("body");
    } else {
        reader.read_to_end(&mut out).expect("body");
    }
    (status, out)
}

fn parse(url: &str, status: u16, body: &[u8]) -> Value {
    assert!(
        (200..300).contains(&status),
        "{url} answered {status}: {}",
        String::from_utf8_lossy(body)
    );
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{url}: not JSON: {e}"))
    }
}

pub fn post_json(url: &str, body: &Value) -> Value {
    let (status, out) = request("POST", url, Some(body.to_string().as_bytes()));
    parse(url, status, &out)
}

pub fn get_json(url: &str) -> Value {
    let (status, out) = request("GET", url, None);
    parse(url, status, &out)
}
