//! An experiment's training state as bytes, for checkpoints: a writer and a reader of plain
//! little-endian fields (integers, floats, float arrays, strings, a network with its
//! optimizer's state, a random stream's position), read back in the order they were written.
//! The engine wraps these bytes in a checkpoint file (`engine::checkpoint`).

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;

use crate::nn::TrainSnapshot;

/// The random stream of a resumable experiment: the generator behind rand's `StdRng` (the same
/// numbers from the same seed), whose position can be read and set.
pub type Stream = ChaCha12Rng;

/// A stream from a 64-bit seed, the same numbers as `StdRng::seed_from_u64(seed)`.
pub fn stream_from(seed: u64) -> Stream {
    Stream::seed_from_u64(seed)
}

/// Fields appended in order.
#[derive(Debug, Default)]
pub struct StateWriter {
    buf: Vec<u8>,
}

impl StateWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u64(v as u64)
    }

    pub fn opt_u64(&mut self, v: Option<u64>) -> &mut Self {
        self.bool(v.is_some()).u64(v.unwrap_or(0))
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
        self
    }

    pub fn f32s(&mut self, v: &[f32]) -> &mut Self {
        self.u64(v.len() as u64);
        self.buf.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        self
    }

    /// A series of (step, value) points.
    pub fn points(&mut self, v: &[(u64, f64)]) -> &mut Self {
        self.u64(v.len() as u64);
        for &(s, x) in v {
            self.u64(s).f64(x);
        }
        self
    }

    /// A random stream: its seed, stream number and word position.
    pub fn stream(&mut self, rng: &Stream) -> &mut Self {
        self.buf.extend_from_slice(&rng.get_seed());
        self.u64(rng.get_stream());
        let pos = rng.get_word_pos();
        self.u64(pos as u64).u64((pos >> 64) as u64)
    }

    /// A network's parameters and its optimizer's state.
    pub fn snapshot(&mut self, s: &TrainSnapshot) -> &mut Self {
        self.buf
            .reserve(32 + 4 * (s.params.len() + s.m.len() + s.v.len()));
        self.u64(s.steps as u64)
            .f32s(&s.params)
            .f32s(&s.m)
            .f32s(&s.v)
    }
}

/// Fields read back in the order they were written; each read fails with a message when the
/// bytes run out.
#[derive(Debug)]
pub struct StateReader<'a> {
    buf: &'a [u8],
}

impl<'a> StateReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// True once every byte was read.
    pub fn is_done(&self) -> bool {
        self.buf.is_empty()
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(format!(
                "the training state ends early: {} bytes left where {what} needs {n}",
                self.buf.len()
            ));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8, "a number")?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }

    pub fn bool(&mut self) -> Result<bool, String> {
        Ok(self.u64()? != 0)
    }

    pub fn opt_u64(&mut self) -> Result<Option<u64>, String> {
        let some = self.bool()?;
        let v = self.u64()?;
        Ok(some.then_some(v))
    }

    fn len(&mut self, unit: usize) -> Result<usize, String> {
        let n = self.u64()? as usize;
        if n.saturating_mul(unit) > self.buf.len() {
            return Err(format!(
                "the training state ends early: a list of {n} entries in {} bytes",
                self.buf.len()
            ));
        }
        Ok(n)
    }

    pub fn str(&mut self) -> Result<String, String> {
        let n = self.len(1)?;
        let b = self.take(n, "a text")?;
        String::from_utf8(b.to_vec())
            .map_err(|_| "a text of the training state is not UTF-8".into())
    }

    pub fn f32s(&mut self) -> Result<Vec<f32>, String> {
        let n = self.len(4)?;
        let b = self.take(n * 4, "a list of numbers")?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    pub fn points(&mut self) -> Result<Vec<(u64, f64)>, String> {
        let n = self.len(16)?;
        (0..n).map(|_| Ok((self.u64()?, self.f64()?))).collect()
    }

    pub fn stream(&mut self) -> Result<Stream, String> {
        let seed: [u8; 32] = self
            .take(32, "a random seed")?
            .try_into()
            .expect("32 bytes");
        let stream = self.u64()?;
        let pos = self.u64()? as u128 | (self.u64()? as u128) << 64;
        let mut rng = Stream::from_seed(seed);
        rng.set_stream(stream);
        rng.set_word_pos(pos);
        Ok(rng)
    }

    pub fn snapshot(&mut self) -> Result<TrainSnapshot, String> {
        let steps = self.u64()? as i32;
        Ok(TrainSnapshot {
            steps,
            params: self.f32s()?,
            m: self.f32s()?,
            v: self.f32s()?,
        })
    }
}

/// One method's training state in the checkpoint of an experiment that trains several (E2,
/// E4): its network's snapshot, data stream, running loss and curve.
pub struct MethodState {
    pub name: String,
    pub snap: TrainSnapshot,
    pub rng: Stream,
    pub loss_sum: f64,
    pub loss_n: u64,
    pub points: Vec<(u64, f64)>,
}

impl StateWriter {
    /// The states of `methods`, their number first.
    pub fn methods(&mut self, methods: &[MethodState]) -> &mut Self {
        self.u64(methods.len() as u64);
        for m in methods {
            self.str(&m.name)
                .snapshot(&m.snap)
                .stream(&m.rng)
                .f64(m.loss_sum)
                .u64(m.loss_n)
                .points(&m.points);
        }
        self
    }
}

impl StateReader<'_> {
    /// The states [`StateWriter::methods`] wrote.
    pub fn methods(&mut self) -> Result<Vec<MethodState>, String> {
        let n = self.u64()?;
        (0..n)
            .map(|_| {
                Ok(MethodState {
                    name: self.str()?,
                    snap: self.snapshot()?,
                    rng: self.stream()?,
                    loss_sum: self.f64()?,
                    loss_n: self.u64()?,
                    points: self.points()?,
                })
            })
            .collect()
    }
}

/// The saved state of `method`, or the only one saved where a single run takes it (a fork
/// that switches one method to the other); `what` names the model in the refusal.
pub fn method_state<'a>(
    saved: &'a [MethodState],
    method: &str,
    runs: usize,
    what: &str,
) -> Result<&'a MethodState, String> {
    match saved.iter().find(|s| s.name == method) {
        Some(s) => Ok(s),
        None if saved.len() == 1 && runs == 1 => Ok(&saved[0]),
        None => Err(format!(
            "it holds no {method} {what} (it holds {})",
            saved
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore};

    #[test]
    fn a_stream_is_std_rng_and_continues_where_it_was_saved() {
        let mut std = rand::rngs::StdRng::seed_from_u64(42);
        let mut ours = stream_from(42);
        for _ in 0..37 {
            assert_eq!(std.next_u32(), ours.next_u32());
        }
        let _: f64 = ours.gen();
        let _: f64 = std.gen();
        let mut w = StateWriter::new();
        w.stream(&ours).u64(7).str("e2e");
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        let mut back = r.stream().unwrap();
        assert_eq!((r.u64().unwrap(), r.str().unwrap()), (7, "e2e".to_string()));
        assert!(r.is_done());
        for _ in 0..100 {
            let x = ours.next_u64();
            assert_eq!(x, back.next_u64());
            assert_eq!(x, std.next_u64());
        }
    }

    #[test]
    fn a_short_state_is_an_error_not_a_panic() {
        let mut w = StateWriter::new();
        w.f32s(&[1.0, 2.0, 3.0]);
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes[..bytes.len() - 2]);
        assert!(r.f32s().unwrap_err().contains("ends early"));
        let mut r = StateReader::new(&bytes[..3]);
        assert!(r.u64().is_err());
    }
}
