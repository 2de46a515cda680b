//! The run's output directory, and the one way files get into it: written under a `.tmp` name,
//! then renamed. A run that is interrupted, or a writer that is dropped before `commit`, leaves
//! no half-written file under a final name.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Why an output could not be written. Each message names the path involved.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "output directory {} already exists and is not empty; \
         pass --force to overwrite simrq's files in it",
        .dir.display()
    )]
    NotEmpty { dir: PathBuf },
    #[error("{} exists and is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot write {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot render {}: {reason}", .path.display())]
    Render { path: PathBuf, reason: String },
}

impl ReportError {
    pub fn io(path: &Path, source: io::Error) -> ReportError {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Suffix of files still being written.
pub const TMP_SUFFIX: &str = ".tmp";

/// File names simrq writes; `--force` removes these (and `.tmp` leftovers) and nothing else.
const SIMRQ_FILE_EXTENSIONS: [&str; 5] = ["csv", "json", "svg", "png", "md"];

/// A directory that receives a run's outputs.
#[derive(Clone, Debug)]
pub struct OutputDir {
    path: PathBuf,
}

impl OutputDir {
    /// Creates `path` (and its parents). An existing empty directory is used as it is. An
    /// existing non-empty one is refused unless `force`; with `force`, simrq's own kinds of
    /// files in it (`.csv`, `.json`, `.svg`, `.png`, `.md`, `.tmp`) are removed first, so no
    /// stale output of an earlier run survives beside the new one, and anything else is left.
    pub fn create(path: &Path, force: bool) -> Result<OutputDir, ReportError> {
        if path.exists() {
            if !path.is_dir() {
                return Err(ReportError::NotADirectory {
                    path: path.to_path_buf(),
                });
            }
            let entries = sorted_entries(path)?;
            if !entries.is_empty() && !force {
                return Err(ReportError::NotEmpty {
                    dir: path.to_path_buf(),
                });
            }
            remove_simrq_files(&entries)?;
        } else {
            fs::create_dir_all(path).map_err(|e| ReportError::io(path, e))?;
        }
        Ok(OutputDir {
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The final path of the output `name`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a whole file at once, via a temporary name.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), ReportError> {
        let mut file = self.create_file(name)?;
        file.write_all(bytes)
            .map_err(|e| ReportError::io(&file.tmp_path, e))?;
        file.commit()
    }

    /// Opens a streamed output: bytes go to `<name>.tmp` until [`AtomicFile::commit`].
    pub fn create_file(&self, name: &str) -> Result<AtomicFile, ReportError> {
        AtomicFile::create(&self.file(name))
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let reader = fs::read_dir(dir).map_err(|e| ReportError::io(dir, e))?;
    let mut entries = Vec::new();
    for entry in reader {
        entries.push(entry.map_err(|e| ReportError::io(dir, e))?.path());
    }
    entries.sort();
    Ok(entries)
}

fn remove_simrq_files(entries: &[PathBuf]) -> Result<(), ReportError> {
    for path in entries {
        let is_ours = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "tmp" || SIMRQ_FILE_EXTENSIONS.contains(&e));
        if is_ours && path.is_file() {
            fs::remove_file(path).map_err(|e| ReportError::io(path, e))?;
        }
    }
    Ok(())
}

/// A buffered file written under `<final>.tmp` and renamed to its final name by
/// [`commit`](AtomicFile::commit). Dropping it uncommitted removes the temporary file.
pub struct AtomicFile {
    final_path: PathBuf,
    tmp_path: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(final_path: &Path) -> Result<AtomicFile, ReportError> {
        let mut tmp_name = final_path.as_os_str().to_owned();
        tmp_name.push(TMP_SUFFIX);
        let tmp_path = PathBuf::from(tmp_name);
        let file = File::create(&tmp_path).map_err(|e| ReportError::io(&tmp_path, e))?;
        Ok(AtomicFile {
            final_path: final_path.to_path_buf(),
            tmp_path,
            writer: Some(BufWriter::new(file)),
        })
    }

    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    pub fn tmp_path(&self) -> &Path {
        &self.tmp_path
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(mut self) -> Result<(), ReportError> {
        let writer = self.writer.take().expect("an AtomicFile is committed once");
        let file = writer
            .into_inner()
            .map_err(|e| ReportError::io(&self.tmp_path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| ReportError::io(&self.tmp_path, e))?;
        drop(file);
        fs::rename(&self.tmp_path, &self.final_path)
            .map_err(|e| ReportError::io(&self.final_path, e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.writer
            .as_mut()
            .expect("no writes after commit")
            .write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer
            .as_mut()
            .expect("no writes after commit")
            .write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("no flush after commit").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            // Not committed: the partial file must not look like an output.
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_empty_directory_is_refused_without_force_and_named_in_the_error() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("events.csv"), "old").unwrap();
        let error = OutputDir::create(root.path(), false).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&root.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("--force"), "{message}");
        assert_eq!(
            fs::read_to_string(root.path().join("events.csv")).unwrap(),
            "old"
        );
    }

    #[test]
    fn force_removes_old_outputs_but_leaves_other_files() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("events.csv"), "old").unwrap();
        fs::write(root.path().join("jobs.csv.tmp"), "partial").unwrap();
        fs::write(root.path().join("notes.txt"), "mine").unwrap();
        let dir = OutputDir::create(root.path(), true).unwrap();
        assert!(!dir.file("events.csv").exists());
        assert!(!dir.file("jobs.csv.tmp").exists());
        assert_eq!(fs::read_to_string(dir.file("notes.txt")).unwrap(), "mine");
    }

    #[test]
    fn a_missing_or_empty_directory_is_fine_without_force() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        OutputDir::create(&nested, false).unwrap();
        OutputDir::create(&nested, false).unwrap();
        assert!(nested.is_dir());
    }

    #[test]
    fn a_file_appears_under_its_final_name_only_when_committed() {
        let root = tempfile::tempdir().unwrap();
        let dir = OutputDir::create(root.path(), false).unwrap();
        let mut file = dir.create_file("x.csv").unwrap();
        file.write_all(b"a,b\n").unwrap();
        assert!(!dir.file("x.csv").exists());
        assert!(dir.file("x.csv.tmp").exists());
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(dir.file("x.csv")).unwrap(), "a,b\n");
        assert!(!dir.file("x.csv.tmp").exists());
    }

    #[test]
    fn a_dropped_uncommitted_file_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dir = OutputDir::create(root.path(), false).unwrap();
        let mut file = dir.create_file("y.csv").unwrap();
        file.write_all(b"partial").unwrap();
        drop(file);
        assert!(!dir.file("y.csv").exists());
        assert!(!dir.file("y.csv.tmp").exists());
    }
}
