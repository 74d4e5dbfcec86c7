//! Reading a text file a user names (a prompt, a lesson): never more than a bound, and only text.
//!
//! `read_to_string` on a 20 MB file, `/dev/zero` or `/dev/urandom` reads until memory runs out before
//! anyone can say the file was too long. Here the caller says how many bytes could possibly be of
//! use, and reading stops one byte past that. The bytes must be UTF-8 without NUL bytes: a NUL is
//! what a binary file (weights, an image, /dev/zero) has and no text a reader typed does.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file could not be read as text; says nothing of the path, which the caller names.
#[derive(Debug)]
pub enum TextFileError {
    /// It could not be opened or read: missing, a folder, no permission.
    Io(std::io::Error),
    /// It holds more than `limit` bytes (reading stopped there).
    TooLong { limit: u64 },
    /// It is not UTF-8: the first bad byte and its offset.
    NotUtf8 { offset: usize, byte: u8 },
    /// It holds a NUL byte (at `offset`): a binary file.
    Binary { offset: usize },
}

impl fmt::Display for TextFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
                f.write_str("is a folder, not a file")
            }
            Self::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                f.write_str("does not exist")
            }
            Self::Io(e) => write!(f, "cannot be read: {e}"),
            Self::TooLong { limit } => write!(f, "is longer than {limit} bytes"),
            Self::NotUtf8 { offset, byte } => {
                write!(f, "is not UTF-8 text (byte {offset} is 0x{byte:02x})")
            }
            Self::Binary { offset } => {
                write!(f, "is not text: it holds a NUL byte (byte {offset})")
            }
        }
    }
}

impl std::error::Error for TextFileError {}

/// The text of `path`, which may hold at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, TextFileError> {
    let file = std::fs::File::open(path).map_err(TextFileError::Io)?;
    // A folder opens on Linux; reading it is what fails, with the same IsADirectory.
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(TextFileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(TextFileError::TooLong { limit });
    }
    text_of(bytes)
}

/// `bytes` as text: UTF-8 with no NUL.
fn text_of(bytes: Vec<u8>) -> Result<String, TextFileError> {
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(TextFileError::Binary { offset });
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        TextFileError::NotUtf8 {
            offset,
            byte: e.as_bytes()[offset],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_within_the_limit_and_stops_past_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        std::fs::write(&p, "naïve\n").unwrap();
        assert_eq!(read_text(&p, 7).unwrap(), "naïve\n");
        assert!(matches!(
            read_text(&p, 6),
            Err(TextFileError::TooLong { limit: 6 })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_stops_at_the_limit() {
        // /dev/zero never ends: only the limit stops it.
        let e = read_text(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(matches!(e, TextFileError::TooLong { .. }), "{e}");
    }

    #[test]
    fn binary_and_non_utf8_bytes_are_named_by_offset() {
        assert_eq!(
            text_of(b"ab\xffc".to_vec()).unwrap_err().to_string(),
            "is not UTF-8 text (byte 2 is 0xff)"
        );
        assert_eq!(
            text_of(b"a\0b".to_vec()).unwrap_err().to_string(),
            "is not text: it holds a NUL byte (byte 1)"
        );
        // A character cut at the end of the file is not UTF-8 either.
        assert!(matches!(
            text_of("é".as_bytes()[..1].to_vec()),
            Err(TextFileError::NotUtf8 { offset: 0, .. })
        ));
    }

    #[test]
    fn a_folder_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_text(dir.path(), 10).unwrap_err();
        assert_eq!(e.to_string(), "is a folder, not a file");
    }
}
