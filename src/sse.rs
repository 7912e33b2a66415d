//! Server-Sent Events, read and rewritten event by event: how the gateway passes an SSE
//! stream from the origin through [`crate::filter`] without holding back anything but
//! the event it is reading.
//!
//! [`SseRewriter`] takes the stream's bytes in whatever chunks they arrive and gives back
//! bytes as soon as each event is complete. Events are parsed as the HTML standard's
//! event-stream format says (lines end with CRLF, LF or CR; a blank line dispatches;
//! `field: value`, one optional space after the colon) and written back **normalized**:
//! `event`, `id` and `retry` as they came, the `data` as the filter returned it, comments
//! reduced to a bare `:` (a keep-alive), and unknown fields dropped. So nothing the
//! filter did not see reaches the agent, whatever its client does with odd input.
//!
//! Refused, and the stream cut off at that point: a byte-order mark at the start (a
//! client would strip it and read the event behind it), an event that is not UTF-8,
//! larger than [`crate::filter::MAX_MESSAGE_BYTES`], or whose data the filter refuses.
//! An event the stream ends in the middle of is never dispatched by a client, so it is
//! dropped.

use crate::filter::{FilterError, MAX_MESSAGE_BYTES};
use std::borrow::Cow;

/// Reads an SSE stream and writes it back, event by event.
#[derive(Debug, Default)]
pub struct SseRewriter {
    buffer: Vec<u8>,
    started: bool,
    /// How far `buffer` has been searched for the end of its first event, and whether
    /// that point is at the start of a line: a long event arriving in many chunks is
    /// searched once, not once per chunk.
    scanned: usize,
    mid_line: bool,
    /// The last event ended with a CR at the end of a chunk: a LF that follows belongs
    /// to it.
    skip_lf: bool,
    /// Events passed on.
    pub events: usize,
}

impl SseRewriter {
    /// A rewriter at the start of a stream.
    pub fn new() -> Self {
        SseRewriter::default()
    }

    /// Takes the next chunk of the stream; appends to `out` every event it completes,
    /// its data rewritten by `data` (which returns the text to send).
    pub fn push(
        &mut self,
        chunk: &[u8],
        out: &mut Vec<u8>,
        data: &mut dyn FnMut(&str) -> Result<Option<String>, FilterError>,
    ) -> Result<(), FilterError> {
        if !self.started {
            self.buffer.extend_from_slice(chunk);
            if self.buffer.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.buffer) {
                return Ok(());
            }
            if self.buffer.starts_with(b"\xEF\xBB\xBF") {
                return Err(FilterError::ByteOrderMark);
            }
            self.started = true;
        } else {
            self.buffer.extend_from_slice(chunk);
        }
        let mut start = 0;
        loop {
            if self.skip_lf {
                match self.buffer.get(start) {
                    Some(b'\n') => {
                        start += 1;
                        self.skip_lf = false;
                    }
                    Some(_) => self.skip_lf = false,
                    None => break,
                }
            }
            let from = start + self.scanned;
            match event_end(self.buffer.get(from..).unwrap_or_default(), !self.mid_line) {
                Scan::End(len, cr) => {
                    let end = from + len;
                    self.skip_lf = cr;
                    let event = self.buffer.get(start..end).unwrap_or_default();
                    emit(event, out, data)?;
                    self.events += 1;
                    start = end;
                    self.scanned = 0;
                    self.mid_line = false;
                }
                Scan::More { searched, mid_line } => {
                    self.scanned = from + searched - start;
                    self.mid_line = mid_line;
                    break;
                }
            }
        }
        self.buffer.drain(..start);
        if self.buffer.len() > MAX_MESSAGE_BYTES {
            return Err(FilterError::TooLarge);
        }
        Ok(())
    }

    /// Ends the stream: an event it ends in the middle of is dropped, as a client would.
    pub fn finish(&mut self) -> usize {
        let dropped = self.buffer.len();
        self.buffer.clear();
        self.scanned = 0;
        self.mid_line = false;
        self.skip_lf = false;
        dropped
    }
}

/// One event's fields, as a client reads them.
struct Event<'t> {
    /// Whether it held a comment (a keep-alive).
    comment: bool,
    /// `event`, `id`, `retry` and `data` in order (the value of `data` is in `data`).
    fields: Vec<(&'t str, &'t str)>,
    /// Its data lines, joined with `\n`.
    data: Option<String>,
}

impl<'t> Event<'t> {
    fn parse(text: &'t str) -> Self {
        let mut event = Event {
            comment: false,
            fields: Vec::new(),
            data: None,
        };
        for line in lines(text) {
            if line.is_empty() {
                continue;
            }
            if line.starts_with(':') {
                event.comment = true;
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line, ""),
            };
            match field {
                "data" => {
                    let seen = event.fields.iter().any(|(f, _)| *f == "data");
                    let d = event.data.get_or_insert_with(String::new);
                    if seen {
                        d.push('\n');
                    }
                    d.push_str(value);
                    event.fields.push(("data", ""));
                }
                "event" | "id" | "retry" => event.fields.push((field, value)),
                _ => {}
            }
        }
        event
    }

    /// Writes the event normalized, with `data` as its data.
    fn write(&self, data: Option<&str>, out: &mut Vec<u8>) {
        if self.comment {
            out.extend_from_slice(b":\n");
        }
        for (field, value) in &self.fields {
            match *field {
                "event" => push_line(out, "event", value),
                "id" if !value.contains('\0') => push_line(out, "id", value),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    push_line(out, "retry", value);
                }
                _ => {}
            }
        }
        match data {
            None => {}
            Some("") => out.extend_from_slice(b"data:\n"),
            Some(text) => {
                for line in text.split('\n') {
                    push_line(out, "data", line.trim_end_matches('\r'));
                }
            }
        }
        out.push(b'\n');
    }
}

/// Writes one event (its bytes, with the blank line that ends it) normalized to `out`.
/// Its data goes through `filter` first: an event the filter refuses leaves nothing of
/// itself in `out`, not even its `event:` or `id:` line.
fn emit(
    event: &[u8],
    out: &mut Vec<u8>,
    filter: &mut dyn FnMut(&str) -> Result<Option<String>, FilterError>,
) -> Result<(), FilterError> {
    let text = std::str::from_utf8(event).map_err(|_| FilterError::NotUtf8)?;
    let event = Event::parse(text);
    let rewritten = match event.data.as_deref() {
        None | Some("") => None,
        Some(message) => filter(message)?,
    };
    let data: Option<Cow<'_, str>> = match (rewritten, event.data.as_deref()) {
        (Some(text), _) => Some(Cow::Owned(text)),
        (None, data) => data.map(Cow::Borrowed),
    };
    event.write(data.as_deref(), out);
    Ok(())
}

fn push_line(out: &mut Vec<u8>, field: &str, value: &str) {
    out.extend_from_slice(field.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// The lines of an event, split at CRLF, LF or CR.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let at = rest.find(['\r', '\n']).unwrap_or(rest.len());
        let line = rest.get(..at).unwrap_or_default();
        let mut next = at;
        if rest.get(at..at + 2) == Some("\r\n") {
            next += 2;
        } else if at < rest.len() {
            next += 1;
        }
        rest = rest.get(next..).unwrap_or_default();
        Some(line)
    })
}

/// How far a search for the end of an event got.
enum Scan {
    /// The event ends this many bytes after where the search began; `true` when it ended
    /// with a CR at the end of the buffer (a LF may follow, and belongs to it).
    End(usize, bool),
    /// No end yet: this many bytes were searched, ending mid-line or not. A lone `\r` at
    /// the end of the buffer is left unsearched: a `\n` may follow it.
    More { searched: usize, mid_line: bool },
}

/// Searches `buffer` for the blank line that ends an event; `line_start` says whether
/// the search begins at the start of a line.
fn event_end(buffer: &[u8], line_start: bool) -> Scan {
    let mut i = 0;
    let mut at_line_start = line_start;
    while let Some(&b) = buffer.get(i) {
        let terminator = match b {
            b'\n' => 1,
            b'\r' => match buffer.get(i + 1) {
                Some(b'\n') => 2,
                Some(_) => 1,
                // A blank line ends here whether or not a LF follows.
                None if at_line_start => return Scan::End(i + 1, true),
                None => {
                    return Scan::More {
                        searched: i,
                        mid_line: !at_line_start,
                    }
                }
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
            return Scan::End(i, false);
        }
        at_line_start = true;
    }
    Scan::More {
        searched: i,
        mid_line: !at_line_start,
    }
}
