//! The wire format of git's smart protocol (version 0), as pure functions over bytes:
//! pkt-lines, the ref advertisement, the push commands, side-band-64k and report-status.
//! Strict and total: a length out of bounds, a truncated line or a malformed status is a
//! [`MirrorError`], never a panic, whatever the server sends.

use std::collections::BTreeSet;

use crate::ports::MirrorError;
use crate::refs::{ObjectId, RefChange, Refs};

/// The longest pkt-line git allows (4 bytes of length and 65,516 of data).
pub const MAX_PKT: usize = 65_520;
/// The most an advertisement may weigh (about 500,000 refs).
pub const MAX_ADVERTISEMENT: usize = 64 << 20;
/// The most a push's answer may weigh (statuses and progress).
pub const MAX_REPORT: usize = 16 << 20;
/// The id git writes for "no object" (a created ref's old value, a deleted ref's new one).
pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

/// The two services of smart HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    UploadPack,
    ReceivePack,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }
}

/// One pkt-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt<'a> {
    /// `0000`.
    Flush,
    /// `0001` and `0002` (protocol v2 only: an error for this client's readers).
    Special(u8),
    Data(&'a [u8]),
}

fn bad(what: impl std::fmt::Display) -> MirrorError {
    MirrorError::Failed(format!("the git server sent malformed data: {what}"))
}

/// Reads pkt-lines from `data` one at a time.
#[derive(Debug, Clone)]
pub struct PktReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> PktReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// The next pkt-line, `None` at the end of the data.
    pub fn next_pkt(&mut self) -> Result<Option<Pkt<'a>>, MirrorError> {
        let rest = self.rest();
        if rest.is_empty() {
            return Ok(None);
        }
        let head = rest
            .get(..4)
            .ok_or_else(|| bad(format!("a pkt-line length cut short at byte {}", self.pos)))?;
        let len = std::str::from_utf8(head)
            .ok()
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                bad(format!(
                    "{:?} is not a pkt-line length",
                    head.escape_ascii().to_string()
                ))
            })?;
        let pkt = match len {
            0 => Pkt::Flush,
            1 | 2 => Pkt::Special(len as u8),
            3 | 4 => return Err(bad(format!("a pkt-line of length {len}"))),
            n if n > MAX_PKT => {
                return Err(bad(format!("a pkt-line of {n} bytes (at most {MAX_PKT})")));
            }
            n => Pkt::Data(rest.get(4..n).ok_or_else(|| {
                bad(format!(
                    "a pkt-line of {n} bytes cut short at {}",
                    rest.len()
                ))
            })?),
        };
        self.pos += match pkt {
            Pkt::Data(d) => 4 + d.len(),
            _ => 4,
        };
        Ok(Some(pkt))
    }

    /// The next pkt-line, which must be there.
    fn expect_pkt(&mut self, what: &str) -> Result<Pkt<'a>, MirrorError> {
        self.next_pkt()?
            .ok_or_else(|| bad(format!("the data ended before {what}")))
    }
}

/// `data` without its one trailing newline, as text.
fn text(data: &[u8]) -> Result<&str, MirrorError> {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    std::str::from_utf8(data).map_err(|_| bad("a line that is not UTF-8"))
}

/// A 40-hex object id.
pub fn parse_id(s: &str) -> Result<Option<ObjectId>, MirrorError> {
    if !codehooks::names::is_commit_id(s) {
        return Err(bad(format!("{s:?} is not an object id")));
    }
    Ok((s != ZERO_ID).then(|| ObjectId::new(s)))
}

/// A repository's ref advertisement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertisement {
    /// Every advertised ref (peeled `^{}` entries and an empty repository's placeholder left out).
    pub refs: Refs,
    pub capabilities: BTreeSet<String>,
}

impl Advertisement {
    /// Whether the server offers `cap` (a bare name, or `name=value` matched by name).
    pub fn offers(&self, cap: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c == cap || c.split_once('=').is_some_and(|(n, _)| n == cap))
    }
}

/// Parses the body of `GET info/refs?service=<service>`.
pub fn parse_advertisement(body: &[u8], service: Service) -> Result<Advertisement, MirrorError> {
    let mut r = PktReader::new(body);
    let first = r.expect_pkt("the service line")?;
    let expected = format!("# service={}", service.name());
    match first {
        Pkt::Data(d) if text(d)? == expected => {}
        _ => {
            return Err(bad(format!(
                "the advertisement does not start with {expected:?}"
            )));
        }
    }
    if r.expect_pkt("the end of the service section")? != Pkt::Flush {
        return Err(bad("no flush after the service line"));
    }
    let mut ad = Advertisement::default();
    let mut first_ref = true;
    loop {
        let line = match r.expect_pkt("the end of the refs")? {
            Pkt::Flush => break,
            Pkt::Special(n) => return Err(bad(format!("a protocol v2 marker 000{n}"))),
            Pkt::Data(d) => d,
        };
        let (line, caps) = match line.iter().position(|b| *b == 0) {
            Some(i) if first_ref => (&line[..i], Some(&line[i + 1..])),
            Some(_) => return Err(bad("capabilities after the first ref")),
            None => (line, None),
        };
        if let Some(caps) = caps {
            ad.capabilities = text(caps)?
                .split(' ')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect();
        }
        first_ref = false;
        let line = text(line)?;
        let (id, name) = line
            .split_once(' ')
            .ok_or_else(|| bad(format!("the ref line {line:?}")))?;
        let id = parse_id(id)?;
        if name.is_empty() || name.contains(['\0', ' ', '\n']) {
            return Err(bad(format!("the ref name {name:?}")));
        }
        if name.ends_with("^{}") {
            continue;
        }
        match id {
            Some(id) => {
                ad.refs.insert(name.to_owned(), id);
            }
            None if name == "capabilities^{}" => {}
            None => return Err(bad(format!("{name} advertised at the zero id"))),
        }
    }
    if !r.rest().is_empty() {
        return Err(bad("data after the advertisement"));
    }
    Ok(ad)
}

/// Appends `data` as a pkt-line.
pub fn write_pkt(out: &mut Vec<u8>, data: &[u8]) -> Result<(), MirrorError> {
    if data.len() + 4 > MAX_PKT {
        return Err(MirrorError::Failed(format!(
            "a pkt-line of {} bytes is longer than git allows",
            data.len()
        )));
    }
    out.extend_from_slice(format!("{:04x}", data.len() + 4).as_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// The command section of a push (one command per ref change: `old`/`new` `None` for a
/// creation/deletion; capabilities on the first, then a flush).
pub fn encode_commands(
    commands: &[RefChange],
    capabilities: &[&str],
) -> Result<Vec<u8>, MirrorError> {
    let mut out = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        if c.name.is_empty() || c.name.contains(['\0', ' ', '\n']) {
            return Err(MirrorError::Failed(format!(
                "{:?} is not a ref name",
                c.name
            )));
        }
        let id = |o: &Option<ObjectId>| o.as_ref().map_or(ZERO_ID.to_owned(), |o| o.to_string());
        let mut line = format!("{} {} {}", id(&c.old), id(&c.new), c.name).into_bytes();
        if i == 0 {
            line.push(0);
            line.extend_from_slice(capabilities.join(" ").as_bytes());
        }
        line.push(b'\n');
        write_pkt(&mut out, &line)?;
    }
    out.extend_from_slice(b"0000");
    Ok(out)
}

/// Splits a side-band-64k stream: band 1 (the payload) is returned whole, band 2 (progress)
/// is dropped, band 3 is the server's fatal error.
pub fn demux_sideband(body: &[u8]) -> Result<Vec<u8>, MirrorError> {
    let mut r = PktReader::new(body);
    let mut out = Vec::new();
    while let Some(pkt) = r.next_pkt()? {
        match pkt {
            Pkt::Flush => break,
            Pkt::Special(n) => {
                return Err(bad(format!(
                    "a protocol v2 marker 000{n} in side-band data"
                )));
            }
            Pkt::Data([1, payload @ ..]) => out.extend_from_slice(payload),
            Pkt::Data([2, ..]) => {}
            Pkt::Data([3, msg @ ..]) => {
                return Err(MirrorError::Failed(format!(
                    "the git server failed: {}",
                    String::from_utf8_lossy(msg).trim()
                )));
            }
            Pkt::Data(d) => {
                return Err(bad(format!("side-band {:?}", d.first())));
            }
        }
    }
    Ok(out)
}

/// A push's report: `unpack ok` or why not, and each ref's status (`None`: updated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub unpack: Result<(), String>,
    pub statuses: Vec<(String, Option<String>)>,
}

/// Parses `report-status` (without side-band).
pub fn parse_report(data: &[u8]) -> Result<Report, MirrorError> {
    let mut r = PktReader::new(data);
    let unpack = match r.expect_pkt("the unpack status")? {
        Pkt::Data(d) => match text(d)?.strip_prefix("unpack ") {
            Some("ok") => Ok(()),
            Some(why) => Err(why.to_owned()),
            None => {
                return Err(bad(format!(
                    "{:?} where the unpack status belongs",
                    text(d)?
                )));
            }
        },
        _ => return Err(bad("no unpack status")),
    };
    let mut statuses = Vec::new();
    loop {
        let line = match r.expect_pkt("the end of the report")? {
            Pkt::Flush => break,
            Pkt::Special(n) => {
                return Err(bad(format!("a protocol v2 marker 000{n} in the report")));
            }
            Pkt::Data(d) => text(d)?,
        };
        let status = if let Some(name) = line.strip_prefix("ok ") {
            (name.to_owned(), None)
        } else if let Some(rest) = line.strip_prefix("ng ") {
            let (name, why) = rest.split_once(' ').unwrap_or((rest, "rejected"));
            (name.to_owned(), Some(why.to_owned()))
        } else {
            return Err(bad(format!("the status line {line:?}")));
        };
        if status.0.is_empty() {
            return Err(bad(format!("the status line {line:?}")));
        }
        statuses.push(status);
    }
    Ok(Report { unpack, statuses })
}
