//! Local search on an integer plan of a maximising program `max c·x, Σ a·x ≤ b, 0 ≤ x ≤ ub`:
//! the incumbent that lets branch-and-bound stop early. The LP bound of a planning program is
//! usually within a node or two of the integer optimum, so a plan that no single exchange can
//! improve often proves the requested gap without a tree at all.

/// One row `Σ a·x ≤ rhs` over local item indices; `tol` is the slack floating point may use.
#[derive(Debug, Clone)]
pub(crate) struct LocalRow {
    pub coefs: Vec<(usize, f64)>,
    pub rhs: f64,
    pub tol: f64,
}

/// The program and the search's state: row activities kept up to date as nodes move.
struct State<'a> {
    c: &'a [f64],
    ub: &'a [u64],
    rows: &'a [LocalRow],
    by_item: Vec<Vec<(usize, f64)>>,
    act: Vec<f64>,
    x: Vec<u64>,
    /// The objective of `x`, kept up to date by `shift`.
    value: f64,
    /// What `shift` overwrote since the last `mark`, so a rejected exchange is undone exactly
    /// (the old values restored, no floating-point residue) without copying the whole plan.
    undo_x: Vec<(usize, u64)>,
    undo_act: Vec<(usize, f64)>,
    undo_value: f64,
}

impl State<'_> {
    fn shift(&mut self, k: usize, by: i64) {
        self.undo_x.push((k, self.x[k]));
        self.x[k] = (self.x[k] as i64 + by) as u64;
        self.value += self.c[k] * by as f64;
        for &(r, a) in &self.by_item[k] {
            self.undo_act.push((r, self.act[r]));
            self.act[r] += a * by as f64;
        }
    }

    /// Starts a change that `undo` can take back.
    fn mark(&mut self) {
        self.undo_x.clear();
        self.undo_act.clear();
        self.undo_value = self.value;
    }

    /// Takes back every shift since the last `mark`.
    fn undo(&mut self) {
        while let Some((k, v)) = self.undo_x.pop() {
            self.x[k] = v;
        }
        while let Some((r, v)) = self.undo_act.pop() {
            self.act[r] = v;
        }
        self.value = self.undo_value;
    }

    /// The most nodes of item `k` that every row still lets in.
    fn room(&self, k: usize) -> u64 {
        // The least room over the rows, floored once at the end (flooring is monotone), and
        // no further look once less than one node fits: the search asks this for every
        // neighbour of every exchange, so it is the search's inner loop.
        let mut m = self.ub[k].saturating_sub(self.x[k]) as f64;
        for &(r, a) in &self.by_item[k] {
            if m < 1.0 {
                return 0;
            }
            if a > 0.0 {
                let row = &self.rows[r];
                let fits = (row.rhs + row.tol - self.act[r]) / a;
                if fits < m {
                    m = fits;
                }
            }
        }
        if m < 1.0 {
            0
        } else {
            m.floor() as u64
        }
    }

    /// Whether one node of `k` can go without breaking a row it helps (a mix's domestic side).
    fn can_remove(&self, k: usize) -> bool {
        self.x[k] > 0
            && self.by_item[k]
                .iter()
                .all(|&(r, a)| a >= 0.0 || self.act[r] - a <= self.rows[r].rhs + self.rows[r].tol)
    }

    /// Adds nodes of the items in `order` (most valuable first) while the rows allow.
    fn fill(&mut self, order: &[usize]) {
        for &k in order {
            let add = self.room(k);
            if add > 0 {
                self.shift(k, add as i64);
            }
        }
    }
}

/// Improves `x` (feasible) by exchanges until none helps or `work` item visits are spent: take
/// one node of an item out, put as many nodes of one other item that shares a row with it in as
/// fit, then fill greedily, and keep the change when the objective grows. Returns the improved
/// plan, still feasible.
pub(crate) fn improve(
    c: &[f64],
    ub: &[u64],
    rows: &[LocalRow],
    x: Vec<u64>,
    mut work: u64,
) -> Vec<u64> {
    let n = c.len();
    let mut by_item: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut act = vec![0.0; rows.len()];
    for (r, row) in rows.iter().enumerate() {
        for &(k, a) in &row.coefs {
            by_item[k].push((r, a));
            act[r] += a * x[k] as f64;
        }
    }
    // Items that share a row with each item: only they can use what a removal frees.
    let mut near: Vec<Vec<usize>> = vec![Vec::new(); n];
    for k in 0..n {
        let mut seen = vec![false; n];
        for &(r, _) in &by_item[k] {
            for &(j, _) in &rows[r].coefs {
                if j != k && !seen[j] && c[j] > 0.0 {
                    seen[j] = true;
                    near[k].push(j);
                }
            }
        }
        near[k].sort_by(|&a, &b| c[b].total_cmp(&c[a]));
    }
    let mut order: Vec<usize> = (0..n).filter(|&k| c[k] > 0.0).collect();
    order.sort_by(|&a, &b| c[b].total_cmp(&c[a]));
    let value = x.iter().zip(c).map(|(&n, c)| n as f64 * c).sum();
    let mut s = State {
        c,
        ub,
        rows,
        by_item,
        act,
        x,
        value,
        undo_x: Vec::new(),
        undo_act: Vec::new(),
        undo_value: value,
    };
    s.fill(&order);
    let mut best = s.value;
    let eps = 1e-9 * best.abs().max(1.0);
    'outer: loop {
        let mut improved = false;
        for (k, near_k) in near.iter().enumerate() {
            // Take out one, two or three nodes: a bigger node of another part may need the room
            // of several small ones.
            for out in 1..=3u64 {
                for &j in near_k {
                    if s.x[k] < out || !s.can_remove(k) {
                        break;
                    }
                    if work == 0 {
                        break 'outer;
                    }
                    work = work.saturating_sub(1 + near_k.len() as u64);
                    s.mark();
                    let mut ok = true;
                    for _ in 0..out {
                        ok &= s.can_remove(k);
                        if ok {
                            s.shift(k, -1);
                        }
                    }
                    let add = if ok { s.room(j) } else { 0 };
                    if add == 0 {
                        s.undo();
                        continue;
                    }
                    s.shift(j, add as i64);
                    s.fill(near_k);
                    if s.value > best + eps {
                        // The kept plan's value is summed afresh, so the running sum's
                        // rounding does not build up over many exchanges.
                        s.value = s.x.iter().zip(s.c).map(|(&n, c)| n as f64 * c).sum();
                        best = s.value;
                        improved = true;
                    } else {
                        s.undo();
                    }
                }
            }
        }
        if !improved {
            break;
        }
    }
    s.x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exchange_beats_the_greedy_fill() {
        // Budget 10: item 0 (value 6, cost 6) is filled first; two of item 1 (value 5, cost 5)
        // are worth more.
        let rows = vec![LocalRow {
            coefs: vec![(0, 6.0), (1, 5.0)],
            rhs: 10.0,
            tol: 0.0,
        }];
        let x = improve(&[6.0, 5.0], &[5, 5], &rows, vec![0, 0], 1000);
        assert_eq!(x, vec![0, 2]);
    }

    #[test]
    fn a_mix_row_is_never_broken_by_a_removal() {
        // x1 (domestic) must be at least x0: 0.5·x0 − 0.5·x1 ≤ 0; total ≤ 4.
        let rows = vec![
            LocalRow {
                coefs: vec![(0, 0.5), (1, -0.5)],
                rhs: 0.0,
                tol: 0.0,
            },
            LocalRow {
                coefs: vec![(0, 1.0), (1, 1.0)],
                rhs: 4.0,
                tol: 0.0,
            },
        ];
        let x = improve(&[3.0, 1.0], &[4, 4], &rows, vec![1, 1], 1000);
        assert_eq!(x, vec![2, 2]);
    }
}
