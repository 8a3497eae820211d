//! Thanos' penalty deduplication (T:pkg/dedup/iter.go `dedupSeriesIterator`), as a lazy iterator.
//!
//! Replicas are merged pairwise: `((r0 ⊕ r1) ⊕ r2) ⊕ …`. Each step seeks both sides to
//! `lastT + 1 + own penalty` and takes the earlier sample (the left side on ties). The side not
//! taken gets a penalty of twice the distance from the previous sample (5000 ms before the
//! first one); the side taken gets none. A counter read additionally lifts a replica that takes
//! over below the last value returned (see [`Leaf::adjust_at_value`]).
//!
//! The engine always starts an iterator with `Next`, and `dedupSeriesIterator.Seek` walks with
//! `Next`, so the samples PromQL sees are exactly the `Next` sequence produced here.

/// Initial penalty when no previous sample is known, ms.
const INITIAL_PENALTY: i64 = 5000;

/// One replica's samples (already bounded to the query range).
#[derive(Debug)]
struct Leaf {
    points: Vec<(i64, f64)>,
    /// Index of the current sample; `None` before the first `next`.
    cur: Option<usize>,
    /// Counter correction added to every value (Thanos' `counterErrAdjustSeriesIterator`);
    /// `None` for non-counter reads.
    err_adjust: Option<f64>,
}

impl Leaf {
    fn valid(&self) -> bool {
        self.cur.is_some_and(|i| i < self.points.len())
    }

    fn next(&mut self) -> bool {
        let i = self.cur.map_or(0, |i| (i + 1).min(self.points.len()));
        self.cur = Some(i);
        i < self.points.len()
    }

    fn seek(&mut self, t: i64) -> bool {
        if self.cur.is_none() && !self.next() {
            return false;
        }
        while self.valid() {
            if self.at_t() >= t {
                return true;
            }
            self.next();
        }
        false
    }

    fn at_t(&self) -> i64 {
        let i = self.cur.unwrap_or(0).min(self.points.len().saturating_sub(1));
        self.points.get(i).map_or(i64::MIN, |p| p.0)
    }

    fn at(&self) -> (i64, f64) {
        let i = self.cur.unwrap_or(0).min(self.points.len().saturating_sub(1));
        let (t, v) = self.points.get(i).copied().unwrap_or((i64::MIN, 0.0));
        match self.err_adjust {
            Some(adjust) => (t, v + adjust),
            None => (t, v),
        }
    }

    /// A counter replica whose current (adjusted) value is below the last value returned did
    /// not see the real end of the counter before a restart: lift it, and all its later
    /// values, by the difference.
    fn adjust_at_value(&mut self, last: f64) {
        let (_, v) = self.at();
        if let Some(adjust) = self.err_adjust.as_mut()
            && last > v
        {
            *adjust += last - v;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Two merged inputs.
#[derive(Debug)]
struct Pair {
    a: Node,
    b: Node,
    a_ok: bool,
    b_ok: bool,
    last_t: i64,
    last: Side,
    pen_a: i64,
    pen_b: i64,
    use_a: bool,
}

#[derive(Debug)]
enum Node {
    Leaf(Leaf),
    Pair(Box<Pair>),
}

impl Node {
    fn next(&mut self) -> bool {
        match self {
            Node::Leaf(l) => l.next(),
            Node::Pair(p) => p.next(),
        }
    }

    fn seek(&mut self, t: i64) -> bool {
        match self {
            Node::Leaf(l) => l.seek(t),
            Node::Pair(p) => p.seek(t),
        }
    }

    fn at(&self) -> (i64, f64) {
        match self {
            Node::Leaf(l) => l.at(),
            Node::Pair(p) => p.at(),
        }
    }

    fn at_t(&self) -> i64 {
        match self {
            Node::Leaf(l) => l.at_t(),
            Node::Pair(p) => p.at_t(),
        }
    }

    fn adjust_at_value(&mut self, last: f64) {
        match self {
            Node::Leaf(l) => l.adjust_at_value(last),
            Node::Pair(p) => p.adjust_at_value(last),
        }
    }
}

impl Pair {
    fn new(mut a: Node, mut b: Node) -> Self {
        let a_ok = a.next();
        let b_ok = b.next();
        Self { a, b, a_ok, b_ok, last_t: i64::MIN, last: Side::A, pen_a: 0, pen_b: 0, use_a: true }
    }

    /// The value last returned, if the side in use still had one (Thanos' `lastFloatVal`).
    fn last_value(&self) -> Option<f64> {
        let valid = if self.use_a { self.a_ok } else { self.b_ok };
        valid.then(|| self.at().1)
    }

    fn next(&mut self) -> bool {
        let last_value = self.last_value();
        let was_a = self.use_a;
        let ok = self.step();
        if self.use_a != was_a
            && let Some(last) = last_value
        {
            // Switched replicas: make the new current values consistent with the last one.
            self.adjust_at_value(last);
        }
        ok
    }

    fn step(&mut self) -> bool {
        if self.a_ok {
            self.a_ok = self.a.seek(self.last_t.wrapping_add(1).wrapping_add(self.pen_a));
        }
        if self.b_ok {
            self.b_ok = self.b.seek(self.last_t.wrapping_add(1).wrapping_add(self.pen_b));
        }
        if !self.a_ok {
            self.use_a = false;
            if self.b_ok {
                self.last_t = self.b.at_t();
                self.last = Side::B;
                self.pen_b = 0;
            }
            return self.b_ok;
        }
        if !self.b_ok {
            self.use_a = true;
            self.last_t = self.a.at_t();
            self.last = Side::A;
            self.pen_a = 0;
            return true;
        }
        let ta = self.a.at_t();
        let tb = self.b.at_t();
        self.use_a = ta <= tb;
        let (chosen, other_pen) = if self.use_a { (ta, &mut self.pen_b) } else { (tb, &mut self.pen_a) };
        *other_pen = if self.last_t == i64::MIN {
            INITIAL_PENALTY
        } else {
            chosen.wrapping_sub(self.last_t).wrapping_mul(2)
        };
        if self.use_a {
            self.pen_a = 0;
            self.last = Side::A;
        } else {
            self.pen_b = 0;
            self.last = Side::B;
        }
        self.last_t = chosen;
        true
    }

    /// Walks with `next` (never the inputs' own seek) so that no gap is missed.
    fn seek(&mut self, t: i64) -> bool {
        loop {
            let ts = self.at_t();
            if ts >= t {
                return if self.use_a { self.a.seek(ts) } else { self.b.seek(ts) };
            }
            if !self.next() {
                return false;
            }
        }
    }

    fn at(&self) -> (i64, f64) {
        match self.last {
            Side::A => self.a.at(),
            Side::B => self.b.at(),
        }
    }

    fn at_t(&self) -> i64 {
        if self.use_a { self.a.at_t() } else { self.b.at_t() }
    }

    fn adjust_at_value(&mut self, last: f64) {
        if self.a_ok {
            self.a.adjust_at_value(last);
        }
        if self.b_ok {
            self.b.adjust_at_value(last);
        }
    }
}

/// The penalty merge of `replicas` (in replica order; at least one), lazily.
#[derive(Debug)]
pub(crate) struct PenaltyIter {
    root: Node,
    done: bool,
}

impl PenaltyIter {
    /// `counter`: the selection is read by a counter function (`rate`, `increase`, `irate`,
    /// `resets`), which turns on the counter adjustment at replica switches.
    pub(crate) fn new(replicas: Vec<Vec<(i64, f64)>>, counter: bool) -> Self {
        let mut leaves = replicas
            .into_iter()
            .map(|points| Node::Leaf(Leaf { points, cur: None, err_adjust: counter.then_some(0.0) }));
        let Some(mut root) = leaves.next() else {
            return Self {
                root: Node::Leaf(Leaf { points: Vec::new(), cur: None, err_adjust: None }),
                done: true,
            };
        };
        for leaf in leaves {
            root = Node::Pair(Box::new(Pair::new(root, leaf)));
        }
        Self { root, done: false }
    }
}

impl Iterator for PenaltyIter {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.done {
            return None;
        }
        if self.root.next() {
            Some(self.root.at())
        } else {
            self.done = true;
            None
        }
    }
}
