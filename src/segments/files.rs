//! Segments as files: `DIR/segment-N.bin`, each the segment's encoding,
//! written under a temporary name and renamed into place, so a file under
//! a final name is always whole.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{Segment, SegmentSink};

/// A directory that receives a run's segments.
#[derive(Clone, Debug)]
pub struct SegmentDir {
    dir: PathBuf,
}

impl SegmentDir {
    /// Makes `dir` ready: created if missing. A directory that holds
    /// anything is refused, unless `force`, which deletes the
    /// `segment-N.bin` files an earlier run left there (and nothing else).
    pub fn prepare(dir: &Path, force: bool) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create segment directory {}", dir.display()))?;
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read segment directory {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if !force {
                bail!(
                    "segment directory {} is not empty (pass --force to replace its segments)",
                    dir.display()
                );
            }
            if is_segment_file(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The file segment `index` is written to.
    pub fn path_of(&self, index: u64) -> PathBuf {
        self.dir.join(format!("segment-{index}.bin"))
    }

    /// Writes `segment` to its file.
    pub fn write(&self, segment: &Segment) -> anyhow::Result<()> {
        let path = self.path_of(segment.index);
        let partial = self
            .dir
            .join(format!(".segment-{}.bin.partial", segment.index));
        let written = std::fs::write(&partial, segment.encode())
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(error).with_context(|| format!("cannot write {}", path.display()));
        }
        Ok(())
    }

    /// A sink writing each segment to its file.
    pub fn sink(self) -> SegmentSink {
        Box::new(move |segment| self.write(&segment))
    }
}

/// Whether `path` is named like a segment file, `segment-N.bin`.
fn is_segment_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_prefix("segment-")
        .and_then(|rest| rest.strip_suffix(".bin"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_segment_files_are_segment_files() {
        for name in ["segment-0.bin", "segment-17.bin"] {
            assert!(is_segment_file(Path::new(name)), "{name}");
        }
        for name in [
            "segment-.bin",
            "segment-1.bin.partial",
            "segment-x.bin",
            "notes.txt",
        ] {
            assert!(!is_segment_file(Path::new(name)), "{name}");
        }
    }
}
