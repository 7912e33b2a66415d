//! One small sort for the whole crate.
//!
//! The standard library's sorts are fast but large: several kilobytes of wasm for each
//! element type they are used with, and the Worker is built for size. Nothing toolgate
//! sorts is on a hot path or needs a stable order (the keys of one object, the names of a
//! catalogue, a few counters), so a heapsort does: in place, `O(n log n)` in the worst
//! case, and a few hundred bytes.

/// Sorts `items` so that no item is `less` than the one before it (unstable).
pub fn sort_by<T>(items: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    let len = items.len();
    for root in (0..len / 2).rev() {
        sift_down(items, root, len, &mut less);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end, &mut less);
    }
}

/// Sorts `items` in their natural order (unstable).
pub fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, |a, b| a < b);
}

/// Moves `items[root]` down the heap `items[..end]` until both its children are no
/// greater than it.
fn sift_down<T>(
    items: &mut [T],
    mut root: usize,
    end: usize,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    loop {
        let left = 2 * root + 1;
        if left >= end {
            return;
        }
        let right = left + 1;
        let child = match (items.get(left), items.get(right)) {
            (Some(l), Some(r)) if right < end && less(l, r) => right,
            _ => left,
        };
        match (items.get(root), items.get(child)) {
            (Some(parent), Some(larger)) if less(parent, larger) => {}
            _ => return,
        }
        items.swap(root, child);
        root = child;
    }
}
