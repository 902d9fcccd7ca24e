//! Splits a request into requests of at most N items, re-framing resources, scopes and
//! metrics around each chunk's items and copying everything else verbatim.

use crate::Signal;
use crate::assemble::{Assembler, Node, Source};
use crate::index::{Headers, Index};

/// One chunk of a split: the items `lo..hi`, plus empty containers positioned in it.
struct Chunk<'a> {
    buf: &'a [u8],
    ix: &'a Index,
    lo: u32,
    hi: u32,
    /// The item position where empty containers go to this chunk (inclusive bounds
    /// would put a container sitting exactly on a boundary into two chunks).
    empty_lo: u32,
    empty_hi: u32,
}

impl Chunk<'_> {
    fn contains(&self, items: (u32, u32)) -> bool {
        if items.0 == items.1 { self.keep_empty(items.0) } else { self.lo <= items.0 && items.1 <= self.hi }
    }
}

impl Source for Chunk<'_> {
    fn item(&self, i: usize) -> Option<&[u8]> {
        let i32 = i as u32;
        if i32 >= self.lo && i32 < self.hi { Some(self.ix.items[i].field.body(self.buf)) } else { None }
    }

    fn resource_untouched(&self, i: usize) -> bool {
        self.contains(self.ix.resources[i].items)
    }

    fn scope_untouched(&self, i: usize) -> bool {
        self.contains(self.ix.scopes[i].items)
    }

    fn metric_untouched(&self, i: usize) -> bool {
        self.contains(self.ix.metrics[i].points)
    }

    fn resource_node(&self, _: usize) -> Node<'_> {
        Node::Original
    }

    fn scope_node(&self, _: usize) -> Node<'_> {
        Node::Original
    }

    fn metric_node(&self, _: usize) -> Node<'_> {
        Node::Original
    }

    fn scope_added(&self, _: usize) -> &[Vec<u8>] {
        &[]
    }

    fn metric_added(&self, _: usize) -> &[Vec<u8>] {
        &[]
    }

    fn clamp(&self, items: (u32, u32)) -> (u32, u32) {
        let a = items.0.max(self.lo);
        let b = items.1.min(self.hi);
        (a, b.max(a))
    }

    fn keep_empty(&self, pos: u32) -> bool {
        pos >= self.empty_lo && pos < self.empty_hi
    }
}

/// See [`crate::split`].
pub(crate) fn split(signal: Signal, bytes: &[u8], max_items: usize) -> Vec<Vec<u8>> {
    let max = max_items.clamp(1, u32::MAX as usize) as u32;
    let Ok(ix) = Index::build(signal, bytes) else {
        return vec![bytes.to_vec()];
    };
    let total = ix.items.len() as u32;
    if total <= max {
        return vec![bytes.to_vec()];
    }
    let headers = Headers::new(&ix);
    let chunks = total.div_ceil(max);
    let mut out = Vec::with_capacity(chunks as usize);
    for k in 0..chunks {
        let lo = k * max;
        let hi = (lo + max).min(total);
        let chunk = Chunk {
            buf: bytes,
            ix: &ix,
            lo,
            hi,
            empty_lo: if k == 0 { 0 } else { lo },
            empty_hi: if k + 1 == chunks { u32::MAX } else { hi },
        };
        let assembler = Assembler { buf: bytes, ix: &ix, headers: &headers, src: &chunk };
        // Each chunk holds about its share of the input, plus re-framing.
        let mut request = Vec::with_capacity(bytes.len() / chunks as usize + 256);
        if k == 0 {
            for &(s, e) in &ix.extra {
                request.extend_from_slice(&bytes[s as usize..e as usize]);
            }
        }
        assembler.write_resources(&mut request);
        out.push(request);
    }
    out
}
