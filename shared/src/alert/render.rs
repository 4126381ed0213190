//! How an [`Alert`] is written for SNS: the subject, the plain-text body for e-mail, the AWS
//! Chatbot custom notification for chat and machine subscribers, and the message attributes.
//!
//! One `Publish` carries everything: `MessageStructure=json` with a `default` body (plain text,
//! what e-mail and SMS subscribers get) and the Chatbot document for the `https`, `http`,
//! `sqs`, `lambda` and `firehose` protocols. The whole message stays under SNS's 256 KB limit:
//! the free text (reasons, sections) is cut with a marker until it fits; the facts are short by
//! construction and the links are never cut. Machine data that still does not fit is dropped
//! with a note.

use serde_json::{Map, Value, json};

use super::{Alert, Severity};
use crate::text::{self, ascii_subject, cut, middle_cut, one_line, printable};

/// The largest `Message` published. SNS allows 262,144 bytes for the message and its
/// attributes together; the rest is headroom for the attributes and the subject.
pub const MESSAGE_LIMIT: usize = 250_000;

/// Longest value of one fact line (the facts are never cut further).
pub const FACT_MAX: usize = 300;

/// Longest Chatbot description (chat clients show long messages badly).
pub const DESCRIPTION_MAX: usize = 6000;

/// SNS accepts at most this many message attributes.
pub const MAX_ATTRIBUTES: usize = 10;

/// Longest attribute value written.
pub const ATTRIBUTE_MAX: usize = 256;

/// The protocols that get the Chatbot document instead of the plain text.
pub const JSON_PROTOCOLS: &[&str] = &["https", "http", "sqs", "lambda", "firehose"];

/// The free-text budget per block the renderer starts from (halved until the message fits).
const FIRST_BUDGET: usize = 16_000;

/// What one `Publish` sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    /// The `Message` parameter (JSON with per-protocol bodies).
    pub message: String,
    /// The plain-text body (the `default` key).
    pub text: String,
    /// The Chatbot document.
    pub chatbot: Value,
    /// Message attributes: name, value (all strings, never empty).
    pub attributes: Vec<(String, String)>,
}

/// An attribute value: one line, at most [`ATTRIBUTE_MAX`] characters, and `-` when empty
/// (SNS refuses empty values; a present attribute keeps filter policies simple).
pub fn attribute_value(s: &str) -> String {
    let v = cut(&one_line(s), ATTRIBUTE_MAX);
    if v.is_empty() { "-".to_owned() } else { v }
}

impl Alert {
    /// `FAILED build my-app #142 (main@abc1234) in eu-west-1`, at most 99 ASCII characters:
    /// the name and the reference give way first, the prefix, state and region stay.
    pub fn subject(&self) -> String {
        let prefix = one_line(&self.subject_prefix);
        let head = [prefix, one_line(&self.state), one_line(&self.what)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(|s| s + " ")
            .collect::<String>();
        let region = one_line(&self.region);
        let tail = if region.is_empty() {
            String::new()
        } else {
            format!(" in {region}")
        };
        let name = one_line(&self.name);
        let reference = one_line(&self.reference);
        let room = text::SUBJECT_MAX.saturating_sub(head.chars().count() + tail.chars().count());
        let middle = if reference.is_empty() {
            middle_cut(&name, room)
        } else if name.is_empty() {
            middle_cut(&reference, room)
        } else {
            let full = format!("{name} {reference}");
            if full.chars().count() <= room {
                full
            } else {
                // The name gets what the reference leaves, and at least half of the room.
                let ref_len = reference.chars().count();
                let name_room = name
                    .chars()
                    .count()
                    .min(room.saturating_sub(1 + ref_len).max(room / 2));
                let name_part = middle_cut(&name, name_room);
                let ref_room = room.saturating_sub(name_part.chars().count() + 1);
                if ref_room >= 4 {
                    format!("{name_part} {}", middle_cut(&reference, ref_room))
                } else {
                    middle_cut(&name, room)
                }
            }
        };
        ascii_subject(&format!("{head}{middle}{tail}"))
    }

    fn clean_facts(&self) -> Vec<(String, String)> {
        self.facts
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (one_line(k), cut(&one_line(v), FACT_MAX)))
            .collect()
    }

    /// The plain-text body with at most `budget` characters of free text per block.
    pub fn text(&self, budget: usize) -> String {
        let mut out = String::new();
        out.push_str(&cut(&one_line(&self.headline), 1000));
        out.push_str("\n\n");
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|r| printable(r.trim()))
            .filter(|r| !r.is_empty())
            .collect();
        if !reasons.is_empty() {
            out.push_str("Why\n");
            for r in &reasons {
                for (i, line) in cut(r, budget).lines().enumerate() {
                    out.push_str(if i == 0 { "  - " } else { "    " });
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.push('\n');
        }
        let facts = self.clean_facts();
        if !facts.is_empty() {
            out.push_str("Details\n");
            let width = 1 + facts
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, v) in &facts {
                out.push_str(&format!("  {:<width$}  {v}\n", format!("{k}:")));
            }
            out.push('\n');
        }
        for (title, body) in &self.sections {
            let body = printable(body);
            if body.trim().is_empty() {
                continue;
            }
            out.push_str(&one_line(title));
            out.push('\n');
            for line in cut(&body, budget).lines() {
                out.push_str("  ");
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        if !self.links.is_empty() {
            out.push_str("Links\n");
            for (k, url) in &self.links {
                out.push_str(&format!("  {}: {url}\n", one_line(k)));
            }
            out.push('\n');
        }
        if !self.next_steps.is_empty() {
            out.push_str("Next steps\n");
            for s in &self.next_steps {
                out.push_str(&format!("  - {}\n", cut(&one_line(s), 500)));
            }
            out.push('\n');
        }
        let sender = one_line(&self.sender);
        let sender = if sender.is_empty() {
            "codehooks".to_owned()
        } else {
            sender
        };
        out.push_str(&format!(
            "Event {} at {} in account {} ({}). Sent by {sender}.\n",
            one_line(&self.event_id),
            one_line(&self.time),
            one_line(&self.account),
            one_line(&self.region)
        ));
        out
    }

    /// The AWS Chatbot custom notification (schema version 1.0), with free text cut to `budget`.
    pub fn chatbot(&self, budget: usize) -> Value {
        self.chatbot_with(budget, Some(&self.data))
    }

    /// The Chatbot document with `data` (or a note that it was left out) in its context.
    fn chatbot_with(&self, budget: usize, data: Option<&Map<String, Value>>) -> Value {
        let icon = match self.severity {
            Severity::Error => ":x:",
            Severity::Warning => ":warning:",
            // Something waits for people (a manual approval), rather than works again.
            Severity::Info if self.state == "WAITING" => ":hourglass_flowing_sand:",
            Severity::Info => ":white_check_mark:",
        };
        let mut body = String::new();
        body.push_str(&cut(&one_line(&self.headline), 1000));
        body.push('\n');
        for r in self
            .reasons
            .iter()
            .map(|r| one_line(r))
            .filter(|r| !r.is_empty())
        {
            body.push_str(&format!("> {}\n", cut(&r, budget.min(1500))));
        }
        let facts = self.clean_facts();
        for (k, v) in &facts {
            body.push_str(&format!("*{k}:* {v}\n"));
        }
        let mut links = String::new();
        for (k, url) in &self.links {
            links.push_str(&format!("*{}:* {url}\n", one_line(k)));
        }
        // Chat messages stay short: the text gives way, the links stay whole.
        let room = DESCRIPTION_MAX.saturating_sub(links.chars().count() + 1);
        let mut description = cut(&body, room);
        if !description.ends_with('\n') {
            description.push('\n');
        }
        description.push_str(&links);
        // Names and identifiers are short by nature; a long one is cut like an attribute value,
        // so the message stays within its limit whatever it names.
        let short = |s: &str| cut(&one_line(s), ATTRIBUTE_MAX);
        let mut context = Map::new();
        context.insert("source".into(), json!(short(&self.source)));
        context.insert("name".into(), json!(short(&self.name)));
        context.insert("state".into(), json!(short(&self.state)));
        context.insert("severity".into(), json!(self.severity.as_str()));
        context.insert("region".into(), json!(short(&self.region)));
        context.insert("account".into(), json!(short(&self.account)));
        context.insert("eventId".into(), json!(short(&self.event_id)));
        context.insert("time".into(), json!(short(&self.time)));
        context.insert(
            "reasons".into(),
            json!(
                self.reasons
                    .iter()
                    .map(|r| cut(&printable(r), budget))
                    .collect::<Vec<_>>()
            ),
        );
        context.insert(
            "facts".into(),
            Value::Object(
                facts
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect(),
            ),
        );
        context.insert(
            "links".into(),
            Value::Object(
                self.links
                    .iter()
                    .map(|(k, v)| (one_line(k), Value::String(v.clone())))
                    .collect(),
            ),
        );
        match data {
            Some(data) => {
                for (k, v) in data {
                    context.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            None => {
                context.insert(
                    "dataOmitted".into(),
                    json!(format!(
                        "{} evidence fields did not fit SNS's 256 KB limit",
                        self.data.len()
                    )),
                );
            }
        }
        let mut keywords = vec![short(&self.state), short(&self.source), short(&self.region)];
        keywords.retain(|k| !k.is_empty());
        let subject = self.subject();
        json!({
            "version": "1.0",
            "source": "custom",
            "id": short(&self.event_id),
            "content": {
                "textType": "client-markdown",
                "title": format!("{icon} {subject}"),
                "description": description,
                "nextSteps": self.next_steps.iter().map(|s| cut(&one_line(s), 500)).collect::<Vec<_>>(),
                "keywords": keywords,
            },
            "metadata": {
                "threadId": cut(&one_line(&self.thread_id), 200),
                "summary": subject,
                "eventType": short(&self.event_type),
                "relatedResources": self.resources.iter().map(|r| cut(r, 2048)).collect::<Vec<_>>(),
                "additionalContext": Value::Object(context),
            }
        })
    }

    /// The message attributes subscribers filter on: `source`, `name`, `state`, `severity`,
    /// `region`, `account`, then [`Alert::extra_attributes`], at most [`MAX_ATTRIBUTES`]. One
    /// rule for every value: one line, cut to 256 characters, `-` when empty.
    pub fn attributes(&self) -> Vec<(String, String)> {
        let standard = [
            ("source", self.source.as_str()),
            ("name", &self.name),
            ("state", &self.state),
            ("severity", self.severity.as_str()),
            ("region", &self.region),
            ("account", &self.account),
        ];
        let mut attrs: Vec<(String, String)> = standard
            .into_iter()
            .map(|(k, v)| (k.to_owned(), attribute_value(v)))
            .collect();
        for (k, v) in &self.extra_attributes {
            let k = one_line(k);
            if attrs.len() >= MAX_ATTRIBUTES || k.is_empty() || attrs.iter().any(|(n, _)| *n == k) {
                continue;
            }
            attrs.push((k, attribute_value(v)));
        }
        attrs
    }

    /// The `Message` for one budget, with or without the machine data.
    fn message(&self, budget: usize, data: bool) -> (String, String, Value) {
        let text = self.text(budget);
        let chatbot = self.chatbot_with(budget, data.then_some(&self.data));
        let chatbot_s = chatbot.to_string();
        let mut doc = Map::new();
        doc.insert("default".into(), Value::String(text.clone()));
        for p in JSON_PROTOCOLS {
            doc.insert((*p).into(), Value::String(chatbot_s.clone()));
        }
        (Value::Object(doc).to_string(), text, chatbot)
    }

    /// Everything one `Publish` sends, cut until the message fits [`MESSAGE_LIMIT`]: the free
    /// text first (the budget halves down to nothing), then the machine data.
    pub fn render(&self) -> Rendered {
        let attempts = [true, false];
        let mut last = None;
        for data in attempts {
            if !data && self.data.is_empty() {
                break;
            }
            let mut budget = FIRST_BUDGET;
            loop {
                let (message, text, chatbot) = self.message(budget, data);
                let fits = message.len() <= MESSAGE_LIMIT;
                if fits || budget == 0 {
                    let done = Rendered {
                        subject: self.subject(),
                        message,
                        text,
                        chatbot,
                        attributes: self.attributes(),
                    };
                    if fits {
                        return done;
                    }
                    last = Some(done);
                    break;
                }
                budget /= 2;
            }
        }
        // Only reachable when the facts and links alone exceed the limit: send what we have;
        // SNS refuses it and the caller sees the error.
        last.unwrap_or_else(|| {
            let (message, text, chatbot) = self.message(0, false);
            Rendered {
                subject: self.subject(),
                message,
                text,
                chatbot,
                attributes: self.attributes(),
            }
        })
    }
}

#[cfg(test)]
#[path = "render_test.rs"]
mod tests;
