//! Tests of the pkt-line, advertisement, side-band and report-status parsers, on good data
//! and on hostile data (every failure a `MirrorError`, never a panic).

use proptest::prelude::*;

use super::*;
use crate::plan::{ObjectId, RefChange};

const A: &str = "1111111111111111111111111111111111111111";
const B: &str = "2222222222222222222222222222222222222222";

fn pkt(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_pkt(&mut out, data).unwrap_or_default();
    out
}

fn pkts(lines: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        if l.is_empty() {
            out.extend_from_slice(b"0000");
        } else {
            out.extend(pkt(l));
        }
    }
    out
}

fn failed(r: Result<impl std::fmt::Debug, MirrorError>) -> String {
    match r {
        Err(MirrorError::Failed(m)) => m,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn reads_pkt_lines_and_flushes() {
    let data = b"0006a\n0000000ahello\n0001";
    let mut r = PktReader::new(data);
    assert_eq!(r.next_pkt().ok().flatten(), Some(Pkt::Data(b"a\n")));
    assert_eq!(r.next_pkt().ok().flatten(), Some(Pkt::Flush));
    assert_eq!(r.next_pkt().ok().flatten(), Some(Pkt::Data(b"hello\n")));
    assert_eq!(r.next_pkt().ok().flatten(), Some(Pkt::Special(1)));
    assert_eq!(r.next_pkt().ok().flatten(), None);
}

#[test]
fn refuses_bad_lengths() {
    for bad in [
        &b"00"[..],
        b"zzzz",
        b"0003",
        b"0004",
        b"0010abc",
        b"fff1",
        b"+001",
        b"00 9abcde",
    ] {
        let msg = failed(PktReader::new(bad).next_pkt());
        assert!(msg.contains("malformed"), "{bad:?}: {msg}");
    }
}

#[test]
fn the_longest_pkt_line_is_read_and_one_more_byte_refused() {
    let mut max = format!("{MAX_PKT:04x}").into_bytes();
    max.extend(std::iter::repeat_n(b'x', MAX_PKT - 4));
    assert!(
        matches!(PktReader::new(&max).next_pkt(), Ok(Some(Pkt::Data(d))) if d.len() == MAX_PKT - 4)
    );
    assert!(write_pkt(&mut Vec::new(), &vec![b'x'; MAX_PKT - 3]).is_err());
    let long = format!("{:04x}", MAX_PKT + 1).into_bytes();
    assert!(PktReader::new(&long).next_pkt().is_err());
}

fn advertisement(service: &str, refs: &[&[u8]]) -> Vec<u8> {
    let mut out = pkts(&[format!("# service={service}\n").as_bytes(), b""]);
    out.extend(pkts(refs));
    out.extend_from_slice(b"0000");
    out
}

#[test]
fn parses_an_advertisement_with_capabilities_and_peeled_tags() {
    let first = format!(
        "{A} refs/heads/main\0report-status delete-refs side-band-64k ofs-delta agent=git/2\n"
    );
    let tag = format!("{B} refs/tags/v1\n");
    let peeled = format!("{A} refs/tags/v1^{{}}\n");
    let body = advertisement(
        "git-receive-pack",
        &[first.as_bytes(), tag.as_bytes(), peeled.as_bytes()],
    );
    let ad = parse_advertisement(&body, Service::ReceivePack).unwrap_or_default();
    assert_eq!(ad.refs.len(), 2);
    assert_eq!(ad.refs.get("refs/heads/main"), Some(&ObjectId::new(A)));
    assert_eq!(ad.refs.get("refs/tags/v1"), Some(&ObjectId::new(B)));
    assert!(ad.offers("report-status") && ad.offers("ofs-delta") && ad.offers("agent"));
    assert!(!ad.offers("atomic"));
}

#[test]
fn an_empty_repository_advertises_only_capabilities() {
    let first = format!("{ZERO_ID} capabilities^{{}}\0report-status delete-refs\n");
    let body = advertisement("git-receive-pack", &[first.as_bytes()]);
    let ad = parse_advertisement(&body, Service::ReceivePack).unwrap_or_default();
    assert!(ad.refs.is_empty());
    assert!(ad.offers("delete-refs"));
}

#[test]
fn refuses_hostile_advertisements() {
    let good = format!("{A} refs/heads/main\0report-status\n");
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        advertisement("git-upload-pack", &[good.as_bytes()]),
        // No closing flush.
        advertisement("git-receive-pack", &[good.as_bytes()])[..good.len() + 40].to_vec(),
        advertisement("git-receive-pack", &[b"not-an-id refs/heads/x\n"]),
        advertisement("git-receive-pack", &[format!("{A}\n").as_bytes()]),
        advertisement("git-receive-pack", &[format!("{A} \n").as_bytes()]),
        advertisement(
            "git-receive-pack",
            &[format!("{ZERO_ID} refs/heads/x\n").as_bytes()],
        ),
        advertisement(
            "git-receive-pack",
            &[
                good.as_bytes(),
                format!("{B} refs/heads/b\0caps\n").as_bytes(),
            ],
        ),
        advertisement("git-receive-pack", &[b"\xff\xfe"]),
        [
            advertisement("git-receive-pack", &[good.as_bytes()]),
            b"0006x\n".to_vec(),
        ]
        .concat(),
        [
            pkts(&[b"# service=git-receive-pack\n", b""]),
            b"0001".to_vec(),
        ]
        .concat(),
    ];
    for (i, body) in cases.iter().enumerate() {
        let msg = failed(parse_advertisement(body, Service::ReceivePack));
        assert!(msg.contains("malformed"), "case {i}: {msg}");
    }
}

#[test]
fn encodes_commands_with_capabilities_on_the_first_only() {
    let commands = [
        RefChange {
            name: "refs/heads/main".into(),
            old: Some(ObjectId::new(A)),
            new: Some(ObjectId::new(B)),
        },
        RefChange {
            name: "refs/heads/gone".into(),
            old: Some(ObjectId::new(A)),
            new: None,
        },
        RefChange {
            name: "refs/tags/new".into(),
            old: None,
            new: Some(ObjectId::new(B)),
        },
    ];
    let body = encode_commands(&commands, &["report-status", "quiet"]).unwrap_or_default();
    let mut r = PktReader::new(&body);
    let mut lines = Vec::new();
    while let Ok(Some(Pkt::Data(d))) = r.next_pkt() {
        lines.push(d.to_vec());
    }
    assert_eq!(
        lines[0],
        format!("{A} {B} refs/heads/main\0report-status quiet\n").into_bytes()
    );
    assert_eq!(
        lines[1],
        format!("{A} {ZERO_ID} refs/heads/gone\n").into_bytes()
    );
    assert_eq!(
        lines[2],
        format!("{ZERO_ID} {B} refs/tags/new\n").into_bytes()
    );
    assert!(body.ends_with(b"0000"));
    let bad = RefChange {
        name: "refs/heads/a b".into(),
        old: None,
        new: None,
    };
    assert!(encode_commands(&[bad], &[]).is_err());
}

#[test]
fn parses_a_report_with_rejections() {
    let body = pkts(&[
        b"unpack ok\n",
        b"ok refs/heads/main\n",
        b"ng refs/heads/x failed to update ref\n",
        b"ng refs/heads/y\n",
        b"",
    ]);
    let report = parse_report(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.unpack, Ok(()));
    assert_eq!(
        report.statuses,
        vec![
            ("refs/heads/main".to_owned(), None),
            (
                "refs/heads/x".to_owned(),
                Some("failed to update ref".to_owned())
            ),
            ("refs/heads/y".to_owned(), Some("rejected".to_owned())),
        ]
    );
    let unpack = parse_report(&pkts(&[b"unpack index-pack abnormal exit\n", b""]))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unpack.unpack, Err("index-pack abnormal exit".to_owned()));
}

#[test]
fn refuses_hostile_reports() {
    for (i, body) in [
        Vec::new(),
        pkts(&[b""]),
        pkts(&[b"unpacked ok\n", b""]),
        pkts(&[b"unpack ok\n", b"maybe refs/heads/x\n", b""]),
        pkts(&[b"unpack ok\n", b"ok \n", b""]),
        pkts(&[b"unpack ok\n", b"ok refs/heads/main\n"]),
        [pkts(&[b"unpack ok\n"]), b"0002".to_vec()].concat(),
    ]
    .iter()
    .enumerate()
    {
        let msg = failed(parse_report(body));
        assert!(msg.contains("malformed"), "case {i}: {msg}");
    }
}

#[test]
fn demultiplexes_side_band_and_reports_band_3() {
    let inner = pkts(&[b"unpack ok\n", b"ok refs/heads/main\n", b""]);
    let (a, b) = inner.split_at(7);
    let body = pkts(&[
        &[&[1u8][..], a].concat(),
        b"\x02Resolving deltas\r",
        &[&[1u8][..], b].concat(),
        b"",
    ]);
    let data = demux_sideband(&body).unwrap_or_default();
    assert_eq!(data, inner);
    assert_eq!(parse_report(&data).map(|r| r.statuses.len()).ok(), Some(1));

    let fatal = pkts(&[b"\x03disk full\n", b""]);
    let msg = failed(demux_sideband(&fatal));
    assert!(msg.contains("disk full"), "{msg}");
    let msg = failed(demux_sideband(&pkts(&[b"\x07what", b""])));
    assert!(msg.contains("malformed"), "{msg}");
    assert!(demux_sideband(b"0005").is_err());
}

#[test]
fn object_ids_are_checked() {
    assert_eq!(parse_id(ZERO_ID).ok(), Some(None));
    assert_eq!(parse_id(A).ok(), Some(Some(ObjectId::new(A))));
    for bad in [
        "",
        "123",
        &A[..39],
        &format!("{A}0"),
        "g111111111111111111111111111111111111111",
    ] {
        assert!(parse_id(bad).is_err(), "{bad}");
    }
}

proptest! {
    /// Arbitrary bytes never make a parser panic.
    #[test]
    fn parsers_are_total(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_advertisement(&data, Service::UploadPack);
        let _ = parse_report(&data);
        let _ = demux_sideband(&data);
        let mut r = PktReader::new(&data);
        for _ in 0..400 {
            match r.next_pkt() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }

    /// Pkt-line framed garbage (valid lengths, arbitrary content) never makes one panic.
    #[test]
    fn framed_garbage_is_refused_or_read(lines in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..8)) {
        let mut body = pkts(&[b"# service=git-upload-pack\n", b""]);
        for l in &lines {
            body.extend(if l.is_empty() { b"0000".to_vec() } else { pkt(l) });
        }
        let _ = parse_advertisement(&body, Service::UploadPack);
        let _ = parse_report(&body);
        let _ = demux_sideband(&body);
    }
}

/// Every frame of `body`, or its error.
fn drain(mut body: PackBody) -> Result<Vec<u8>, std::io::Error> {
    use http_body::Body as _;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut out = Vec::new();
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
            match frame {
                None => return Ok(out),
                Some(Err(e)) => return Err(e),
                Some(Ok(f)) => out.extend_from_slice(f.data_ref().map_or(&[][..], |d| &d[..])),
            }
        }
    })
}

fn pack_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("codehooks-smart-{name}-{}", std::process::id()));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[test]
fn a_push_body_is_the_commands_then_the_pack_file_in_chunks() {
    let pack: Vec<u8> = (0..(PackBody::CHUNK * 2 + 17))
        .map(|i| (i % 251) as u8)
        .collect();
    let path = pack_file("body", &pack);
    let head = Bytes::from_static(b"0000");
    let open = || {
        let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        tokio::fs::File::from_std(f)
    };
    let body = PackBody::new(head.clone(), open(), pack.len() as u64);
    assert_eq!(body.len(), pack.len() as u64 + 4);
    let sent = drain(body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&sent[..4], b"0000");
    assert_eq!(&sent[4..], &pack[..]);
    // A file shorter than announced is an error, not a short push.
    let err = drain(PackBody::new(head, open(), pack.len() as u64 + 1)).err();
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::UnexpectedEof)
    );
    let _ = std::fs::remove_file(path);
}
