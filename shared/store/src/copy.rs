//! A decoder for PostgreSQL's binary COPY format (`COPY … TO STDOUT (FORMAT binary)`).
//!
//! The stream is an 11-byte signature, two 32-bit header words (flags, extension length) and the
//! extension, then one tuple per row: a 16-bit field count (−1 ends the data), and per field a
//! 32-bit length (−1 for NULL) followed by that many bytes in the type's binary send format.
//! Rows are handed to a callback as a [`CopyRow`] of byte slices borrowed from the reader's
//! buffer, so decoding allocates nothing per row.

use std::io::{self, BufRead};

/// The binary COPY signature.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The most columns a row may have.
pub const MAX_COLUMNS: usize = 32;

/// Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01T00:00:00Z).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// One row: its fields as raw binary values (`None` for NULL).
pub struct CopyRow<'a> {
    fields: [Option<&'a [u8]>; MAX_COLUMNS],
    len: usize,
}

impl<'a> CopyRow<'a> {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the row has no fields.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The raw bytes of field `i` (`None` for NULL).
    pub fn raw(&self, i: usize) -> Option<&'a [u8]> {
        self.fields[i]
    }

    /// A `text` field as bytes (UTF-8: the client encoding is UTF8).
    pub fn text(&self, i: usize) -> Option<&'a [u8]> {
        self.fields[i]
    }

    /// A `double precision` field.
    pub fn float8(&self, i: usize) -> io::Result<Option<f64>> {
        self.fixed::<8>(i).map(|b| b.map(f64::from_be_bytes))
    }

    /// A `bigint` field.
    pub fn int8(&self, i: usize) -> io::Result<Option<i64>> {
        self.fixed::<8>(i).map(|b| b.map(i64::from_be_bytes))
    }

    /// An `integer` field.
    pub fn int4(&self, i: usize) -> io::Result<Option<i32>> {
        self.fixed::<4>(i).map(|b| b.map(i32::from_be_bytes))
    }

    /// A `timestamptz` field as microseconds since the Unix epoch (`i64::MAX`/`MIN` stay
    /// as they are: PostgreSQL's `infinity`/`-infinity`).
    pub fn timestamptz(&self, i: usize) -> io::Result<Option<i64>> {
        self.int8(i).map(|v| {
            v.map(|pg| match pg {
                i64::MAX | i64::MIN => pg,
                _ => pg + PG_EPOCH_UNIX_MICROS,
            })
        })
    }

    fn fixed<const N: usize>(&self, i: usize) -> io::Result<Option<[u8; N]>> {
        match self.fields[i] {
            None => Ok(None),
            Some(bytes) => bytes.try_into().map(Some).map_err(|_| {
                invalid(format!(
                    "column {i}: expected {N} bytes, got {}",
                    bytes.len()
                ))
            }),
        }
    }
}

/// Where a streaming copy failed: reading the source, or in the callback (the sink).
#[derive(Debug)]
pub enum CopyError<E> {
    /// The stream could not be read or was malformed.
    Source(io::Error),
    /// The callback failed.
    Sink(E),
}

fn invalid(message: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("binary COPY stream: {message}"),
    )
}

/// A push decoder: feed it the stream's chunks as they arrive (any split is fine), and it calls
/// back once per complete row. Complete rows are parsed straight from the chunk; only a row
/// split across chunks is copied (the server sends one message per row, so that is rare).
#[derive(Default)]
pub struct Decoder {
    header_done: bool,
    finished: bool,
    pending: Vec<u8>,
    rows: u64,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows decoded so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Decode what `chunk` completes, calling `each` for every whole row.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        each: &mut impl FnMut(&CopyRow<'_>) -> Result<(), E>,
    ) -> Result<(), CopyError<E>> {
        if self.pending.is_empty() {
            let used = self.decode(chunk, each)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.decode(&pending, each);
            let used = match used {
                Ok(used) => used,
                Err(e) => {
                    self.pending = pending;
                    return Err(e);
                }
            };
            pending.drain(..used);
            self.pending = pending;
        }
        Ok(())
    }

    /// Check that the stream ended properly (with its trailer); returns the row count.
    pub fn finish<E>(self) -> Result<u64, CopyError<E>> {
        if self.finished && self.pending.is_empty() {
            Ok(self.rows)
        } else {
            Err(CopyError::Source(invalid(
                "ended without a trailer (truncated)".into(),
            )))
        }
    }

    /// Decode as much of `bytes` as is complete; returns how many bytes were used.
    fn decode<E>(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut(&CopyRow<'_>) -> Result<(), E>,
    ) -> Result<usize, CopyError<E>> {
        let mut at = 0;
        if !self.header_done {
            if bytes.len() < 19 {
                return Ok(0);
            }
            if &bytes[..11] != SIGNATURE {
                return Err(CopyError::Source(invalid("bad signature".into())));
            }
            let extension = u32::from_be_bytes(bytes[15..19].try_into().expect("4 bytes")) as usize;
            if bytes.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_done = true;
        }
        while at < bytes.len() {
            if self.finished {
                return Err(CopyError::Source(invalid("data after the trailer".into())));
            }
            match tuple_length(&bytes[at..]).map_err(CopyError::Source)? {
                None => break,
                Some(Tuple::End) => {
                    self.finished = true;
                    at += 2;
                }
                Some(Tuple::Row(length)) => {
                    let row = parse_row(&bytes[at..at + length]);
                    each(&row).map_err(CopyError::Sink)?;
                    self.rows += 1;
                    at += length;
                }
            }
        }
        Ok(at)
    }
}

/// Read a whole binary COPY stream from `reader`, calling `each` for every row; returns the
/// number of rows.
pub fn for_each_row<R: BufRead, E>(
    mut reader: R,
    mut each: impl FnMut(&CopyRow<'_>) -> Result<(), E>,
) -> Result<u64, CopyError<E>> {
    let mut decoder = Decoder::new();
    loop {
        let chunk = reader.fill_buf().map_err(CopyError::Source)?;
        if chunk.is_empty() {
            return decoder.finish();
        }
        let length = chunk.len();
        decoder.feed(chunk, &mut each)?;
        reader.consume(length);
    }
}

enum Tuple {
    End,
    Row(usize),
}

/// The length of the tuple at the start of `bytes`, or `None` if it is not all there.
fn tuple_length(bytes: &[u8]) -> io::Result<Option<Tuple>> {
    if bytes.len() < 2 {
        return Ok(None);
    }
    let count = i16::from_be_bytes([bytes[0], bytes[1]]);
    if count == -1 {
        return Ok(Some(Tuple::End));
    }
    if count < 0 || count as usize > MAX_COLUMNS {
        return Err(invalid(format!("bad field count {count}")));
    }
    let mut at = 2usize;
    for _ in 0..count {
        if bytes.len() < at + 4 {
            return Ok(None);
        }
        let length = i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        at += 4;
        if length > 0 {
            at += length as usize;
        } else if length < -1 {
            return Err(invalid(format!("bad field length {length}")));
        }
    }
    Ok((bytes.len() >= at).then_some(Tuple::Row(at)))
}

/// Split a complete tuple (checked by [`tuple_length`]) into fields.
fn parse_row(bytes: &[u8]) -> CopyRow<'_> {
    let count = i16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    let mut row = CopyRow {
        fields: [None; MAX_COLUMNS],
        len: count,
    };
    let mut at = 2usize;
    for field in row.fields.iter_mut().take(count) {
        let length = i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        at += 4;
        if length >= 0 {
            let end = at + length as usize;
            *field = Some(&bytes[at..end]);
            at = end;
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&3u32.to_be_bytes());
        out.extend_from_slice(b"ext");
        for row in rows {
            out.extend_from_slice(&(row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(bytes) => {
                        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                        out.extend_from_slice(bytes);
                    }
                }
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    #[test]
    fn decodes_rows_split_anywhere() {
        let rows = vec![
            vec![
                Some(b"peaches".to_vec()),
                Some(0i64.to_be_bytes().to_vec()),
                Some(1.5f64.to_be_bytes().to_vec()),
                None,
            ],
            vec![
                Some(b"chips".to_vec()),
                Some(1_000_000i64.to_be_bytes().to_vec()),
                Some((-2.0f64).to_be_bytes().to_vec()),
                Some(3.0f64.to_be_bytes().to_vec()),
            ],
        ];
        let bytes = stream(&rows);
        for capacity in [1, 2, 3, 7, 64, 4096] {
            let reader = io::BufReader::with_capacity(capacity, bytes.as_slice());
            let mut seen = Vec::new();
            let count = for_each_row(reader, |row| -> Result<(), ()> {
                seen.push((
                    String::from_utf8(row.text(0).unwrap().to_vec()).unwrap(),
                    row.timestamptz(1).unwrap().unwrap(),
                    row.float8(2).unwrap().unwrap(),
                    row.float8(3).unwrap(),
                ));
                Ok(())
            })
            .map_err(|e| format!("{e:?}"))
            .unwrap();
            assert_eq!(count, 2, "capacity {capacity}");
            assert_eq!(seen[0], ("peaches".into(), PG_EPOCH_UNIX_MICROS, 1.5, None));
            assert_eq!(
                seen[1],
                (
                    "chips".into(),
                    PG_EPOCH_UNIX_MICROS + 1_000_000,
                    -2.0,
                    Some(3.0)
                )
            );
        }
    }

    #[test]
    fn truncated_streams_fail() {
        let bytes = stream(&[vec![Some(b"x".to_vec())]]);
        let cut = &bytes[..bytes.len() - 3];
        let result = for_each_row(cut, |_| -> Result<(), ()> { Ok(()) });
        assert!(matches!(result, Err(CopyError::Source(_))));
        let result = for_each_row(&b"NOTCOPY"[..], |_| -> Result<(), ()> { Ok(()) });
        assert!(matches!(result, Err(CopyError::Source(_))));
    }
}
