//! The log tail reader against moto's CloudWatch Logs: the real SDK writes a build's stream
//! (`PutLogEvents`), and `CloudWatchLogsReader` reads its end with `GetLogEvents` backwards.

use codehooks::logtail::{self, CloudWatchLogsReader, LogReader, MASK, Tail};
use codehooks::prbuild::BuildLogs;
use codehooks_tests::LocalAws;
use codehooks_tests::logs::write_stream;

const REGION: &str = "eu-west-1";
const GROUP: &str = "/aws/codebuild/shop-api";
const STREAM: &str = "6a1f0e2d-9c3b-4d7e-8f51-2b4c6d8e0a13";

/// 500 lines of a build: colours on every line, secrets here and there.
fn build_output() -> Vec<String> {
    (0..500)
        .map(|i| match i % 50 {
            37 => format!("\u{1b}[33mexport AWS_ACCESS_KEY_ID=AKIA{i:016}\u{1b}[0m\n"),
            38 => format!("curl -H 'Authorization: Bearer tok{i}abcdef' https://api.example\n"),
            39 => format!("DB_PASSWORD={i}hunter2 ./migrate\n"),
            _ => format!(
                "\u{1b}[1;32m[{i:03}]\u{1b}[0m compiling crate {i}\r\u{1b}[2K[{i:03}] done\n"
            ),
        })
        .collect()
}

fn block(group: &str, stream: Option<&str>) -> BuildLogs {
    BuildLogs {
        deep_link: None,
        group_name: Some(group.to_owned()),
        stream_name: stream.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_tail_of_a_stream_in_moto() {
    let local = LocalAws::builder().moto().start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    let output = build_output();
    write_stream(&sdk, GROUP, STREAM, &output).await;
    let reader = CloudWatchLogsReader::new(&sdk);

    // The last N events, oldest first, as written.
    let got = reader.last_events(GROUP, STREAM, 30).await.unwrap();
    assert_eq!(got, output[470..]);
    let got = reader.last_events(GROUP, STREAM, 1).await.unwrap();
    assert_eq!(got, output[499..]);
    // More than the stream holds: the whole stream, and the empty page before it ends the read.
    let got = reader.last_events(GROUP, STREAM, 800).await.unwrap();
    assert_eq!(got, output);

    // The tail: cleaned, masked, the newest lines.
    let t = logtail::tail(&reader, Some(&block(GROUP, Some(STREAM))), 20).await;
    let Tail::Lines {
        lines,
        group,
        stream,
        older_left_out,
    } = t
    else {
        panic!("no tail: {t:?}");
    };
    assert_eq!((group.as_str(), stream.as_str()), (GROUP, STREAM));
    assert!(older_left_out);
    assert_eq!(lines.len(), 20);
    assert_eq!(lines[0], "[480] done");
    assert_eq!(lines[19], "[499] done");
    assert_eq!(lines[7], format!("export AWS_ACCESS_KEY_ID={MASK}"));
    assert_eq!(
        lines[8],
        format!("curl -H 'Authorization: Bearer {MASK}' https://api.example")
    );
    assert_eq!(lines[9], format!("DB_PASSWORD={MASK} ./migrate"));
    for l in &lines {
        assert!(!l.contains('\u{1b}') && !l.contains('\r'), "{l:?}");
        assert!(
            !l.contains("AKIA") && !l.contains("hunter2") && !l.contains("abcdef"),
            "{l:?}"
        );
    }

    // The most lines there are.
    let t = logtail::tail(&reader, Some(&block(GROUP, Some(STREAM))), 10_000).await;
    assert!(
        matches!(&t, Tail::Lines { lines, older_left_out: true, .. } if lines.len() == logtail::MAX_LINES && lines[0] == "[300] done"),
        "{t:?}"
    );

    // A stream or group that does not exist: one sentence with the service's error code.
    for (g, s) in [
        (GROUP, "no-such-stream"),
        ("/aws/codebuild/nothing", STREAM),
    ] {
        let t = logtail::tail(&reader, Some(&block(g, Some(s))), 20).await;
        assert_eq!(
            t,
            Tail::Unavailable("the log could not be read (ResourceNotFoundException)".into())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_the_backward_token_over_pages() {
    let local = LocalAws::builder().moto().start();
    let sdk = local.sdk_config(local.moto_url(), REGION).await;
    // More than one page holds (GetLogEvents answers at most 10,000 events).
    let output: Vec<String> = (0..10_600).map(|i| format!("line {i}")).collect();
    write_stream(&sdk, GROUP, "long", &output).await;
    let reader = CloudWatchLogsReader::new(&sdk);
    let got = reader.last_events(GROUP, "long", 10_250).await.unwrap();
    assert_eq!(got.len(), 10_250);
    assert_eq!(got, output[350..]);
}

/// A CloudWatch Logs endpoint that answers `GetLogEvents` from a fixed list of pages keyed by
/// the request's `nextToken` (none for the first), the way the service may: an empty page
/// while older events remain behind its backward token. It records the tokens it was asked for.
fn paged_endpoint(
    pages: Vec<(Option<&'static str>, Vec<&'static str>, &'static str)>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&asked);
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let (mut length, mut target) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("x-amz-target:") {
                    target = v.trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let token = request["nextToken"].as_str().map(str::to_owned);
            assert_eq!(target, "logs_20140328.getlogevents");
            assert_eq!(request["startFromHead"], false);
            seen.lock().unwrap().push(token.clone());
            let (_, events, backward) = pages
                .iter()
                .find(|(t, _, _)| t.map(str::to_owned) == token)
                .expect("a known token");
            let answer = serde_json::json!({
                "events": events.iter().enumerate().map(|(i, m)| serde_json::json!(
                    {"timestamp": 1_796_000_000_000i64 + i as i64, "message": m,
                     "ingestionTime": 1_796_000_000_500i64})).collect::<Vec<_>>(),
                "nextForwardToken": "f/end",
                "nextBackwardToken": backward,
            })
            .to_string();
            let mut out = conn;
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nx-amzn-requestid: r-1\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_page_does_not_end_the_read_and_an_unchanged_token_does() {
    let (url, asked) = paged_endpoint(vec![
        (None, vec![], "b/1"),
        (
            Some("b/1"),
            vec!["first line", "make test", "exit status 2"],
            "b/1",
        ),
    ]);
    let sdk = codehooks_tests::sdk_config_as(&url, REGION, "AKIDLOGSREADER").await;
    let reader = CloudWatchLogsReader::new(&sdk);
    let got = reader.last_events(GROUP, STREAM, 20).await.unwrap();
    assert_eq!(got, ["first line", "make test", "exit status 2"]);
    // The empty first page went on to the token; the unchanged token ended the read.
    assert_eq!(*asked.lock().unwrap(), [None, Some("b/1".to_owned())]);
}
