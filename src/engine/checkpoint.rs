//! Checkpoint files: a run's whole training state at one step, so that a stopped or killed
//! run continues where it stopped (`run --resume`) and any run can be forked from one.
//!
//! A run folder holds `checkpoint.bin` (the latest), `checkpoint.prev.bin` (the one before,
//! kept until the new one is whole: a new checkpoint is written to `checkpoint.tmp`, synced,
//! then the latest becomes the previous and the new one the latest, each by a rename) and
//! `checkpoint-<step>.bin` for the steps a scenario keeps (`keep_checkpoints`).
//!
//! The format (all integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `FLCKPT\r\n` |
//! | 4 | format version (1) |
//! | 4 | header length `H` |
//! | `H` | header, JSON: fail-lab version, experiment, parameters, seed, step, total, elapsed seconds, compute threads, the lengths of `metrics.jsonl`, `log.txt` and `figures.jsonl` at the step |
//! | 8 | state length `S` |
//! | `S` | the experiment's state (`experiments::state`: networks with their optimizer's moments and step count, random streams by seed and word position, running sums and curves) |
//! | 8 | FNV-1a 64 checksum of the header and the state |

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::spec::Params;

const MAGIC: &[u8; 8] = b"FLCKPT\r\n";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The latest checkpoint of a run folder.
pub const LATEST: &str = "checkpoint.bin";
/// The one before it.
pub const PREVIOUS: &str = "checkpoint.prev.bin";
/// A checkpoint set aside because it could not be read.
pub const SET_ASIDE: &str = "checkpoint.bad.bin";
const TMP: &str = "checkpoint.tmp";

/// The file of the checkpoint kept at `step`.
pub fn kept_name(step: u64) -> String {
    format!("checkpoint-{step}.bin")
}

/// Lengths of a run's files at the checkpoint's step: a resumed run cuts them back to these,
/// so that nothing written after the checkpoint is repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileLens {
    pub metrics: u64,
    pub log: u64,
    pub figures: u64,
}

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The fail-lab version that wrote it (an experiment's state is read by the same version).
    pub version: String,
    pub experiment: String,
    pub params: Params,
    pub seed: u64,
    pub step: u64,
    pub total: u64,
    pub elapsed_s: f64,
    pub threads: usize,
    pub files: FileLens,
}

/// A checkpoint read whole and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub header: Header,
    pub state: Vec<u8>,
    pub path: PathBuf,
}

/// FNV-1a over 64-bit little-endian words (a part's last bytes padded with zeros), each part
/// after the previous one: 8 bytes a step, so that a checkpoint of tens of megabytes is summed
/// in milliseconds.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        let mut words = part.chunks_exact(8);
        for w in &mut words {
            h ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            h ^= u64::from_le_bytes(last);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= part.len() as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn header_json(h: &Header) -> Vec<u8> {
    serde_json::json!({
        "version": h.version,
        "experiment": h.experiment,
        "params": h.params.to_json(),
        "seed": h.seed,
        "step": h.step,
        "total": h.total,
        "elapsed_s": h.elapsed_s,
        "threads": h.threads,
        "files": {"metrics": h.files.metrics, "log": h.files.log, "figures": h.files.figures},
    })
    .to_string()
    .into_bytes()
}

/// Writes a checkpoint file's bytes to `out`; returns how many.
fn encode_into(h: &Header, state: &[u8], out: &mut impl Write) -> io::Result<u64> {
    let head = header_json(h);
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&(head.len() as u32).to_le_bytes())?;
    out.write_all(&head)?;
    out.write_all(&(state.len() as u64).to_le_bytes())?;
    out.write_all(state)?;
    out.write_all(&fnv1a(&[&head, state]).to_le_bytes())?;
    Ok(40 + head.len() as u64 + state.len() as u64)
}

/// The bytes of a checkpoint file.
pub fn encode(h: &Header, state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + state.len());
    encode_into(h, state, &mut out).expect("writing to memory");
    out
}

/// Reads the parameters of a header back against the experiment's definitions.
fn params_of(experiment: &str, v: &serde_json::Value) -> Result<Params, String> {
    let defs = crate::experiments::find(experiment)
        .map(|d| (d.params)())
        .ok_or_else(|| format!("it is a checkpoint of an unknown experiment \"{experiment}\""))?;
    let obj = v.as_object().ok_or("its header has no parameter table")?;
    let mut params = Params::defaults(&defs);
    for (name, value) in obj {
        let def = defs.iter().find(|d| d.name == name).ok_or_else(|| {
            format!("it has a parameter \"{name}\" that {experiment} does not have")
        })?;
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        let parsed = def
            .parse_str(&text)
            .map_err(|e| format!("its parameter {name} = {text} is not allowed: {e}"))?;
        params.insert(name, parsed);
    }
    Ok(params)
}

/// Decodes a checkpoint file's bytes; the error says what is wrong with them.
pub fn decode(bytes: &[u8]) -> Result<(Header, Vec<u8>), String> {
    if bytes.len() < 16 {
        return Err(format!(
            "it is {} bytes long, shorter than a checkpoint's first 16 (cut short?)",
            bytes.len()
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("it is not a fail-lab checkpoint (its first bytes are not FLCKPT)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(format!(
            "it is in checkpoint format {version}; this fail-lab reads format {FORMAT_VERSION}"
        ));
    }
    let hlen = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let short = || {
        format!(
            "it ends early ({} bytes): the file was cut short",
            bytes.len()
        )
    };
    let head = bytes.get(16..16 + hlen).ok_or_else(short)?;
    let slen_at = 16 + hlen;
    let slen = u64::from_le_bytes(
        bytes
            .get(slen_at..slen_at + 8)
            .ok_or_else(short)?
            .try_into()
            .expect("8 bytes"),
    ) as usize;
    let state_at = slen_at + 8;
    let state = bytes
        .get(state_at..state_at.saturating_add(slen))
        .ok_or_else(short)?;
    let sum_at = state_at + slen;
    let sum = bytes.get(sum_at..sum_at + 8).ok_or_else(short)?;
    if bytes.len() != sum_at + 8 {
        return Err(format!(
            "it has {} bytes after its end",
            bytes.len() - sum_at - 8
        ));
    }
    if u64::from_le_bytes(sum.try_into().expect("8 bytes")) != fnv1a(&[head, state]) {
        return Err("its checksum does not match its contents: the file is damaged".into());
    }
    let v: serde_json::Value =
        serde_json::from_slice(head).map_err(|e| format!("its header is not JSON: {e}"))?;
    let field = |name: &str| -> Result<&serde_json::Value, String> {
        v.get(name)
            .ok_or_else(|| format!("its header has no \"{name}\""))
    };
    let num = |name: &str| -> Result<u64, String> {
        field(name)?
            .as_u64()
            .ok_or_else(|| format!("its header's \"{name}\" is not a whole number"))
    };
    let text = |name: &str| -> Result<String, String> {
        field(name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("its header's \"{name}\" is not a text"))
    };
    let files = field("files")?;
    let file_len = |name: &str| -> Result<u64, String> {
        files
            .get(name)
            .and_then(|x| x.as_u64())
            .ok_or_else(|| format!("its header has no length of the run's {name} file"))
    };
    let experiment = text("experiment")?;
    let header = Header {
        version: text("version")?,
        params: params_of(&experiment, field("params")?)?,
        experiment,
        seed: num("seed")?,
        step: num("step")?,
        total: num("total")?,
        elapsed_s: field("elapsed_s")?.as_f64().unwrap_or(0.0),
        threads: num("threads")? as usize,
        files: FileLens {
            metrics: file_len("metrics")?,
            log: file_len("log")?,
            figures: file_len("figures")?,
        },
    };
    Ok((header, state.to_vec()))
}

/// Reads and checks one checkpoint file; the error names the file and what is wrong.
pub fn read(path: &Path) -> Result<Checkpoint, String> {
    let bytes = fs::read(path).map_err(|e| format!("{}: cannot read it: {e}", path.display()))?;
    let (header, state) = decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if header.version != env!("CARGO_PKG_VERSION") {
        return Err(format!(
            "{}: it was written by fail-lab {}, this is fail-lab {}; an experiment's state is \
             read back by the version that wrote it",
            path.display(),
            header.version,
            env!("CARGO_PKG_VERSION")
        ));
    }
    Ok(Checkpoint {
        header,
        state,
        path: path.to_path_buf(),
    })
}

/// Checks that a checkpoint belongs to a run of `experiment` with `params` and `seed`: the
/// error names the file and what differs.
pub fn check_belongs(
    c: &Checkpoint,
    experiment: &str,
    params: &Params,
    seed: u64,
) -> Result<(), String> {
    let h = &c.header;
    let path = c.path.display();
    if h.experiment != experiment {
        return Err(format!(
            "{path}: it is a checkpoint of {}, and this run is {experiment}",
            h.experiment
        ));
    }
    let differ = h.params.differing(params);
    if !differ.is_empty() {
        let show = |p: &Params, n: &str| p.get(n).map(|v| v.to_string()).unwrap_or_default();
        return Err(format!(
            "{path}: it was written by a run with other parameters ({})",
            differ
                .iter()
                .map(|n| format!(
                    "{n} = {} there, {} here",
                    show(&h.params, n),
                    show(params, n)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if h.seed != seed {
        return Err(format!(
            "{path}: it was written by a run of seed {}, and this run has seed {seed}",
            h.seed
        ));
    }
    Ok(())
}

/// The newest checkpoint of a run folder that reads and belongs to its run: the latest, else
/// the previous one. A latest that does not read is set aside (`checkpoint.bad.bin`) so that
/// the next checkpoint does not push the good previous one out. `notes` gets a line for each
/// file that was passed over. `None` when the folder holds no usable checkpoint.
pub fn latest(
    dir: &Path,
    belongs: &dyn Fn(&Checkpoint) -> Result<(), String>,
    notes: &mut Vec<String>,
) -> Option<Checkpoint> {
    for (i, name) in [LATEST, PREVIOUS].into_iter().enumerate() {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        match read(&path).and_then(|c| belongs(&c).map(|_| c)) {
            Ok(c) => {
                if i == 1 {
                    // the previous one becomes the latest again
                    if fs::rename(&path, dir.join(LATEST)).is_ok() {
                        return Some(Checkpoint {
                            path: dir.join(LATEST),
                            ..c
                        });
                    }
                }
                return Some(c);
            }
            Err(e) => {
                notes.push(format!("passed over a checkpoint: {e}"));
                if i == 0 {
                    let _ = fs::rename(&path, dir.join(SET_ASIDE));
                }
            }
        }
    }
    None
}

/// The steps whose checkpoints a run folder keeps, in order.
pub fn kept_steps(dir: &Path) -> Vec<u64> {
    let mut steps: Vec<u64> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("checkpoint-")?
                .strip_suffix(".bin")?
                .parse()
                .ok()
        })
        .collect();
    steps.sort_unstable();
    steps
}

/// Writes a checkpoint into run folder `dir`: through a temporary file, synced, then
/// renamed over the latest after the latest became the previous one. `keep` also keeps it as
/// `checkpoint-<step>.bin`. Returns its size in bytes.
pub fn write(dir: &Path, h: &Header, state: &[u8], keep: bool) -> io::Result<u64> {
    let tmp = dir.join(TMP);
    let size = {
        let mut f = io::BufWriter::with_capacity(1 << 20, fs::File::create(&tmp)?);
        let size = encode_into(h, state, &mut f)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        size
    };
    let latest = dir.join(LATEST);
    if latest.exists() {
        fs::rename(&latest, dir.join(PREVIOUS))?;
    }
    fs::rename(&tmp, &latest)?;
    if keep {
        let kept = dir.join(kept_name(h.step));
        let _ = fs::remove_file(&kept);
        if fs::hard_link(&latest, &kept).is_err() {
            fs::copy(&latest, &kept)?;
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        let defs = (crate::experiments::find("E1").unwrap().params)();
        Header {
            version: env!("CARGO_PKG_VERSION").into(),
            experiment: "E1".into(),
            params: Params::defaults(&defs),
            seed: 3,
            step: 40,
            total: 100,
            elapsed_s: 1.5,
            threads: 1,
            files: FileLens {
                metrics: 10,
                log: 20,
                figures: 0,
            },
        }
    }

    #[test]
    fn a_checkpoint_reads_back_and_every_damage_is_named() {
        let h = header();
        let bytes = encode(&h, b"state bytes");
        assert_eq!(
            decode(&bytes).unwrap(),
            (h.clone(), b"state bytes".to_vec())
        );
        for cut in [0, 10, 20, bytes.len() - 9, bytes.len() - 1] {
            let e = decode(&bytes[..cut]).unwrap_err();
            assert!(e.contains("cut short"), "{cut}: {e}");
        }
        let mut flipped = bytes.clone();
        let n = flipped.len();
        flipped[n - 12] ^= 1;
        assert!(decode(&flipped).unwrap_err().contains("checksum"));
        assert!(decode(b"PK\x03\x04 a zip file, not ours")
            .unwrap_err()
            .contains("not a fail-lab checkpoint"));
        let mut other = bytes.clone();
        other[8] = 7;
        assert!(decode(&other).unwrap_err().contains("format 7"));
    }

    #[test]
    fn a_bad_latest_falls_back_to_the_previous_and_is_set_aside() {
        let dir = std::env::temp_dir().join(format!("fail-lab-ckpt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let mut h = header();
        write(&dir, &h, b"first", false).unwrap();
        h.step = 80;
        write(&dir, &h, b"second", true).unwrap();
        assert_eq!(kept_steps(&dir), vec![80]);
        let ok = |_: &Checkpoint| Ok(());
        let mut notes = Vec::new();
        assert_eq!(latest(&dir, &ok, &mut notes).unwrap().header.step, 80);
        // the latest cut short: the previous one answers, the latest is set aside
        let bytes = fs::read(dir.join(LATEST)).unwrap();
        fs::write(dir.join(LATEST), &bytes[..bytes.len() / 2]).unwrap();
        let c = latest(&dir, &ok, &mut notes).unwrap();
        assert_eq!((c.header.step, c.state.as_slice()), (40, &b"first"[..]));
        assert!(notes[0].contains("checkpoint.bin") && notes[0].contains("cut short"));
        assert!(dir.join(SET_ASIDE).exists());
        // another experiment's checkpoint is refused by name
        let e2 = |c: &Checkpoint| check_belongs(c, "E2", &c.header.params, 3);
        let mut notes = Vec::new();
        assert!(latest(&dir, &e2, &mut notes).is_none());
        assert!(
            notes[0].contains("a checkpoint of E1, and this run is E2"),
            "{notes:?}"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
