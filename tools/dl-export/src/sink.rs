//! Where lines go: stdout (pipe-safe, through `dripline_cli::output`), or a file written
//! atomically (a temporary file beside it, renamed into place by [`Sink::finish`]), either one
//! optionally gzip-compressed. An `--output` that exists and is not a regular file (`/dev/null`,
//! a FIFO) is written directly: a file renamed over it would replace it, and as root a rename
//! over `/dev/null` replaces the machine's /dev/null.

use dripline_cli::output::LineOutput;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

const BUFFER: usize = 256 * 1024;

/// The output of one run.
pub enum Sink {
    /// Plain lines to stdout.
    Stdout(LineOutput),
    /// gzip to stdout.
    StdoutGzip(GzEncoder<BufWriter<io::Stdout>>),
    /// A temporary file that becomes `destination` when finished.
    File {
        /// The writer over the temporary file.
        writer: FileWriter,
        /// The path it will be renamed to.
        destination: PathBuf,
    },
}

/// The writer of an output file.
pub enum FileWriter {
    /// Uncompressed.
    Plain(BufWriter<FileTarget>),
    /// gzip-compressed.
    Gzip(GzEncoder<BufWriter<FileTarget>>),
}

/// Where an output file's bytes go.
pub enum FileTarget {
    /// A temporary file beside the destination, renamed into place when finished.
    Temporary(NamedTempFile),
    /// The destination itself: it exists and is not a regular file (a device, a FIFO).
    Direct(fs::File),
}

impl Write for FileTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            FileTarget::Temporary(file) => file.write(buf),
            FileTarget::Direct(file) => file.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            FileTarget::Temporary(file) => file.flush(),
            FileTarget::Direct(file) => file.flush(),
        }
    }
}

/// An output file problem, with the path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct OutputFileError {
    /// The destination (not the temporary name).
    pub path: PathBuf,
    /// What went wrong.
    pub source: io::Error,
}

impl Sink {
    /// Stdout, or a temporary file beside `output`.
    pub fn open(output: Option<&Path>, gzip: bool) -> Result<Sink, OutputFileError> {
        let Some(destination) = output else {
            return Ok(if gzip {
                Sink::StdoutGzip(GzEncoder::new(
                    BufWriter::with_capacity(BUFFER, io::stdout()),
                    Compression::default(),
                ))
            } else {
                Sink::Stdout(LineOutput::stdout(false))
            });
        };
        let fail = |source| OutputFileError {
            path: destination.to_path_buf(),
            source,
        };
        let target = match fs::metadata(destination) {
            Ok(existing) if !existing.is_file() && !existing.is_dir() => FileTarget::Direct(
                fs::OpenOptions::new()
                    .write(true)
                    .open(destination)
                    .map_err(fail)?,
            ),
            _ => FileTarget::Temporary(Self::temporary_beside(destination).map_err(fail)?),
        };
        let buffered = BufWriter::with_capacity(BUFFER, target);
        let writer = if gzip {
            FileWriter::Gzip(GzEncoder::new(buffered, Compression::default()))
        } else {
            FileWriter::Plain(buffered)
        };
        Ok(Sink::File {
            writer,
            destination: destination.to_path_buf(),
        })
    }

    /// A new temporary file in `destination`'s directory, named after it.
    fn temporary_beside(destination: &Path) -> io::Result<NamedTempFile> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let file_name = destination
            .file_name()
            .ok_or_else(|| io::Error::other("not a file name"))?;
        tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name.to_string_lossy()))
            .suffix(".partial")
            .tempfile_in(directory)
    }

    /// Write one line and a newline.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let writer: &mut dyn Write = match self {
            Sink::Stdout(out) => {
                let text = std::str::from_utf8(line)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                return out.write_line(text);
            }
            Sink::StdoutGzip(out) => out,
            Sink::File { writer, .. } => match writer {
                FileWriter::Plain(out) => out,
                FileWriter::Gzip(out) => out,
            },
        };
        writer.write_all(line)?;
        writer.write_all(b"\n")
    }

    /// Flush everything; for a file, sync it and rename it into place (a device or FIFO was
    /// written directly).
    pub fn finish(self) -> Result<(), FinishError> {
        match self {
            Sink::Stdout(mut out) => out.flush().map_err(FinishError::Stdout),
            Sink::StdoutGzip(out) => out
                .finish()
                .and_then(|mut inner| inner.flush())
                .map_err(FinishError::Stdout),
            Sink::File {
                writer,
                destination,
            } => {
                let fail = |source| {
                    FinishError::File(OutputFileError {
                        path: destination.clone(),
                        source,
                    })
                };
                let buffered = match writer {
                    FileWriter::Plain(out) => out,
                    FileWriter::Gzip(out) => out.finish().map_err(fail)?,
                };
                let temporary = match buffered.into_inner().map_err(|e| fail(e.into_error()))? {
                    FileTarget::Temporary(temporary) => temporary,
                    FileTarget::Direct(mut file) => return file.flush().map_err(fail),
                };
                let permissions = match fs::metadata(&destination) {
                    Ok(existing) => existing.permissions(),
                    Err(_) => default_permissions(),
                };
                temporary
                    .as_file()
                    .set_permissions(permissions)
                    .map_err(fail)?;
                temporary.as_file().sync_all().map_err(fail)?;
                temporary.persist(&destination).map_err(|e| fail(e.error))?;
                Ok(())
            }
        }
    }
}

#[cfg(unix)]
fn default_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> fs::Permissions {
    fs::metadata(".").map(|m| m.permissions()).expect("cwd")
}

/// Finishing failed: on stdout (maybe a closed pipe) or on the output file.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// Flushing stdout failed.
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] io::Error),
    /// The output file could not be completed.
    #[error(transparent)]
    File(OutputFileError),
}
