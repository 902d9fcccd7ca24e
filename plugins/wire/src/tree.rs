//! Hands out the edit state of a request as disjoint mutable pieces, one resource,
//! scope or metric at a time, so that the typed editors can offer plain iterators
//! (`for record in logs.records_mut()`) without any shared mutable state.

use crate::edit::{MetricSlot, ScopeSlot, Slot};
use crate::index::Index;

/// Splits `n` elements off the front of a mutable slice held in `rest`.
fn take<'e, T>(rest: &mut &'e mut [T], n: usize) -> &'e mut [T] {
    let whole = std::mem::take(rest);
    let n = n.min(whole.len());
    let (head, tail) = whole.split_at_mut(n);
    *rest = tail;
    head
}

/// The edit state of one resource and everything in it.
#[derive(Debug)]
pub(crate) struct ResourceParts<'e> {
    pub(crate) buf: &'e [u8],
    pub(crate) ix: &'e Index,
    pub(crate) index: usize,
    pub(crate) node: &'e mut Slot,
    pub(crate) scopes: &'e mut [ScopeSlot],
    pub(crate) metrics: &'e mut [MetricSlot],
    pub(crate) items: &'e mut [Slot],
}

/// Iterates the resources of a request.
#[derive(Debug)]
pub(crate) struct ResourcePartsIter<'e> {
    pub(crate) buf: &'e [u8],
    pub(crate) ix: &'e Index,
    pub(crate) next: usize,
    pub(crate) nodes: std::slice::IterMut<'e, Slot>,
    pub(crate) scopes: &'e mut [ScopeSlot],
    pub(crate) metrics: &'e mut [MetricSlot],
    pub(crate) items: &'e mut [Slot],
}

impl<'e> Iterator for ResourcePartsIter<'e> {
    type Item = ResourceParts<'e>;

    fn next(&mut self) -> Option<ResourceParts<'e>> {
        let entry = self.ix.resources.get(self.next)?;
        let node = self.nodes.next()?;
        let index = self.next;
        self.next += 1;
        let scopes = &self.ix.scopes[entry.scopes.0 as usize..entry.scopes.1 as usize];
        let metric_count = scopes
            .iter()
            .filter(|_| self.ix.signal == crate::Signal::Metrics)
            .map(|s| (s.children.1 - s.children.0) as usize)
            .sum();
        Some(ResourceParts {
            buf: self.buf,
            ix: self.ix,
            index,
            node,
            scopes: take(&mut self.scopes, scopes.len()),
            metrics: take(&mut self.metrics, metric_count),
            items: take(&mut self.items, (entry.items.1 - entry.items.0) as usize),
        })
    }
}

impl<'e> ResourceParts<'e> {
    /// The scopes of this resource.
    pub(crate) fn scopes(&mut self) -> ScopePartsIter<'_> {
        let entry = &self.ix.resources[self.index];
        ScopePartsIter {
            buf: self.buf,
            ix: self.ix,
            next: entry.scopes.0 as usize,
            end: entry.scopes.1 as usize,
            slots: self.scopes.iter_mut(),
            metrics: &mut *self.metrics,
            items: &mut *self.items,
        }
    }

    /// The scopes of this resource, consuming it.
    pub(crate) fn into_scopes(self) -> ScopePartsIter<'e> {
        let entry = &self.ix.resources[self.index];
        ScopePartsIter {
            buf: self.buf,
            ix: self.ix,
            next: entry.scopes.0 as usize,
            end: entry.scopes.1 as usize,
            slots: self.scopes.iter_mut(),
            metrics: self.metrics,
            items: self.items,
        }
    }
}

/// The edit state of one scope and everything in it.
#[derive(Debug)]
pub(crate) struct ScopeParts<'e> {
    pub(crate) buf: &'e [u8],
    pub(crate) ix: &'e Index,
    pub(crate) index: usize,
    pub(crate) slot: &'e mut ScopeSlot,
    pub(crate) metrics: &'e mut [MetricSlot],
    pub(crate) items: &'e mut [Slot],
}

/// Iterates the scopes of a resource.
#[derive(Debug)]
pub(crate) struct ScopePartsIter<'e> {
    buf: &'e [u8],
    ix: &'e Index,
    next: usize,
    end: usize,
    slots: std::slice::IterMut<'e, ScopeSlot>,
    metrics: &'e mut [MetricSlot],
    items: &'e mut [Slot],
}

impl<'e> Iterator for ScopePartsIter<'e> {
    type Item = ScopeParts<'e>;

    fn next(&mut self) -> Option<ScopeParts<'e>> {
        if self.next >= self.end {
            return None;
        }
        let entry = &self.ix.scopes[self.next];
        let slot = self.slots.next()?;
        let index = self.next;
        self.next += 1;
        let metric_count =
            if self.ix.signal == crate::Signal::Metrics { (entry.children.1 - entry.children.0) as usize } else { 0 };
        Some(ScopeParts {
            buf: self.buf,
            ix: self.ix,
            index,
            slot,
            metrics: take(&mut self.metrics, metric_count),
            items: take(&mut self.items, (entry.items.1 - entry.items.0) as usize),
        })
    }
}

impl<'e> ScopeParts<'e> {
    /// The items of this scope with their global indices.
    pub(crate) fn items(&mut self) -> impl Iterator<Item = (usize, &mut Slot)> + '_ {
        let first = self.ix.scopes[self.index].items.0 as usize;
        self.items.iter_mut().enumerate().map(move |(i, slot)| (first + i, slot))
    }

    /// The metrics of this scope.
    pub(crate) fn metrics(&mut self) -> MetricPartsIter<'_> {
        let entry = &self.ix.scopes[self.index];
        MetricPartsIter {
            buf: self.buf,
            ix: self.ix,
            next: entry.children.0 as usize,
            slots: self.metrics.iter_mut(),
            items: &mut *self.items,
        }
    }

    /// The metrics of this scope, consuming it.
    pub(crate) fn into_metrics(self) -> MetricPartsIter<'e> {
        let entry = &self.ix.scopes[self.index];
        MetricPartsIter {
            buf: self.buf,
            ix: self.ix,
            next: entry.children.0 as usize,
            slots: self.metrics.iter_mut(),
            items: self.items,
        }
    }
}

/// The edit state of one metric and its data points.
#[derive(Debug)]
pub(crate) struct MetricParts<'e> {
    pub(crate) buf: &'e [u8],
    pub(crate) ix: &'e Index,
    pub(crate) index: usize,
    pub(crate) slot: &'e mut MetricSlot,
    pub(crate) items: &'e mut [Slot],
}

/// Iterates the metrics of a scope.
#[derive(Debug)]
pub(crate) struct MetricPartsIter<'e> {
    buf: &'e [u8],
    ix: &'e Index,
    next: usize,
    slots: std::slice::IterMut<'e, MetricSlot>,
    items: &'e mut [Slot],
}

impl<'e> Iterator for MetricPartsIter<'e> {
    type Item = MetricParts<'e>;

    fn next(&mut self) -> Option<MetricParts<'e>> {
        let slot = self.slots.next()?;
        let entry = &self.ix.metrics[self.next];
        let index = self.next;
        self.next += 1;
        Some(MetricParts {
            buf: self.buf,
            ix: self.ix,
            index,
            slot,
            items: take(&mut self.items, (entry.points.1 - entry.points.0) as usize),
        })
    }
}

impl<'e> MetricParts<'e> {
    /// The data points of this metric with their global indices.
    pub(crate) fn items(&mut self) -> impl Iterator<Item = (usize, &mut Slot)> + '_ {
        let first = self.ix.metrics[self.index].points.0 as usize;
        self.items.iter_mut().enumerate().map(move |(i, slot)| (first + i, slot))
    }
}
