//! The write-ahead log: segment files of checksummed frames.
//!
//! ```text
//! <data>/wal/<segment id, 20 decimal digits>.wal
//! segment := header frame*
//! header  := "QWAL" u16 version u16 flags(=0) u64 segment_id               -- 16 bytes, little-endian
//! frame   := u32 payload_length, u32 crc32(payload_length ++ payload), payload
//! payload := a batch in the encoding of `codec` (team + records), in the segment's format version
//! ```
//!
//! This build writes version 2 and replays versions 1 and 2 (they differ in how attribute sets are encoded, see
//! `codec`), so segments left by an older build are replayed after an upgrade.
//!
//! A frame is acknowledged only after it is written and `fdatasync`ed (group commit: many concurrent appends
//! share one sync). Recovery reads each segment up to the first frame that is incomplete or fails its CRC: that
//! frame and everything after it are the torn tail of a crash (or a damaged sector) and are dropped, never
//! replayed; the dropped bytes are kept beside the segment as `<segment>.wal.dropped` for inspection. A frame whose
//! CRC is right but whose payload does not decode is not a torn write: recovery stops with an error rather than
//! guess.
//!
//! Segments are never appended to after a restart or a flush: each opens a fresh segment, so a dropped tail can
//! only ever be at the end of a segment. A segment whose id is at or below the catalog's `wal_flushed_through`
//! is already in Parquet and is deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use quarry_core::{LogRecord, TeamId};

use crate::{Error, Result, io_err, sync_dir};

const MAGIC: &[u8; 4] = b"QWAL";
/// The format version of new segments.
const VERSION: u16 = crate::codec::VERSION;
pub(crate) const HEADER_LEN: u64 = 16;
/// The largest payload of one frame.
pub(crate) const MAX_FRAME: u32 = 1 << 30;

/// The path of segment `id`.
pub(crate) fn segment_path(wal_dir: &Path, id: u64) -> PathBuf {
    wal_dir.join(format!("{id:020}.wal"))
}

/// Ids of the segments present, ascending.
pub(crate) fn list_segments(wal_dir: &Path) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(wal_dir).map_err(io_err(wal_dir))? {
        let entry = entry.map_err(io_err(wal_dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_suffix(".wal")
            .and_then(|s| s.parse::<u64>().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Creates segment `id` with its header, durably (file and directory synced).
pub(crate) fn create_segment(wal_dir: &Path, id: u64) -> Result<File> {
    let path = segment_path(wal_dir, id);
    let mut file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u16.to_le_bytes());
    header.extend_from_slice(&id.to_le_bytes());
    let written = file.write_all(&header).and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Leave no half-made segment behind (recovery would drop it anyway, but a retry must not collide).
        let _ = fs::remove_file(&path);
        return Err(Error::Io { path, source: e });
    }
    sync_dir(wal_dir)?;
    Ok(file)
}

/// Starts a frame in `out`: reserves its header, to be filled by [`finish_frame`] once the payload follows.
pub(crate) fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; 8]);
    start
}

/// Fills the header of the frame begun at `start`, whose payload is everything after it. `None` if the payload
/// exceeds the frame limit.
pub(crate) fn finish_frame(out: &mut [u8], start: usize) -> Option<()> {
    let len = u32::try_from(out.len() - start - 8)
        .ok()
        .filter(|&l| l <= MAX_FRAME)?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len.to_le_bytes());
    crc.update(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.finalize().to_le_bytes());
    Some(())
}

/// What recovery found in one segment.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    /// The decoded batches, in write order.
    pub(crate) batches: Vec<(TeamId, Vec<LogRecord>)>,
    /// Bytes dropped from the tail, and why.
    pub(crate) dropped: Option<(u64, String)>,
}

/// The frames found in a segment's bytes by [`scan_segment`].
#[derive(Debug, Default)]
pub struct SegmentScan {
    /// The decoded batches of the valid frames, in write order.
    pub batches: Vec<(TeamId, Vec<LogRecord>)>,
    /// Bytes from the start that hold the header and the valid frames; a torn or corrupt tail begins here.
    pub valid_len: usize,
    /// Why the bytes after `valid_len` were not read (`None` when every byte was).
    pub torn: Option<String>,
}

/// Reads the frames of a segment's bytes, stopping at the first incomplete or checksum-failing frame (a torn
/// tail, see the module docs). Errors, as `(offset, reason)`, are what recovery must not paper over: a bad magic
/// or version, and a frame that passes its checksum but does not decode. A pure function of the bytes (recovery
/// and the fuzz target both call it); it never panics, whatever the input.
pub fn scan_segment(data: &[u8]) -> std::result::Result<SegmentScan, (u64, String)> {
    let mut out = SegmentScan::default();
    if (data.len() as u64) < HEADER_LEN {
        out.torn = Some("segment header is incomplete".into());
        return Ok(out);
    }
    if &data[0..4] != MAGIC {
        return Err((0, "bad magic".into()));
    }
    let version = u16::from_le_bytes([data[4], data[5]]);
    if !(1..=VERSION).contains(&version) {
        return Err((
            4,
            format!("version {version}, this build reads 1 to {VERSION}"),
        ));
    }
    let mut pos = HEADER_LEN as usize;
    while pos < data.len() {
        let rest = &data[pos..];
        if rest.len() < 8 {
            out.torn = Some(format!("incomplete frame header at offset {pos}"));
            break;
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_FRAME || (len as usize) > rest.len() - 8 {
            out.torn = Some(format!("incomplete frame at offset {pos}"));
            break;
        }
        let payload = &rest[8..8 + len as usize];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&len.to_le_bytes());
        hasher.update(payload);
        if hasher.finalize() != crc {
            out.torn = Some(format!("frame checksum mismatch at offset {pos}"));
            break;
        }
        let batch = crate::codec::decode_batch(payload, version).map_err(|reason| {
            (
                pos as u64,
                format!("frame passes its checksum but does not decode: {reason}"),
            )
        })?;
        out.batches.push(batch);
        pos += 8 + len as usize;
    }
    out.valid_len = pos;
    Ok(out)
}

/// Reads a segment for recovery (see the module docs for what is dropped and what is an error). A dropped tail is
/// moved to `<segment>.dropped` and the segment is truncated to its valid frames.
pub(crate) fn replay_segment(path: &Path) -> Result<Replayed> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(io_err(path))?;
    let mut out = Replayed::default();
    if (data.len() as u64) < HEADER_LEN {
        // A crash while creating the segment: nothing in it was ever acknowledged.
        out.dropped = Some((data.len() as u64, "segment header is incomplete".into()));
        if !data.is_empty() {
            save_tail(path, &data, 0)?;
        }
        fs::remove_file(path).map_err(io_err(path))?;
        return Ok(out);
    }
    let scan = scan_segment(&data).map_err(|(offset, reason)| Error::WalCorrupt {
        path: path.to_owned(),
        offset,
        reason,
    })?;
    out.batches = scan.batches;
    if let Some(reason) = scan.torn {
        out.dropped = Some(((data.len() - scan.valid_len) as u64, reason));
        save_tail(path, &data, scan.valid_len)?;
    }
    Ok(out)
}

/// Keeps `data[from..]` as `<path>.dropped` and truncates the segment to `from` bytes, durably.
fn save_tail(path: &Path, data: &[u8], from: usize) -> Result<()> {
    let mut dropped = path.as_os_str().to_owned();
    dropped.push(".dropped");
    let dropped = PathBuf::from(dropped);
    fs::write(&dropped, &data[from..]).map_err(io_err(&dropped))?;
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err(path))?;
    f.set_len(from as u64).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::tests::with_attributes;
    use crate::codec::{encode_batch, encode_batch_v1};

    /// A segment of `version` holding one frame of `payload`.
    fn segment(version: u16, payload: &[u8]) -> Vec<u8> {
        let mut s = MAGIC.to_vec();
        s.extend_from_slice(&version.to_le_bytes());
        s.extend_from_slice(&0u16.to_le_bytes());
        s.extend_from_slice(&9u64.to_le_bytes());
        let start = begin_frame(&mut s);
        s.extend_from_slice(payload);
        finish_frame(&mut s, start).expect("small frame");
        s
    }

    #[test]
    fn segments_of_both_format_versions_replay() {
        let records = with_attributes();
        let mut v1 = Vec::new();
        encode_batch_v1(&mut v1, TeamId(2), &records);
        let mut v2 = Vec::new();
        encode_batch(&mut v2, TeamId(2), &records);
        for (version, payload) in [(1, &v1), (2, &v2)] {
            let data = segment(version, payload);
            let scan = scan_segment(&data).expect("readable");
            assert_eq!(scan.batches, vec![(TeamId(2), records.clone())]);
            assert_eq!((scan.valid_len, scan.torn), (data.len(), None));
        }
        // A payload read under the other version does not decode: an error, never other records.
        assert!(scan_segment(&segment(1, &v2)).is_err());
        assert!(scan_segment(&segment(2, &v1)).is_err());
        assert!(scan_segment(&segment(3, &v2)).is_err());
        assert!(scan_segment(&segment(0, &v2)).is_err());
    }
}
