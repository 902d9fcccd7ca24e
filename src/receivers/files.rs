//! The files transport of receiver plugins (Promtail's role): tails the files that match a
//! set of globs, follows rotation by rename (the old file is read to its end through the
//! handle that is still open) and by copytruncate (a file that shrank starts again at 0),
//! joins multi-line entries, and checkpoints offsets so that a restart neither loses nor
//! repeats lines. Offsets advance only once the plugin's telemetry is accepted by the
//! pipelines; a refusal leaves them where they were, and the same lines are sent again.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::{FilesTransport, StartAt};
use crate::runtime::wit::FileLine;

/// What identifies a file across renames: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Identity {
    dev: u64,
    ino: u64,
}

/// One checkpointed file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    dev: u64,
    ino: u64,
    path: PathBuf,
    offset: u64,
}

/// One file being tailed.
struct Tailed {
    path: PathBuf,
    /// `path` as the text every line carries.
    path_text: String,
    file: File,
    /// Where the next read starts.
    read_offset: u64,
    /// Where the first byte not yet accepted downstream is (what is checkpointed).
    committed: u64,
    /// Bytes read past the last newline.
    partial: Vec<u8>,
    /// The entry being joined, with the offset of its first line and when it last grew.
    entry: Option<(String, u64, Instant, usize)>,
    /// Whether the file is still at its path (false once it was rotated away).
    current: bool,
}

/// The state of one files transport.
pub(crate) struct Tailer {
    config: FilesTransport,
    exclude: Vec<glob::Pattern>,
    multiline: Option<regex::Regex>,
    files: HashMap<Identity, Tailed>,
    checkpoint: HashMap<Identity, Saved>,
    first_scan: bool,
    /// Lines cut at `max_line`.
    pub(crate) cut_lines: u64,
    /// Whether the last poll left bytes unread (it reads at most [`READ_CHUNK`] of a file).
    more: bool,
}

/// The most a poll reads of one file: memory stays bounded however far behind the tailer is,
/// and the receiver polls again at once while [`Tailer::has_more`].
const READ_CHUNK: u64 = 1 << 20;

/// A group of lines handed to the plugin, and what committing them means.
pub(crate) struct Chunk {
    pub(crate) lines: Vec<FileLine>,
    commits: Vec<(Identity, u64)>,
}

impl Tailer {
    pub(crate) fn new(config: FilesTransport) -> Self {
        let exclude = config.exclude.iter().filter_map(|p| glob::Pattern::new(p).ok()).collect();
        let multiline = config.multiline.as_ref().and_then(|m| regex::Regex::new(&m.start).ok());
        let checkpoint = config.checkpoint.as_deref().map(load_checkpoint).unwrap_or_default();
        Self {
            config,
            exclude,
            multiline,
            files: HashMap::new(),
            checkpoint,
            first_scan: true,
            cut_lines: 0,
            more: false,
        }
    }

    /// Finds new and rotated files, then reads what was appended; returns chunks of at most
    /// `lines_per_call` lines.
    pub(crate) fn poll(&mut self) -> Vec<Chunk> {
        self.scan();
        let mut chunks = Vec::new();
        let mut current = Chunk { lines: Vec::new(), commits: Vec::new() };
        let identities: Vec<Identity> = self.files.keys().copied().collect();
        self.more = false;
        for identity in identities {
            let lines = self.read(identity);
            let path = &self.files[&identity].path_text;
            for (line, offset, end) in lines {
                current.lines.push(FileLine { path: path.clone(), line, offset });
                // Committing a file's lines means committing the end of its last one.
                match current.commits.last_mut() {
                    Some((last, last_end)) if *last == identity => *last_end = end,
                    _ => current.commits.push((identity, end)),
                }
                if current.lines.len() >= self.config.lines_per_call {
                    chunks.push(std::mem::replace(&mut current, Chunk { lines: Vec::new(), commits: Vec::new() }));
                }
            }
        }
        if !current.lines.is_empty() {
            chunks.push(current);
        }
        // Files rotated away, read to their end and committed are done (until a chunk of
        // theirs is accepted, a refusal may still rewind them).
        self.files.retain(|_, tailed| {
            tailed.current
                || tailed.read_offset < file_len(&tailed.file)
                || tailed.committed < tailed.read_offset
                || tailed.entry.is_some()
        });
        chunks
    }

    /// Whether the last poll stopped short of the end of a file, so the next should come now.
    pub(crate) fn has_more(&self) -> bool {
        self.more
    }

    /// Records that a chunk was accepted downstream.
    pub(crate) fn commit(&mut self, chunk: &Chunk) {
        for (identity, end) in &chunk.commits {
            if let Some(tailed) = self.files.get_mut(identity) {
                tailed.committed = tailed.committed.max(*end);
                self.checkpoint.insert(
                    *identity,
                    Saved { dev: identity.dev, ino: identity.ino, path: tailed.path.clone(), offset: tailed.committed },
                );
            }
        }
        self.save();
    }

    /// Rewinds the files of a refused chunk to their last committed offsets, so the same
    /// lines are read again.
    pub(crate) fn rewind(&mut self, chunk: &Chunk) {
        for (identity, _) in &chunk.commits {
            if let Some(tailed) = self.files.get_mut(identity) {
                tailed.read_offset = tailed.committed;
                tailed.partial.clear();
                tailed.entry = None;
            }
        }
    }

    fn scan(&mut self) {
        let mut seen: HashMap<PathBuf, Identity> = HashMap::new();
        for pattern in &self.config.include {
            let Ok(paths) = glob::glob(pattern) else { continue };
            for path in paths.flatten() {
                if self.exclude.iter().any(|e| e.matches_path(&path)) || !path.is_file() {
                    continue;
                }
                let Ok(metadata) = std::fs::metadata(&path) else { continue };
                seen.insert(path, Identity { dev: metadata.dev(), ino: metadata.ino() });
            }
        }
        for tailed in self.files.values_mut() {
            if seen.get(&tailed.path).is_none_or(|identity| !same_file(&tailed.file, *identity)) {
                tailed.current = false;
            }
        }
        for (path, identity) in seen {
            if let Some(tailed) = self.files.get_mut(&identity) {
                tailed.current = true;
                tailed.path_text = path.display().to_string();
                tailed.path = path;
                continue;
            }
            let Ok(file) = File::open(&path) else { continue };
            let len = file_len(&file);
            let start = match self.checkpoint.get(&identity) {
                Some(saved) if saved.offset <= len => saved.offset,
                Some(_) => 0,
                None if self.first_scan && self.config.start_at == StartAt::End => len,
                None => 0,
            };
            tracing::debug!(path = %path.display(), offset = start, "Tailing a file.");
            self.files.insert(
                identity,
                Tailed {
                    path_text: path.display().to_string(),
                    path,
                    file,
                    read_offset: start,
                    committed: start,
                    partial: Vec::new(),
                    entry: None,
                    current: true,
                },
            );
        }
        self.first_scan = false;
    }

    /// Reads what was appended to one file: (line, offset of its first byte, offset after it).
    fn read(&mut self, identity: Identity) -> Vec<(String, u64, u64)> {
        let max_line = self.config.max_line.as_u64() as usize;
        let multiline = self.multiline.clone();
        let (timeout, max_lines) =
            self.config.multiline.as_ref().map_or((std::time::Duration::ZERO, 1), |m| (m.timeout, m.max_lines));
        let tailed = self.files.get_mut(&identity).expect("known file");
        let len = file_len(&tailed.file);
        if len < tailed.read_offset && tailed.current {
            tracing::info!(path = %tailed.path.display(), "The file was truncated; reading it from the start.");
            tailed.read_offset = 0;
            tailed.committed = 0;
            tailed.partial.clear();
            tailed.entry = None;
        }
        let mut out = Vec::new();
        // The offset of the first byte of `partial`, which the new bytes are read after.
        let mut line_start = tailed.read_offset - tailed.partial.len() as u64;
        let mut data = std::mem::take(&mut tailed.partial);
        if len > tailed.read_offset && tailed.file.seek(SeekFrom::Start(tailed.read_offset)).is_ok() {
            let want = (len - tailed.read_offset).min(READ_CHUNK);
            let before = data.len();
            let _ = (&tailed.file).take(want).read_to_end(&mut data);
            tailed.read_offset += (data.len() - before) as u64;
            self.more |= tailed.read_offset < len;
        }
        let mut rest = &data[..];
        loop {
            let newline = memchr::memchr(b'\n', rest);
            let (raw, consumed) = match newline {
                Some(at) if at <= max_line => (&rest[..at], at + 1),
                _ if rest.len() > max_line => {
                    self.cut_lines += 1;
                    (&rest[..max_line], max_line)
                }
                _ => break,
            };
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = match std::str::from_utf8(raw) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(raw).into_owned(),
            };
            let end = line_start + consumed as u64;
            match &multiline {
                None => out.push((line, line_start, end)),
                Some(start) => {
                    let starts = start.is_match(&line);
                    match &mut tailed.entry {
                        Some((text, _, touched, count)) if !starts && *count < max_lines => {
                            text.push('\n');
                            text.push_str(&line);
                            *touched = Instant::now();
                            *count += 1;
                        }
                        entry => {
                            if let Some((text, offset, _, _)) = entry.take() {
                                out.push((text, offset, line_start));
                            }
                            *entry = Some((line, line_start, Instant::now(), 1));
                        }
                    }
                }
            }
            line_start = end;
            rest = &rest[consumed..];
        }
        tailed.partial = rest.to_vec();
        // A joined entry that stopped growing is complete; so is the last one of a rotated file.
        if let Some((_, _, touched, _)) = &tailed.entry
            && (touched.elapsed() >= timeout || (!tailed.current && tailed.partial.is_empty()))
        {
            let (text, offset, _, _) = tailed.entry.take().expect("checked");
            out.push((text, offset, line_start));
        }
        out
    }

    fn save(&self) {
        let Some(path) = &self.config.checkpoint else { return };
        let saved: Vec<&Saved> = self.checkpoint.values().collect();
        let Ok(text) = serde_json::to_string_pretty(&saved) else { return };
        let temporary = path.with_extension("tmp");
        let result = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
        if let Err(error) = result {
            tracing::warn!(path = %path.display(), %error, "Cannot write the files checkpoint.");
        }
    }
}

fn load_checkpoint(path: &Path) -> HashMap<Identity, Saved> {
    let Ok(text) = std::fs::read_to_string(path) else { return HashMap::new() };
    match serde_json::from_str::<Vec<Saved>>(&text) {
        Ok(saved) => saved.into_iter().map(|s| (Identity { dev: s.dev, ino: s.ino }, s)).collect(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "The files checkpoint is unreadable; starting without it.");
            HashMap::new()
        }
    }
}

fn file_len(file: &File) -> u64 {
    file.metadata().map_or(0, |m| m.len())
}

fn same_file(file: &File, identity: Identity) -> bool {
    file.metadata().is_ok_and(|m| m.dev() == identity.dev && m.ino() == identity.ino)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn config(dir: &Path, multiline: Option<&str>) -> FilesTransport {
        FilesTransport {
            include: vec![format!("{}/*.log", dir.display())],
            exclude: vec![],
            poll_interval: std::time::Duration::from_millis(10),
            start_at: StartAt::Beginning,
            checkpoint: Some(dir.join("checkpoint.json")),
            multiline: multiline.map(|start| crate::config::MultilineConfig {
                start: start.into(),
                timeout: std::time::Duration::ZERO,
                max_lines: 100,
            }),
            max_line: bytesize::ByteSize::kib(64),
            lines_per_call: 1000,
        }
    }

    fn lines(tailer: &mut Tailer) -> Vec<String> {
        let chunks = tailer.poll();
        let mut out = Vec::new();
        for chunk in &chunks {
            tailer.commit(chunk);
            out.extend(chunk.lines.iter().map(|l| l.line.clone()));
        }
        out
    }

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn follows_appends_renames_and_truncation_and_resumes_from_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("app.log");
        append(&log, "one\ntwo\nthr");
        let mut tailer = Tailer::new(config(dir.path(), None));
        assert_eq!(lines(&mut tailer), ["one", "two"]);
        append(&log, "ee\n");
        assert_eq!(lines(&mut tailer), ["three"]);

        // Rotation by rename: the rest of the old file is still read, then the new file.
        append(&log, "four\n");
        std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
        append(&log, "five\n");
        let mut got = lines(&mut tailer);
        got.sort();
        assert_eq!(got, ["five", "four"]);

        // Copytruncate: the file shrinks and is read from the start.
        std::fs::write(&log, "").unwrap();
        assert!(lines(&mut tailer).is_empty());
        append(&log, "six\n");
        assert_eq!(lines(&mut tailer), ["six"]);

        // A restart resumes at the checkpoint: nothing lost, nothing repeated.
        drop(tailer);
        append(&log, "seven\n");
        let mut restarted = Tailer::new(config(dir.path(), None));
        assert_eq!(lines(&mut restarted), ["seven"]);
    }

    #[test]
    fn refused_lines_are_read_again() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), "one\ntwo\n");
        let mut tailer = Tailer::new(config(dir.path(), None));
        let chunks = tailer.poll();
        tailer.rewind(&chunks[0]);
        assert_eq!(lines(&mut tailer), ["one", "two"]);
        assert!(lines(&mut tailer).is_empty());
    }

    #[test]
    fn a_long_backlog_is_read_in_bounded_steps_without_loss_or_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("big.log");
        // About 3 MiB: more than one read, with lines straddling the read boundaries.
        let expected: Vec<String> = (0..40_000).map(|i| format!("line {i} {}", "x".repeat(i % 150))).collect();
        append(&log, &(expected.join("\n") + "\n"));
        let mut tailer = Tailer::new(config(dir.path(), None));
        let mut got = Vec::new();
        let mut polls = 0;
        loop {
            got.extend(lines(&mut tailer));
            polls += 1;
            if !tailer.has_more() {
                break;
            }
        }
        assert!(polls >= 3, "a 3 MiB backlog took {polls} polls");
        assert_eq!(got, expected);
        // A refusal in the middle of a backlog rewinds only to what was committed.
        append(&log, "after one\nafter two\n");
        let chunks = tailer.poll();
        for chunk in &chunks {
            tailer.rewind(chunk);
        }
        assert_eq!(lines(&mut tailer), ["after one", "after two"]);
    }

    #[test]
    fn joins_multiline_entries_by_their_start_pattern() {
        let dir = tempfile::tempdir().unwrap();
        append(&dir.path().join("a.log"), "2024-01-25 ERROR boom\n  at db.insert\n  at handler\n2024-01-25 INFO ok\n");
        let mut tailer = Tailer::new(config(dir.path(), Some(r"^\d{4}-")));
        assert_eq!(lines(&mut tailer), ["2024-01-25 ERROR boom\n  at db.insert\n  at handler", "2024-01-25 INFO ok"]);
    }
}
