//! The `chain` deduplication (`--deduplication.func=chain`): Prometheus' `ChainedSeriesMerge`
//! (P:storage/merge.go `chainSampleIterator`), the union of all replicas' samples, one sample
//! per timestamp.
//!
//! Which replica's sample is kept at a shared timestamp follows from Go's `container/heap`
//! ordered by timestamp only, which is emulated here step by step for the `Next` walk.

/// One replica's samples.
#[derive(Debug)]
struct Input {
    points: Vec<(i64, f64)>,
    /// Index of the current sample; `None` before the first `next`.
    cur: Option<usize>,
}

impl Input {
    fn next(&mut self) -> bool {
        let i = self.cur.map_or(0, |i| (i + 1).min(self.points.len()));
        self.cur = Some(i);
        i < self.points.len()
    }

    fn at(&self) -> (i64, f64) {
        self.cur.and_then(|i| self.points.get(i)).copied().unwrap_or((i64::MIN, 0.0))
    }

    fn at_t(&self) -> i64 {
        self.at().0
    }
}

/// The chained merge of replicas, lazily.
#[derive(Debug)]
pub(crate) struct ChainIter {
    inputs: Vec<Input>,
    /// Go heap of input indexes, ordered by current timestamp; `None` before the first `next`.
    heap: Option<Vec<usize>>,
    curr: Option<usize>,
    last_t: i64,
}

impl ChainIter {
    pub(crate) fn new(replicas: Vec<Vec<(i64, f64)>>) -> Self {
        let inputs: Vec<Input> = replicas.into_iter().map(|points| Input { points, cur: None }).collect();
        Self { inputs, heap: None, curr: None, last_t: i64::MIN }
    }

    fn less(&self, heap: &[usize], i: usize, j: usize) -> bool {
        self.inputs[heap[i]].at_t() < self.inputs[heap[j]].at_t()
    }

    /// `container/heap.Push`.
    fn push(&self, heap: &mut Vec<usize>, x: usize) {
        heap.push(x);
        let mut j = heap.len() - 1;
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(heap, j, i) {
                break;
            }
            heap.swap(i, j);
            j = i;
        }
    }

    /// `container/heap.Pop`.
    fn pop(&self, heap: &mut Vec<usize>) -> Option<usize> {
        let n = heap.len().checked_sub(1)?;
        heap.swap(0, n);
        let mut i = 0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            if j1 + 1 < n && self.less(heap, j1 + 1, j1) {
                j = j1 + 1;
            }
            if !self.less(heap, j, i) {
                break;
            }
            heap.swap(i, j);
            i = j;
        }
        heap.pop()
    }

    fn advance(&mut self) -> bool {
        let mut heap = match self.heap.take() {
            Some(heap) => heap,
            None => {
                let mut heap = Vec::new();
                if self.inputs.is_empty() {
                    self.heap = Some(heap);
                    return false;
                }
                self.curr = Some(0);
                for i in 1..self.inputs.len() {
                    if self.inputs[i].next() {
                        self.push(&mut heap, i);
                    }
                }
                heap
            }
        };
        let result = self.advance_with(&mut heap);
        self.heap = Some(heap);
        result
    }

    fn advance_with(&mut self, heap: &mut Vec<usize>) -> bool {
        let Some(mut curr) = self.curr else { return false };
        loop {
            if self.inputs[curr].next() {
                let t = self.inputs[curr].at_t();
                if t == self.last_t {
                    // A sample at the timestamp just returned: dropped.
                    continue;
                }
                match heap.first() {
                    None => break,
                    Some(&top) if t < self.inputs[top].at_t() => break,
                    Some(_) => self.push(heap, curr),
                }
            } else if heap.is_empty() {
                self.curr = None;
                return false;
            }
            let Some(popped) = self.pop(heap) else {
                self.curr = None;
                return false;
            };
            curr = popped;
            if self.inputs[curr].at_t() != self.last_t {
                break;
            }
        }
        self.curr = Some(curr);
        self.last_t = self.inputs[curr].at_t();
        true
    }
}

impl Iterator for ChainIter {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.advance() { self.curr.map(|c| self.inputs[c].at()) } else { None }
    }
}
