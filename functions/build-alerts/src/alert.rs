//! An alert and how it is written: the SNS subject, the plain-text body for e-mail, the AWS
//! Chatbot custom notification for chat and machine subscribers, and the message attributes.
//!
//! One `Publish` carries everything: `MessageStructure=json` with a `default` body (plain text,
//! what e-mail and SMS subscribers get) and the Chatbot document for the `https`, `http`,
//! `sqs`, `lambda` and `firehose` protocols. The whole message stays under SNS's 256 KiB limit:
//! the free text (reasons, summaries, phases) is cut with a marker until it fits; the facts
//! are short by construction and the links are never cut.

use serde_json::{Value, json};

use crate::text::{self, ascii_subject, cut, middle_cut, one_line, printable};

/// The largest `Message` this function publishes. SNS allows 262,144 bytes for the message
/// and its attributes together; the rest is headroom for the attributes and the subject.
pub const MESSAGE_LIMIT: usize = 250_000;

/// Longest value of one fact line (the facts are never cut further).
pub const FACT_MAX: usize = 300;

/// Longest Chatbot description (chat clients show long messages badly).
pub const DESCRIPTION_MAX: usize = 6000;

/// The protocols that get the Chatbot document instead of the plain text.
pub const JSON_PROTOCOLS: &[&str] = &["https", "http", "sqs", "lambda", "firehose"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something is broken: FAILED, FAULT, TIMED_OUT, FAILURE.
    Error,
    /// Somebody stopped it.
    Warning,
    /// It works again.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One alert, ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `codebuild`, `codepipeline` or `codedeploy`.
    pub source: &'static str,
    /// What kind of thing: `build`, `pipeline`, `action`, `deployment`.
    pub what: &'static str,
    /// The project, pipeline or `application/deployment group`.
    pub name: String,
    /// The state as the service names it (`FAILED`, `TIMED_OUT`, `FAILURE`) or `RECOVERED`.
    pub state: String,
    pub severity: Severity,
    pub region: String,
    pub account: String,
    /// What identifies this run in the subject, e.g. `#142 (main@abc1234)`.
    pub reference: String,
    /// The first line of the body: one sentence that says what happened.
    pub headline: String,
    /// Why it failed, most telling first (free text: cut to fit).
    pub reasons: Vec<String>,
    /// Short labelled facts (each cut to [`FACT_MAX`]).
    pub facts: Vec<(String, String)>,
    /// Longer labelled text blocks, such as the phase table (free text: cut to fit).
    pub sections: Vec<(String, String)>,
    /// Console and log links (never cut).
    pub links: Vec<(String, String)>,
    /// What to do next.
    pub next_steps: Vec<String>,
    /// Chat thread: alerts about one pipeline execution or project share it.
    pub thread_id: String,
    /// The ARNs the alert is about.
    pub resources: Vec<String>,
    /// The Chatbot `eventType`, e.g. `CodeBuildBuildFailed`.
    pub event_type: String,
    /// The EventBridge event the alert comes from.
    pub event_id: String,
    /// When it happened (the event's time).
    pub time: String,
}

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
    /// Message attributes: name, value (all strings).
    pub attributes: Vec<(&'static str, String)>,
}

impl Alert {
    /// `FAILED build my-app #142 (main@abc1234) in eu-west-1`, at most 99 ASCII characters:
    /// the name and the reference give way first, the state and the region stay.
    pub fn subject(&self) -> String {
        let head = format!("{} {} ", one_line(&self.state), self.what);
        let tail = format!(" in {}", self.region);
        let name = one_line(&self.name);
        let reference = one_line(&self.reference);
        let room = text::SUBJECT_MAX.saturating_sub(head.len() + tail.len());
        let middle = if reference.is_empty() {
            middle_cut(&name, room)
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

    fn facts(&self) -> Vec<(String, String)> {
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
        let facts = self.facts();
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
        out.push_str(&format!(
            "Event {} at {} in account {} ({}). Sent by codehooks build-alerts.\n",
            one_line(&self.event_id),
            one_line(&self.time),
            self.account,
            self.region
        ));
        out
    }

    /// The AWS Chatbot custom notification (schema version 1.0), with free text cut to `budget`.
    pub fn chatbot(&self, budget: usize) -> Value {
        let icon = match self.severity {
            Severity::Error => ":x:",
            Severity::Warning => ":warning:",
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
        for (k, v) in self.facts() {
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
        let mut context = serde_json::Map::new();
        context.insert("source".into(), json!(self.source));
        context.insert("name".into(), json!(one_line(&self.name)));
        context.insert("state".into(), json!(one_line(&self.state)));
        context.insert("severity".into(), json!(self.severity.as_str()));
        context.insert("region".into(), json!(self.region));
        context.insert("account".into(), json!(self.account));
        context.insert("eventId".into(), json!(one_line(&self.event_id)));
        context.insert("time".into(), json!(one_line(&self.time)));
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
                self.facts()
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
        let mut keywords = vec![
            one_line(&self.state),
            self.source.to_owned(),
            self.region.clone(),
        ];
        keywords.retain(|k| !k.is_empty());
        json!({
            "version": "1.0",
            "source": "custom",
            "id": self.event_id,
            "content": {
                "textType": "client-markdown",
                "title": format!("{icon} {}", self.subject()),
                "description": description,
                "nextSteps": self.next_steps.iter().map(|s| cut(&one_line(s), 500)).collect::<Vec<_>>(),
                "keywords": keywords,
            },
            "metadata": {
                "threadId": cut(&one_line(&self.thread_id), 200),
                "summary": self.subject(),
                "eventType": self.event_type,
                "relatedResources": self.resources.iter().map(|r| cut(r, 2048)).collect::<Vec<_>>(),
                "additionalContext": Value::Object(context),
            }
        })
    }

    /// The message attributes subscribers filter on.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let v = |s: &str| {
            let s = cut(&one_line(s), 256);
            if s.is_empty() { "-".to_owned() } else { s }
        };
        let mut attrs = vec![
            ("source", v(self.source)),
            ("name", v(&self.name)),
            ("state", v(&self.state)),
            ("severity", v(self.severity.as_str())),
            ("region", v(&self.region)),
            ("account", v(&self.account)),
        ];
        // The deploy hook's own evidence about a deployment carries the same attribute.
        if self.source == "codedeploy" && self.reference.starts_with("d-") {
            attrs.push(("deploymentId", v(&self.reference)));
        }
        attrs
    }

    /// Everything one `Publish` sends, cut until the message fits [`MESSAGE_LIMIT`].
    pub fn render(&self) -> Rendered {
        let mut budget = 16_000usize;
        loop {
            let text = self.text(budget);
            let chatbot = self.chatbot(budget);
            let chatbot_s = chatbot.to_string();
            let mut doc = serde_json::Map::new();
            doc.insert("default".into(), Value::String(text.clone()));
            for p in JSON_PROTOCOLS {
                doc.insert((*p).into(), Value::String(chatbot_s.clone()));
            }
            let message = Value::Object(doc).to_string();
            if message.len() <= MESSAGE_LIMIT || budget == 0 {
                return Rendered {
                    subject: self.subject(),
                    message,
                    text,
                    chatbot,
                    attributes: self.attributes(),
                };
            }
            budget /= 2;
        }
    }
}

#[cfg(test)]
#[path = "alert_test.rs"]
mod tests;
