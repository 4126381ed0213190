//! The footer record of a living comment ([`crate::rows`]): what each row is made of (check,
//! required, build ARN, number, state, duration) and the re-run comments acted on, written
//! in one line and read back, so the comment is the whole state of its revision's checks.

use crate::board::{Board, Row, RowState};

/// Where the footer record starts.
const FOOTER: &str = "_codehooks pr-comments checks · commit `";

pub(crate) fn footer(b: &Board) -> String {
    let rows: Vec<String> = b
        .rows
        .iter()
        .map(|r| {
            format!(
                "{}|{}|{}|{}|{}|{}",
                r.check,
                if r.required { "1" } else { "0" },
                r.build_arn,
                r.number.map(|n| n.to_string()).unwrap_or_default(),
                r.state.as_str(),
                r.duration_seconds
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )
        })
        .collect();
    format!(
        "\n---\n{FOOTER}{}` · revision `{}` · rows `{}` · retries `{}`_",
        b.commit,
        b.revision,
        rows.join(";"),
        b.retries.join(",")
    )
}

/// The board a living comment records; `None` when the comment is not one.
pub fn board_of(content: &str) -> Option<Board> {
    let rest = &content[content.rfind(FOOTER)? + FOOTER.len()..];
    let (commit, rest) = rest.split_once('`')?;
    let (revision, rest) = rest.strip_prefix(" · revision `")?.split_once('`')?;
    let (rows, rest) = rest.strip_prefix(" · rows `")?.split_once('`')?;
    let (retries, rest) = rest.strip_prefix(" · retries `")?.split_once('`')?;
    if rest != "_" || commit.is_empty() || revision.is_empty() || rows.is_empty() {
        return None;
    }
    let rows = rows.split(';').map(row_of).collect::<Option<Vec<Row>>>()?;
    Some(Board {
        commit: commit.to_owned(),
        revision: revision.to_owned(),
        rows,
        retries: retries
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn row_of(s: &str) -> Option<Row> {
    let mut parts = s.split('|');
    let check = parts.next()?.to_owned();
    let required = match parts.next()? {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    let build_arn = parts.next()?.to_owned();
    let number = opt_num(parts.next()?)?;
    let state = RowState::parse(parts.next()?)?;
    let duration_seconds = opt_num(parts.next()?)?;
    if parts.next().is_some() || check.is_empty() {
        return None;
    }
    Some(Row {
        check,
        required,
        build_arn,
        number,
        state,
        duration_seconds,
    })
}

/// `""` → `Some(None)`, digits → `Some(Some(n))`, anything else → `None`.
fn opt_num(s: &str) -> Option<Option<u64>> {
    if s.is_empty() {
        Some(None)
    } else {
        s.parse().ok().map(Some)
    }
}
