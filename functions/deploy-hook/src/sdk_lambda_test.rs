//! Unit tests of the Lambda adapter's conversion.

use super::*;

#[test]
fn an_invoke_answer_becomes_a_plain_result() {
    let out = InvokeOutput::builder()
        .status_code(200)
        .function_error("Unhandled")
        .executed_version("7")
        .payload(Blob::new(r#"{"errorMessage":"boom"}"#))
        .build();
    let r = invoke_result(&out, 12.5);
    assert_eq!(r.status, 200);
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(r.executed_version.as_deref(), Some("7"));
    assert_eq!(r.payload, br#"{"errorMessage":"boom"}"#);
    assert_eq!(r.duration_ms, 12.5);

    let bare = invoke_result(&InvokeOutput::builder().status_code(-1).build(), 1.0);
    assert_eq!((bare.status, bare.payload.len()), (0, 0));
    assert_eq!(bare.function_error, None);
}
