//! Reading and editing an `ExportMetricsServiceRequest`: resources, scopes, metrics and,
//! as the items, data points of every kind.

use crate::edit::{AttributeScratch, AttributesMut, Core, MessageMut, Slot};
use crate::index::Index;
use crate::pb::last_str;
use crate::request::{resource_view, scope_view};
use crate::tree::{MetricParts, ResourceParts, ResourcePartsIter, ScopeParts};
use crate::value::{AnyValue, Attributes, EncodeValue};
use crate::view::field::*;
use crate::view::{DataPoint, Metric, MetricKind, PointKind, Resource, ResourceMetrics, Scope};
use crate::{Outcome, Signal, WireError};

/// An `ExportMetricsServiceRequest`, indexed for reading and splice editing.
#[derive(Debug)]
pub struct Metrics<'a> {
    core: Core<'a>,
}

fn metric_view<'a>(buf: &'a [u8], ix: &Index, m: usize) -> Metric<'a> {
    Metric::new(ix.metrics[m].field.body(buf))
}

fn point_kind(ix: &Index, m: usize) -> PointKind {
    ix.metrics[m]
        .data
        .and_then(|(number, _)| MetricKind::from_field(number))
        .map_or(PointKind::Number, MetricKind::point_kind)
}

impl<'a> Metrics<'a> {
    /// Indexes an encoded request for reading and editing.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        Ok(Metrics { core: Core::new(Signal::Metrics, bytes)? })
    }

    /// The request as it came in.
    pub fn bytes(&self) -> &'a [u8] {
        self.core.buf
    }

    /// How many data points the request came with.
    pub fn len(&self) -> usize {
        self.core.ix.items.len()
    }

    /// Whether the request came without data points.
    pub fn is_empty(&self) -> bool {
        self.core.ix.items.is_empty()
    }

    /// How many metrics the request came with.
    pub fn metric_count(&self) -> usize {
        self.core.ix.metrics.len()
    }

    /// How many resources the request came with.
    pub fn resource_count(&self) -> usize {
        self.core.ix.resources.len()
    }

    /// Every metric as it came in, in order.
    pub fn metrics(&self) -> impl Iterator<Item = Metric<'a>> + '_ {
        let buf = self.core.buf;
        self.core.ix.metrics.iter().map(move |m| Metric::new(m.field.body(buf)))
    }

    /// Every resource as it came in, in order.
    pub fn resource_metrics(&self) -> impl Iterator<Item = ResourceMetrics<'a>> + '_ {
        let buf = self.core.buf;
        self.core.ix.resources.iter().map(move |r| ResourceMetrics::new(r.field.body(buf)))
    }

    /// Every data point, of every metric, for editing, in order.
    pub fn data_points_mut(&mut self) -> impl Iterator<Item = DataPointMut<'_>> + '_ {
        let core = &mut self.core;
        let buf = core.buf;
        let ix = &core.ix;
        ix.items.iter().zip(core.items.iter_mut()).map(move |(entry, slot)| {
            let m = entry.parent as usize;
            let s = ix.metrics[m].scope as usize;
            DataPointMut {
                msg: MessageMut::new(entry.field.body(buf), slot),
                kind: point_kind(ix, m),
                metric: metric_view(buf, ix, m),
                scope: scope_view(buf, ix, s),
                resource: resource_view(buf, ix, ix.scopes[s].resource as usize),
            }
        })
    }

    /// Every resource, for editing, in order.
    pub fn resource_metrics_mut(&mut self) -> impl Iterator<Item = ResourceMetricsMut<'_>> + '_ {
        let core = &mut self.core;
        ResourcePartsIter {
            buf: core.buf,
            ix: &core.ix,
            next: 0,
            nodes: core.resources.iter_mut(),
            scopes: &mut core.scopes,
            metrics: &mut core.metrics,
            items: &mut core.items,
        }
        .map(|parts| ResourceMetricsMut { parts })
    }

    /// Every metric, for editing, in order.
    pub fn metrics_mut(&mut self) -> impl Iterator<Item = MetricMut<'_>> + '_ {
        self.resource_metrics_mut().flat_map(|r| {
            let buf = r.parts.buf;
            let ix = r.parts.ix;
            let resource = resource_view(buf, ix, r.parts.index);
            r.parts.into_scopes().flat_map(move |s| {
                let scope = scope_view(buf, ix, s.index);
                s.into_metrics().map(move |parts| MetricMut { parts, resource, scope })
            })
        })
    }

    /// Appends an encoded `ResourceMetrics` (its payload).
    pub fn push_resource_metrics(&mut self, payload: Vec<u8>) {
        self.core.added_resources.push(payload);
    }

    /// Drops the whole request, whatever else was edited.
    pub fn drop_all(&mut self) {
        self.core.overridden = Some(Outcome::Dropped);
    }

    /// Replaces the whole request by `bytes`, passed on as they are.
    pub fn replace(&mut self, bytes: Vec<u8>) {
        self.core.overridden = Some(Outcome::Replaced(bytes));
    }

    /// Whether anything was edited, removed or added so far.
    pub fn is_modified(&self) -> bool {
        self.core.is_modified()
    }

    /// Applies the edits: [`Outcome::Unchanged`] when there were none.
    pub fn finish(self) -> Outcome {
        self.core.finish()
    }
}

/// Edits one resource of a metrics request.
#[derive(Debug)]
pub struct ResourceMetricsMut<'e> {
    parts: ResourceParts<'e>,
}

impl ResourceMetricsMut<'_> {
    fn orig(&self) -> &[u8] {
        resource_view(self.parts.buf, self.parts.ix, self.parts.index).bytes()
    }

    /// The `Resource` message, for edits the typed setters do not cover.
    pub fn resource_mut(&mut self) -> MessageMut<'_> {
        let orig = resource_view(self.parts.buf, self.parts.ix, self.parts.index).bytes();
        MessageMut::new(orig, &mut *self.parts.node)
    }

    /// The resource as edited so far.
    pub fn resource(&self) -> Resource<'_> {
        match &*self.parts.node {
            Slot::Edited(bytes) => Resource::new(bytes),
            _ => Resource::new(self.orig()),
        }
    }

    /// Sets resource attribute `key`.
    pub fn set_attribute(&mut self, key: &str, value: impl EncodeValue) {
        self.resource_mut().set_attribute(RESOURCE_ATTRIBUTES, key, &value);
    }

    /// Removes resource attribute `key`; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        self.resource_mut().remove_attribute(RESOURCE_ATTRIBUTES, key)
    }

    /// The scopes of this resource, for editing.
    pub fn scope_metrics_mut(&mut self) -> impl Iterator<Item = ScopeMetricsMut<'_>> + '_ {
        let resource = resource_view(self.parts.buf, self.parts.ix, self.parts.index);
        self.parts.scopes().map(move |parts| ScopeMetricsMut { parts, resource })
    }

    /// Removes the resource with everything in it.
    pub fn remove(&mut self) {
        *self.parts.node = Slot::Removed;
    }
}

/// Edits one scope of a metrics request.
#[derive(Debug)]
pub struct ScopeMetricsMut<'e> {
    parts: ScopeParts<'e>,
    resource: Resource<'e>,
}

impl<'e> ScopeMetricsMut<'e> {
    /// The `InstrumentationScope` message, for edits the typed setters do not cover.
    pub fn scope_mut(&mut self) -> MessageMut<'_> {
        let orig = scope_view(self.parts.buf, self.parts.ix, self.parts.index).bytes();
        MessageMut::new(orig, &mut self.parts.slot.node)
    }

    /// The scope as edited so far.
    pub fn scope(&self) -> Scope<'_> {
        match &self.parts.slot.node {
            Slot::Edited(bytes) => Scope::new(bytes),
            _ => scope_view(self.parts.buf, self.parts.ix, self.parts.index),
        }
    }

    /// Sets the scope's name.
    pub fn set_name(&mut self, name: &str) {
        self.scope_mut().set_len(1, name.as_bytes());
    }

    /// Sets the scope's version.
    pub fn set_version(&mut self, version: &str) {
        self.scope_mut().set_len(2, version.as_bytes());
    }

    /// Sets scope attribute `key`.
    pub fn set_attribute(&mut self, key: &str, value: impl EncodeValue) {
        self.scope_mut().set_attribute(SCOPE_ATTRIBUTES, key, &value);
    }

    /// Removes scope attribute `key`; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        self.scope_mut().remove_attribute(SCOPE_ATTRIBUTES, key)
    }

    /// The metrics of this scope, for editing.
    pub fn metrics_mut(&mut self) -> impl Iterator<Item = MetricMut<'_>> + '_ {
        let resource = self.resource;
        let scope = scope_view(self.parts.buf, self.parts.ix, self.parts.index);
        self.parts.metrics().map(move |parts| MetricMut { parts, resource, scope })
    }

    /// Appends an encoded `Metric` (its payload) to the scope.
    pub fn push_metric(&mut self, payload: Vec<u8>) {
        self.parts.slot.added.push(payload);
    }

    /// Removes the scope with everything in it.
    pub fn remove(&mut self) {
        self.parts.slot.node = Slot::Removed;
    }
}

/// Edits one metric: its name, description and unit, its data points, or the whole of it.
#[derive(Debug)]
pub struct MetricMut<'e> {
    parts: MetricParts<'e>,
    resource: Resource<'e>,
    scope: Scope<'e>,
}

impl<'e> MetricMut<'e> {
    /// The metric as it came in, data points included.
    pub fn original(&self) -> Metric<'e> {
        metric_view(self.parts.buf, self.parts.ix, self.parts.index)
    }

    /// The metric's fields other than its data (name, description, unit, metadata),
    /// as edited so far.
    fn header(&self) -> &[u8] {
        match &self.parts.slot.node {
            Slot::Edited(bytes) => bytes,
            _ => self.original().bytes(),
        }
    }

    /// The metric's fields other than its data, for edits the typed setters do not cover.
    pub fn header_mut(&mut self) -> MessageMut<'_> {
        if let Slot::Original = self.parts.slot.node {
            let entry = &self.parts.ix.metrics[self.parts.index];
            let body = entry.field.body as usize..entry.field.end as usize;
            let mut header = Vec::with_capacity(body.len());
            match entry.data {
                Some((_, data)) => {
                    header.extend_from_slice(&self.parts.buf[body.start..data.start as usize]);
                    header.extend_from_slice(&self.parts.buf[data.end as usize..body.end]);
                }
                None => header.extend_from_slice(&self.parts.buf[body]),
            }
            self.parts.slot.node = Slot::Edited(header);
        }
        MessageMut::new(&[], &mut self.parts.slot.node)
    }

    /// The resource the metric belongs to, as it came in.
    pub fn resource(&self) -> Resource<'e> {
        self.resource
    }

    /// The instrumentation scope the metric belongs to, as it came in.
    pub fn scope(&self) -> Scope<'e> {
        self.scope
    }

    /// The kind of data the metric carries.
    pub fn kind(&self) -> Option<MetricKind> {
        self.original().kind()
    }

    /// The name, as edited so far.
    pub fn name(&self) -> &str {
        last_str(self.header(), METRIC_NAME)
    }

    /// The description, as edited so far.
    pub fn description(&self) -> &str {
        last_str(self.header(), METRIC_DESCRIPTION)
    }

    /// The unit, as edited so far.
    pub fn unit(&self) -> &str {
        last_str(self.header(), METRIC_UNIT)
    }

    /// Sets the name.
    pub fn set_name(&mut self, name: &str) {
        self.header_mut().set_len(METRIC_NAME, name.as_bytes());
    }

    /// Sets the description.
    pub fn set_description(&mut self, description: &str) {
        self.header_mut().set_len(METRIC_DESCRIPTION, description.as_bytes());
    }

    /// Sets the unit.
    pub fn set_unit(&mut self, unit: &str) {
        self.header_mut().set_len(METRIC_UNIT, unit.as_bytes());
    }

    /// The data points, for editing.
    pub fn data_points_mut(&mut self) -> impl Iterator<Item = DataPointMut<'_>> + '_ {
        let buf = self.parts.buf;
        let ix = self.parts.ix;
        let kind = point_kind(ix, self.parts.index);
        let metric = self.original();
        let (resource, scope) = (self.resource, self.scope);
        self.parts.items().map(move |(i, slot)| DataPointMut {
            msg: MessageMut::new(ix.items[i].field.body(buf), slot),
            kind,
            metric,
            scope,
            resource,
        })
    }

    /// Appends an encoded data point (its payload) of the metric's own kind. Returns
    /// false, adding nothing, when the metric carries no data to add it to.
    pub fn push_data_point(&mut self, payload: Vec<u8>) -> bool {
        if self.parts.ix.metrics[self.parts.index].data.is_none() {
            return false;
        }
        self.parts.slot.added.push(payload);
        true
    }

    /// Removes the metric with all its data points.
    pub fn remove(&mut self) {
        self.parts.slot.node = Slot::Removed;
    }
}

/// Edits one data point. Getters see the point as edited so far.
#[derive(Debug)]
pub struct DataPointMut<'e> {
    msg: MessageMut<'e>,
    kind: PointKind,
    metric: Metric<'e>,
    scope: Scope<'e>,
    resource: Resource<'e>,
}

impl<'e> DataPointMut<'e> {
    /// The point as edited so far.
    pub fn view(&self) -> DataPoint<'_> {
        DataPoint::new(self.kind, self.msg.bytes())
    }

    /// The metric the point belongs to, as it came in.
    pub fn metric(&self) -> Metric<'e> {
        self.metric
    }

    /// The instrumentation scope the point belongs to, as it came in.
    pub fn scope(&self) -> Scope<'e> {
        self.scope
    }

    /// The resource the point belongs to, as it came in.
    pub fn resource(&self) -> Resource<'e> {
        self.resource
    }

    /// The underlying message, for edits the typed setters do not cover.
    pub fn message_mut(&mut self) -> &mut MessageMut<'e> {
        &mut self.msg
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<AnyValue<'_>> {
        self.msg.attribute(self.kind.attributes_field(), key)
    }

    /// Whether attribute `key` is present.
    pub fn has_attribute(&self, key: &str) -> bool {
        self.msg.has_attribute(self.kind.attributes_field(), key)
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'_> {
        self.msg.attributes(self.kind.attributes_field())
    }

    /// Sets attribute `key` (replacing it in place, or appending it).
    pub fn set_attribute(&mut self, key: &str, value: impl EncodeValue) {
        self.msg.set_attribute(self.kind.attributes_field(), key, &value);
    }

    /// Removes attribute `key`; returns whether it was there.
    pub fn remove_attribute(&mut self, key: &str) -> bool {
        self.msg.remove_attribute(self.kind.attributes_field(), key)
    }

    /// Makes any number of attribute edits in one pass; see
    /// [`MessageMut::edit_attributes`].
    pub fn edit_attributes<R>(
        &mut self,
        scratch: &mut AttributeScratch,
        edit: impl FnOnce(&mut AttributesMut<'_>) -> R,
    ) -> R {
        self.msg.edit_attributes(self.kind.attributes_field(), scratch, edit)
    }

    /// Keeps only the attributes for which `keep` returns true.
    pub fn retain_attributes(&mut self, keep: impl FnMut(&str, AnyValue<'_>) -> bool) {
        self.msg.retain_attributes(self.kind.attributes_field(), keep);
    }

    /// Sets `time_unix_nano`.
    pub fn set_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(3, nanos);
    }

    /// Sets `start_time_unix_nano`.
    pub fn set_start_time_unix_nano(&mut self, nanos: u64) {
        self.msg.set_fixed64(2, nanos);
    }

    /// Sets the value of a number point to a double; returns false for other kinds.
    pub fn set_double(&mut self, value: f64) -> bool {
        if self.kind != PointKind::Number {
            return false;
        }
        self.msg.clear(6);
        self.msg.set_fixed64(4, value.to_bits());
        true
    }

    /// Sets the value of a number point to an integer; returns false for other kinds.
    pub fn set_int(&mut self, value: i64) -> bool {
        if self.kind != PointKind::Number {
            return false;
        }
        self.msg.clear(4);
        self.msg.set_fixed64(6, value as u64);
        true
    }

    /// Removes the point from the batch.
    pub fn remove(&mut self) {
        self.msg.remove();
    }

    /// Whether the point was removed.
    pub fn is_removed(&self) -> bool {
        self.msg.is_removed()
    }
}
