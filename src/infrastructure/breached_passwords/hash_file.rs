//! The offline check: a local file of SHA-1 hashes, sorted, uppercase hex, one per line,
//! optionally `:COUNT` after it (Have I Been Pwned's downloadable "ordered by hash" format).
//! Searched by binary search over byte offsets with seeks, so a 40 GB file costs about 35 short
//! reads per check and is never loaded.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// No line of the format is longer (40 hex, a colon, a count); a longer one is a corrupt file.
const MAX_LINE: u64 = 256;

/// Is `sha1` (40 uppercase hex) in the file with a count above 0 (or no count)?
pub fn contains(path: &Path, sha1: &str) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    // The smallest offset whose next line (the first starting at or after it) is >= sha1, or
    // absent: the predicate is monotonic in the offset because the lines are sorted.
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match line_from(&mut file, mid)? {
            Some(line) if compare(&line, sha1) == Ordering::Less => lo = mid + 1,
            _ => hi = mid,
        }
    }
    Ok(line_from(&mut file, lo)?
        .is_some_and(|line| compare(&line, sha1) == Ordering::Equal && count(&line) != Some(0)))
}

/// The first whole line that starts at or after `offset` (without its line ending).
fn line_from(file: &mut File, offset: u64) -> io::Result<Option<String>> {
    let start = if offset == 0 {
        0
    } else {
        // The byte before `offset` tells whether a line starts exactly there.
        file.seek(SeekFrom::Start(offset - 1))?;
        let mut reader = BufReader::new(&mut *file).take(MAX_LINE);
        let mut skipped = Vec::new();
        reader.read_until(b'\n', &mut skipped)?;
        if skipped.last() != Some(&b'\n') {
            return Ok(None);
        }
        offset - 1 + skipped.len() as u64
    };
    file.seek(SeekFrom::Start(start))?;
    let mut line = Vec::new();
    BufReader::new(&mut *file)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)?;
    let line = String::from_utf8_lossy(&line).trim_end().to_owned();
    Ok((!line.is_empty()).then_some(line))
}

fn compare(line: &str, sha1: &str) -> Ordering {
    let hash = line.split(':').next().unwrap_or_default();
    hash.to_ascii_uppercase().as_str().cmp(sha1)
}

fn count(line: &str) -> Option<u64> {
    line.split_once(':')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A temporary file, removed on drop (even when an assertion fails).
    struct TempFile(std::path::PathBuf);

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn file_of(lines: &[String]) -> TempFile {
        let path = std::env::temp_dir().join(format!("hexactor-sha1-{}.txt", uuid::Uuid::new_v4()));
        let mut file = File::create(&path).unwrap();
        for line in lines {
            write!(file, "{line}\r\n").unwrap();
        }
        TempFile(path)
    }

    #[test]
    fn every_line_is_found_and_nothing_between_them() {
        // 0000…, 0003…, 0006…: hashes every third value, so the ones between are misses.
        let hashes: Vec<String> = (0..500u32).map(|i| format!("{:040X}", i * 3)).collect();
        let lines: Vec<String> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i % 2 == 0 {
                    format!("{h}:{}", i + 1)
                } else {
                    h.clone()
                }
            })
            .collect();
        let file = file_of(&lines);
        for (i, hash) in hashes.iter().enumerate() {
            assert!(contains(&file.0, hash).unwrap(), "line {i}");
            let miss = format!("{:040X}", i * 3 + 1);
            assert!(!contains(&file.0, &miss).unwrap(), "{miss}");
        }
        assert!(!contains(&file.0, &"F".repeat(40)).unwrap(), "past the end");
    }

    #[test]
    fn a_count_of_zero_is_padding_and_an_empty_file_holds_nothing() {
        let hash = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
        let file = file_of(&[format!("{hash}:0")]);
        assert!(!contains(&file.0, hash).unwrap());
        let empty = file_of(&[]);
        assert!(!contains(&empty.0, hash).unwrap());
        assert!(contains(Path::new("/nonexistent/sha1.txt"), hash).is_err());
    }
}
