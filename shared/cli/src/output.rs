//! Standard output for machines: one line per record, line-buffered on a terminal and
//! block-buffered in a pipe, with errors (including a closed pipe) returned, never panicking.

use std::io::{self, IsTerminal, Write};

/// A writer of lines to stdout. Call [`LineOutput::flush`] before exiting.
pub struct LineOutput {
    out: io::BufWriter<io::Stdout>,
    flush_each_line: bool,
}

impl LineOutput {
    /// Stdout, flushed after every line when it is a terminal or when `flush_each_line` is set
    /// (for streams that a reader follows live, like `dl-listen | jq`).
    pub fn stdout(flush_each_line: bool) -> Self {
        let stdout = io::stdout();
        let flush_each_line = flush_each_line || stdout.is_terminal();
        Self {
            out: io::BufWriter::with_capacity(64 * 1024, stdout),
            flush_each_line,
        }
    }

    /// Write `line` and a newline.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        if self.flush_each_line {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Push everything buffered to stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
