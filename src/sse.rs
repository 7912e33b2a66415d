//! Server-Sent Events, rewritten event by event: how the gateway filters a `tools/list`
//! answer that the origin streams as SSE without holding back anything else.
//!
//! [`SseRewriter`] takes the stream's bytes in whatever chunks they arrive and gives back
//! bytes as soon as each event is complete. An event whose `data` is a JSON-RPC message is
//! handed to the rewrite function; events it leaves unchanged, and events without data
//! (comments, priming events with only an `id`), pass through byte for byte. An event with
//! data that is not strict JSON is dropped: it cannot be checked, so it is not forwarded.

use crate::json;
use serde_json::Value;

/// The largest event held while waiting for its end. A stream that sends a bigger one is
/// cut off: nothing unchecked is forwarded.
pub const MAX_EVENT_BYTES: usize = 16 << 20;

/// Why a stream was cut off.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event is larger than {MAX_EVENT_BYTES} bytes")]
    EventTooLarge,
}

/// Rewrites the JSON-RPC messages of an SSE stream.
pub struct SseRewriter<F> {
    buffer: Vec<u8>,
    rewrite: F,
    /// Events dropped because their data was not strict JSON.
    pub dropped: usize,
}

impl<F: FnMut(&mut Value) -> bool> SseRewriter<F> {
    /// `rewrite` changes a message in place and returns whether it changed it.
    pub fn new(rewrite: F) -> Self {
        SseRewriter {
            buffer: Vec::new(),
            rewrite,
            dropped: 0,
        }
    }

    /// Takes the next chunk of the stream; returns the bytes that can be sent on now.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, SseError> {
        self.buffer.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(end) = event_end(&self.buffer) {
            let event: Vec<u8> = self.buffer.drain(..end).collect();
            self.emit(&event, &mut out);
        }
        if self.buffer.len() > MAX_EVENT_BYTES {
            return Err(SseError::EventTooLarge);
        }
        Ok(out)
    }

    /// Ends the stream: an unterminated last event is dispatched as if it were complete.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.buffer.is_empty() {
            let event = std::mem::take(&mut self.buffer);
            self.emit(&event, &mut out);
        }
        out
    }

    fn emit(&mut self, event: &[u8], out: &mut Vec<u8>) {
        let Ok(text) = std::str::from_utf8(event) else {
            self.dropped += 1;
            return;
        };
        let mut data: Option<String> = None;
        for line in text.split(['\n', '\r']) {
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            if field == "data" {
                let d = data.get_or_insert_with(String::new);
                if !d.is_empty() {
                    d.push('\n');
                }
                d.push_str(value);
            }
        }
        let Some(data) = data.filter(|d| !d.trim().is_empty()) else {
            out.extend_from_slice(event);
            return;
        };
        let Ok(mut message) = json::parse(data.as_bytes()) else {
            self.dropped += 1;
            return;
        };
        if !(self.rewrite)(&mut message) {
            out.extend_from_slice(event);
            return;
        }
        for line in text.split(['\n', '\r']) {
            let field = line.split_once(':').map_or(line, |(f, _)| f);
            if !line.is_empty() && field != "data" {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(message.to_string().as_bytes());
        out.extend_from_slice(b"\n\n");
    }
}

/// The end (exclusive) of the first complete event in `buffer`: the byte after the blank
/// line that closes it. A lone `\r` at the end of the buffer waits for a possible `\n`.
fn event_end(buffer: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut at_line_start = true;
    while let Some(&b) = buffer.get(i) {
        let terminator = match b {
            b'\n' => 1,
            b'\r' => match buffer.get(i + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                None => return None,
            },
            _ => 0,
        };
        if terminator == 0 {
            at_line_start = false;
            i += 1;
            continue;
        }
        i += terminator;
        if at_line_start {
            return Some(i);
        }
        at_line_start = true;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hide_b(v: &mut Value) -> bool {
        crate::mcp::filter_tools_list(v, |name| name == "b") > 0
    }

    #[test]
    fn passes_events_through_byte_for_byte_and_filters_tools() {
        let stream = "id: 1\r\ndata:\r\n\r\n: comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}\n\n";
        for split in 0..stream.len() {
            let (a, b) = stream.as_bytes().split_at(split);
            let mut sse = SseRewriter::new(hide_b);
            let mut out = sse.push(a).unwrap();
            out.extend(sse.push(b).unwrap());
            out.extend(sse.finish());
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "id: 1\r\ndata:\r\n\r\n: comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"}]}}\n\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn drops_events_whose_data_is_not_strict_json() {
        let mut sse = SseRewriter::new(hide_b);
        let out = sse
            .push(b"data: {\"a\":1,\"a\":2}\n\ndata: {}\n\n")
            .unwrap();
        assert_eq!(out, b"data: {}\n\n");
        assert_eq!(sse.dropped, 1);
    }
}
