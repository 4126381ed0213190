//! CloudWatch Logs streams in moto, written the way CodeBuild writes a build's output: the log
//! tails that build-alerts and pr-comments read.

use aws_config::SdkConfig;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// Creates `group` (when missing) and `stream`, and writes `messages` to the stream, one
/// millisecond apart and ending a second ago, in batches of at most 5,000 events.
pub async fn write_stream<S: AsRef<str>>(
    sdk: &SdkConfig,
    group: &str,
    stream: &str,
    messages: &[S],
) {
    write_stream_with(&Client::new(sdk), group, stream, messages).await;
}

/// [`write_stream`] through a CloudWatch Logs client the caller already has.
pub async fn write_stream_with<S: AsRef<str>>(
    logs: &Client,
    group: &str,
    stream: &str,
    messages: &[S],
) {
    // An existing group is fine: several streams share a project's group.
    let _ = logs.create_log_group().log_group_name(group).send().await;
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("CreateLogStream");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let start = now - messages.len() as i64 - 1000;
    for (n, chunk) in messages.chunks(5000).enumerate() {
        let events: Vec<InputLogEvent> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                InputLogEvent::builder()
                    .timestamp(start + (n * 5000 + i) as i64)
                    .message(m.as_ref())
                    .build()
                    .expect("log event")
            })
            .collect();
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .expect("PutLogEvents");
    }
}
