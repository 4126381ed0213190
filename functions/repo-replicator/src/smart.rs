//! Git's smart HTTP protocol (version 0), client side, on `reqwest`: the ref advertisement
//! of a repository (`GET info/refs?service=..`) and a push (`POST git-receive-pack`: commands
//! carrying each ref's expected old value, then a pack), with `report-status` read per ref
//! and `side-band-64k` decoded ([`wire`]). Every request carries the signed HTTP Basic
//! credentials of [`crate::signing::git_credentials`], freshly signed.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use tokio::io::{AsyncRead, ReadBuf};

use codehooks::error::error_chain;

use crate::endpoints::GitTarget;
use crate::ports::MirrorError;
use crate::refs::RefChange;
use crate::signing::{AwsKeys, git_credentials};

mod wire;
pub use wire::*;

/// The `User-Agent` of every request (smart HTTP servers expect a `git/` agent).
const AGENT: &str = "git/2.0 (codehooks-repo-replicator)";

/// What follows the commands of a push.
#[derive(Debug, Clone)]
pub enum PackData {
    /// Only deletions: no pack.
    None,
    Bytes(Bytes),
    /// A pack file on disk, sent as it is.
    File(PathBuf),
}

/// The HTTP side: one pooled client (keep-alive across requests and replicas).
#[derive(Debug, Clone)]
pub struct SmartClient {
    http: reqwest::Client,
}

impl SmartClient {
    pub fn new() -> Result<Self, MirrorError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| {
                MirrorError::Failed(format!(
                    "cannot set up the HTTP client: {}",
                    error_chain(&e)
                ))
            })?;
        Ok(Self { http })
    }

    fn request(
        &self,
        target: &GitTarget,
        keys: &AwsKeys,
        method: reqwest::Method,
        suffix: &str,
    ) -> reqwest::RequestBuilder {
        let c = git_credentials(
            keys,
            &target.signed_host,
            &target.path(),
            target.region.as_str(),
            SystemTime::now(),
        );
        self.http
            .request(method, format!("{}{suffix}", target.url()))
            .basic_auth(c.username.expose(), Some(c.password.expose()))
            .header(USER_AGENT, AGENT)
    }

    /// Sends `req`; a refusal (401, 403, 404) or any other failure is a [`MirrorError`].
    async fn send(
        req: reqwest::RequestBuilder,
        what: &str,
        target: &GitTarget,
    ) -> Result<reqwest::Response, MirrorError> {
        let resp = req.send().await.map_err(|e| {
            MirrorError::Failed(format!(
                "{what} {} failed: {}",
                target.describe(),
                error_chain(&e)
            ))
        })?;
        let status = resp.status();
        if matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ) {
            return Err(MirrorError::Refused(format!(
                "{what} {}: the git endpoint answered {status} (check the role's codecommit:GitPull/GitPush permission, the signed host, and that the repository exists)",
                target.describe()
            )));
        }
        if !status.is_success() {
            return Err(MirrorError::Failed(format!(
                "{what} {}: the git endpoint answered {status}",
                target.describe()
            )));
        }
        Ok(resp)
    }

    /// The refs `target` advertises for `service`, with its capabilities.
    pub async fn advertise(
        &self,
        target: &GitTarget,
        keys: &AwsKeys,
        service: Service,
    ) -> Result<Advertisement, MirrorError> {
        let what = "listing the refs of";
        let req = self.request(
            target,
            keys,
            reqwest::Method::GET,
            &format!("/info/refs?service={}", service.name()),
        );
        let resp = Self::send(req, what, target).await?;
        let kind = format!("application/x-{}-advertisement", service.name());
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ct.starts_with(&kind) {
            return Err(MirrorError::Failed(format!(
                "{what} {}: not a smart HTTP git server (content type {ct:?})",
                target.describe()
            )));
        }
        let body = read_bounded(resp, MAX_ADVERTISEMENT, what, target).await?;
        parse_advertisement(&body, service).map_err(|e| in_context(e, what, target))
    }

    /// Pushes `commands` with `pack` to `target`, whose receive-pack advertised `offered`.
    pub async fn receive_pack(
        &self,
        target: &GitTarget,
        keys: &AwsKeys,
        offered: &Advertisement,
        commands: &[RefChange],
        pack: PackData,
    ) -> Result<Report, MirrorError> {
        let what = "pushing to";
        if !offered.offers("report-status") {
            return Err(MirrorError::Failed(format!(
                "{what} {}: the server does not offer report-status",
                target.describe()
            )));
        }
        let sideband = offered.offers("side-band-64k");
        let caps: Vec<&str> = [
            "report-status",
            "side-band-64k",
            "delete-refs",
            "ofs-delta",
            "quiet",
        ]
        .into_iter()
        .filter(|c| offered.offers(c))
        .chain(std::iter::once("agent=codehooks-repo-replicator"))
        .collect();
        if !offered.offers("delete-refs") && commands.iter().any(|c| c.new.is_none()) {
            return Err(MirrorError::Failed(format!(
                "{what} {}: the server does not allow deleting refs",
                target.describe()
            )));
        }
        let head = Bytes::from(encode_commands(commands, &caps)?);
        let (length, body) = match pack {
            PackData::None => (head.len() as u64, reqwest::Body::from(head)),
            PackData::Bytes(b) => {
                let mut all = head.to_vec();
                all.extend_from_slice(&b);
                (all.len() as u64, reqwest::Body::from(all))
            }
            PackData::File(path) => {
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    MirrorError::Failed(format!("cannot open the pack {}: {e}", path.display()))
                })?;
                let size = file
                    .metadata()
                    .await
                    .map_err(|e| {
                        MirrorError::Failed(format!("cannot read the pack {}: {e}", path.display()))
                    })?
                    .len();
                let body = PackBody::new(head, file, size);
                (body.len(), reqwest::Body::wrap(body))
            }
        };
        let req = self
            .request(target, keys, reqwest::Method::POST, "/git-receive-pack")
            .header(CONTENT_TYPE, "application/x-git-receive-pack-request")
            .header(ACCEPT, "application/x-git-receive-pack-result")
            .header(CONTENT_LENGTH, length)
            .body(body);
        let resp = Self::send(req, what, target).await?;
        let body = read_bounded(resp, MAX_REPORT, what, target).await?;
        let report = if sideband {
            demux_sideband(&body).and_then(|d| parse_report(&d))
        } else {
            parse_report(&body)
        };
        report.map_err(|e| in_context(e, what, target))
    }
}

/// A push's body: the commands, then the pack read from its file in chunks (never whole in
/// memory), of a length known in advance.
struct PackBody {
    head: Option<Bytes>,
    head_len: u64,
    file: tokio::fs::File,
    /// Pack bytes not sent yet.
    left: u64,
    buf: Vec<u8>,
}

impl PackBody {
    const CHUNK: usize = 256 << 10;

    fn new(head: Bytes, file: tokio::fs::File, size: u64) -> Self {
        Self {
            head_len: head.len() as u64,
            head: Some(head),
            file,
            left: size,
            buf: vec![0; Self::CHUNK],
        }
    }

    fn len(&self) -> u64 {
        self.head_len + self.left
    }
}

impl http_body::Body for PackBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.left).map_or(Self::CHUNK, |l| l.min(Self::CHUNK));
        let mut rb = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the pack file ended early",
                ))))
            }
            Poll::Ready(Ok(())) => {
                let chunk = Bytes::copy_from_slice(rb.filled());
                this.left -= chunk.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(chunk))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none() && self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        let sent = if self.head.is_some() {
            0
        } else {
            self.head_len
        };
        SizeHint::with_exact(self.len() - sent)
    }
}

fn in_context(e: MirrorError, what: &str, target: &GitTarget) -> MirrorError {
    match e {
        MirrorError::Failed(m) => MirrorError::Failed(format!("{what} {}: {m}", target.describe())),
        MirrorError::Refused(m) => {
            MirrorError::Refused(format!("{what} {}: {m}", target.describe()))
        }
    }
}

/// The body of `resp`, refused past `limit` bytes.
async fn read_bounded(
    mut resp: reqwest::Response,
    limit: usize,
    what: &str,
    target: &GitTarget,
) -> Result<Vec<u8>, MirrorError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        MirrorError::Failed(format!(
            "{what} {}: the answer broke off: {}",
            target.describe(),
            error_chain(&e)
        ))
    })? {
        if out.len() + chunk.len() > limit {
            return Err(MirrorError::Failed(format!(
                "{what} {}: the answer is longer than {limit} bytes",
                target.describe()
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "smart_test.rs"]
mod tests;
