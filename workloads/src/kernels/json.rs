//! `json`: parse and serialise an agent/API JSON payload (serde_json).
//! One unit = one round trip of a ~700-byte chat-completion request, as a prompt builder does.

use std::hint::black_box;

pub(crate) const PAYLOAD: &str = r#"{"id":"req-7f3a","model":"edge-llm-1b","stream":false,
"messages":[{"role":"system","content":"You are an assistant on an edge gateway. Answer briefly."},
{"role":"user","content":"Summarise the last ten sensor readings and flag anomalies."}],
"tools":[{"type":"function","function":{"name":"read_sensor","parameters":{"type":"object",
"properties":{"sensor_id":{"type":"string"},"window_s":{"type":"integer"}},"required":["sensor_id"]}}}],
"context":{"readings":[21.4,21.5,21.7,22.0,35.9,22.1,21.9,21.8,21.6,21.5],"unit":"C","site":"dock-3"},
"temperature":0.2,"max_tokens":256}"#;

/// Parse the payload, touch it as a prompt builder would, serialise it again.
/// Returns the length of the output.
pub fn json_round_trip() -> u64 {
    // Invariant: PAYLOAD is a constant, valid JSON document (checked by a test).
    let mut v: serde_json::Value = serde_json::from_str(black_box(PAYLOAD)).expect("payload is valid JSON");
    if let Some(m) = v.get_mut("max_tokens") {
        *m = serde_json::Value::from(512);
    }
    serde_json::to_string(&v).map(|s| s.len() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_the_payload() {
        let v: serde_json::Value = serde_json::from_str(PAYLOAD).unwrap();
        assert_eq!(v["context"]["readings"].as_array().unwrap().len(), 10);
        assert!(json_round_trip() > 500);
    }
}
