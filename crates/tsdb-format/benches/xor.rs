//! XOR chunk encode/decode speed, comparable to Prometheus' `BenchmarkXORIterator`/`Append`
//! (see benchmarks.md §1: Go is about 8–20 ns/sample to iterate, 6–28 ns/sample to append).
//!
//! Three value patterns at a constant 15 s step: constant, a random walk of integer steps, and
//! random floats in [0, 1). Chunks of 120 samples (the head's target) and 1000 samples.
//! Criterion reports throughput in elements (samples) per second; a short ns/sample table is
//! printed first.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use tsdb_format::chunkenc::{XorEncoder, XorIterator};

/// xorshift64*: a tiny deterministic generator, so the data never changes between runs.
struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[derive(Clone, Copy)]
enum Pattern {
    Constant,
    RandomWalk,
    Random,
}

impl Pattern {
    const ALL: [Pattern; 3] = [Pattern::Constant, Pattern::RandomWalk, Pattern::Random];

    fn name(self) -> &'static str {
        match self {
            Pattern::Constant => "constant",
            Pattern::RandomWalk => "random_walk",
            Pattern::Random => "random",
        }
    }

    fn samples(self, n: usize) -> Vec<(i64, f64)> {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut value = 1000.0;
        (0..n)
            .map(|i| {
                let t = 1_700_000_000_000 + i as i64 * 15_000;
                let v = match self {
                    Pattern::Constant => 42.0,
                    Pattern::RandomWalk => {
                        value += (rng.next_u64() % 101) as f64 - 50.0;
                        value
                    }
                    Pattern::Random => (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64,
                };
                (t, v)
            })
            .collect()
    }
}

const SIZES: [usize; 2] = [120, 1000];

fn encode(samples: &[(i64, f64)]) -> XorEncoder {
    let mut encoder = XorEncoder::new();
    for &(t, v) in samples {
        encoder.append(t, v);
    }
    encoder
}

fn decode(chunk: &[u8]) -> (i64, f64) {
    let mut it = XorIterator::new(chunk).expect("benchmark chunk has a header");
    let (mut t_sum, mut v_sum) = (0i64, 0.0);
    while let Ok(Some((t, v))) = it.next_sample() {
        t_sum = t_sum.wrapping_add(t);
        v_sum += v;
    }
    (t_sum, v_sum)
}

/// Average ns per sample of `f` over about 100 ms.
fn ns_per_sample(samples: usize, mut f: impl FnMut()) -> f64 {
    let budget = Duration::from_millis(100);
    let start = Instant::now();
    let mut rounds = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        rounds += 100;
    }
    start.elapsed().as_nanos() as f64 / (rounds as f64 * samples as f64)
}

fn print_summary() {
    println!("XOR chunks, ns/sample (≈100 ms each):");
    println!("{:<12} {:>7} {:>10} {:>10} {:>12}", "pattern", "samples", "encode", "decode", "bytes/sample");
    for pattern in Pattern::ALL {
        for size in SIZES {
            let samples = pattern.samples(size);
            let chunk = encode(&samples).into_bytes();
            let enc = ns_per_sample(size, || {
                black_box(encode(black_box(&samples)));
            });
            let dec = ns_per_sample(size, || {
                black_box(decode(black_box(&chunk)));
            });
            let density = chunk.len() as f64 / size as f64;
            println!("{:<12} {size:>7} {enc:>10.2} {dec:>10.2} {density:>12.2}", pattern.name());
        }
    }
    println!();
}

fn bench_xor(c: &mut Criterion) {
    for pattern in Pattern::ALL {
        let mut group = c.benchmark_group(format!("xor/{}", pattern.name()));
        for size in SIZES {
            let samples = pattern.samples(size);
            let chunk = encode(&samples).into_bytes();
            group.throughput(Throughput::Elements(size as u64));
            group.bench_with_input(BenchmarkId::new("encode", size), &samples, |b, samples| {
                b.iter(|| encode(black_box(samples)));
            });
            group.bench_with_input(BenchmarkId::new("decode", size), &chunk, |b, chunk| {
                b.iter(|| decode(black_box(chunk)));
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_xor);

fn main() {
    // `cargo test --benches` runs each benchmark once; skip the timing table there.
    if !std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        print_summary();
    }
    benches();
    criterion::Criterion::default().configure_from_args().final_summary();
}
