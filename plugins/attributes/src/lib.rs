//! The attributes processor: inserts, updates, upserts, deletes, renames, hashes and
//! extracts attributes of log records, spans and metric data points, or of their
//! resources, like the OpenTelemetry Collector's attributes and resource processors. The
//! actions are documented in `docs/plugins/attributes.md`.

mod config;

use aegis_plugin_sdk::condition::Condition;
use aegis_plugin_sdk::hash;
use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{
    AttributeScratch, AttributesMut, MessageMut, Resource, ResourceLogsMut, ResourceMetricsMut, ResourceSpansMut,
};
use aegis_plugin_sdk::{DataPointMut, SpanMut};

use config::{Action, Extractor, Source, Step, Target};

/// The field number of `Resource.attributes`.
const RESOURCE_ATTRIBUTES: u32 = 1;

/// Consecutive actions applied in one pass over an item's attributes. A pass starts at
/// every action with an `if`, so that its condition sees what the passes before it did;
/// the condition decides whether `actions[0]` runs, the others always do.
#[derive(Debug)]
struct Pass {
    condition: Option<Condition>,
    actions: Vec<Action>,
}

/// Groups steps into passes.
fn passes(steps: impl IntoIterator<Item = Step>) -> Vec<Pass> {
    let mut out: Vec<Pass> = Vec::new();
    for step in steps {
        match (step.condition, out.last_mut()) {
            (None, Some(pass)) => pass.actions.push(step.action),
            (condition, _) => out.push(Pass { condition, actions: vec![step.action] }),
        }
    }
    out
}

/// The processor: the checked actions grouped into passes, for items and for resources,
/// and scratch space reused across items. Public so that the benchmarks can run the same
/// logic natively.
#[derive(Debug)]
pub struct Attributes {
    record: Vec<Pass>,
    resource: Vec<Pass>,
    scratch: AttributeScratch,
    /// A copy of the value an `extract` matches, so that its captures can be written
    /// back into the same attributes.
    text: String,
}

impl Processor for Attributes {
    fn init(config: Config) -> Result<Self, Error> {
        let (resource, record): (Vec<Step>, Vec<Step>) =
            config::parse(&config)?.into_iter().partition(|s| s.target == Target::Resource);
        Ok(Attributes {
            record: passes(record),
            resource: passes(resource),
            scratch: AttributeScratch::default(),
            text: String::new(),
        })
    }

    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        if !self.resource.is_empty() {
            for mut resource in logs.resource_logs_mut() {
                run_resource(&mut self.resource, &mut resource, &mut self.scratch, &mut self.text);
            }
        }
        if !self.record.is_empty() {
            for mut record in logs.records_mut() {
                run(&mut self.record, &mut record, &mut self.scratch, &mut self.text);
            }
        }
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces) -> Result<(), Error> {
        if !self.resource.is_empty() {
            for mut resource in traces.resource_spans_mut() {
                run_resource(&mut self.resource, &mut resource, &mut self.scratch, &mut self.text);
            }
        }
        if !self.record.is_empty() {
            for mut span in traces.spans_mut() {
                run(&mut self.record, &mut span, &mut self.scratch, &mut self.text);
            }
        }
        Ok(())
    }

    fn process_metrics(&mut self, metrics: &mut Metrics) -> Result<(), Error> {
        if !self.resource.is_empty() {
            for mut resource in metrics.resource_metrics_mut() {
                run_resource(&mut self.resource, &mut resource, &mut self.scratch, &mut self.text);
            }
        }
        if !self.record.is_empty() {
            for mut point in metrics.data_points_mut() {
                run(&mut self.record, &mut point, &mut self.scratch, &mut self.text);
            }
        }
        Ok(())
    }
}

export_processor!(Attributes);

/// What the resource passes need of a resource editor.
trait ResourceItem {
    fn view(&self) -> Resource<'_>;
    fn message(&mut self) -> MessageMut<'_>;
}

macro_rules! resource_item {
    ($($ty:ident),*) => {$(
        impl ResourceItem for $ty<'_> {
            fn view(&self) -> Resource<'_> {
                self.resource()
            }

            fn message(&mut self) -> MessageMut<'_> {
                self.resource_mut()
            }
        }
    )*};
}

resource_item!(ResourceLogsMut, ResourceSpansMut, ResourceMetricsMut);

/// Applies the resource passes, in order, to one resource's attributes.
fn run_resource(
    passes: &mut [Pass],
    resource: &mut impl ResourceItem,
    scratch: &mut AttributeScratch,
    text: &mut String,
) {
    for pass in passes {
        let first = pass.condition.as_ref().is_none_or(|c| c.matches_resource(&resource.view()));
        let actions = &mut pass.actions[usize::from(!first)..];
        if actions.is_empty() {
            continue;
        }
        resource.message().edit_attributes(RESOURCE_ATTRIBUTES, scratch, |attrs| {
            for action in actions {
                apply(action, attrs, None, text);
            }
        });
    }
}

/// What the passes need of a log record, span or data point.
trait Item<'e> {
    fn matches(&self, condition: &Condition) -> bool;
    fn resource(&self) -> Resource<'e>;
    fn edit(&mut self, scratch: &mut AttributeScratch, edit: impl FnOnce(&mut AttributesMut<'_>));
}

macro_rules! item {
    ($ty:ident, $matches:ident) => {
        impl<'e> Item<'e> for $ty<'e> {
            fn matches(&self, condition: &Condition) -> bool {
                condition.$matches(self)
            }

            fn resource(&self) -> Resource<'e> {
                $ty::resource(self)
            }

            fn edit(&mut self, scratch: &mut AttributeScratch, edit: impl FnOnce(&mut AttributesMut<'_>)) {
                self.edit_attributes(scratch, edit);
            }
        }
    };
}

item!(LogRecordMut, matches_log);
item!(SpanMut, matches_span);
item!(DataPointMut, matches_point);

/// Applies every pass, in order, to one item. Without conditions there is one pass: the
/// item is read once and re-encoded at most once, however many actions change it.
fn run<'e>(passes: &mut [Pass], item: &mut impl Item<'e>, scratch: &mut AttributeScratch, text: &mut String) {
    let resource = item.resource();
    for pass in passes {
        let first = pass.condition.as_ref().is_none_or(|c| item.matches(c));
        let actions = &mut pass.actions[usize::from(!first)..];
        if actions.is_empty() {
            continue;
        }
        item.edit(scratch, |attrs| {
            for action in actions {
                apply(action, attrs, Some(resource), text);
            }
        });
    }
}

/// Applies one action to a table of attributes. `resource` is the item's resource, for
/// `from_resource_attribute` (none when the table is a resource's own).
fn apply(action: &mut Action, attrs: &mut AttributesMut<'_>, resource: Option<Resource<'_>>, text: &mut String) {
    match action {
        Action::Insert { key, source } => {
            if !attrs.contains(key) {
                set_from(attrs, key, source, resource);
            }
        }
        Action::Update { key, source } => {
            if attrs.contains(key) {
                set_from(attrs, key, source, resource);
            }
        }
        Action::Upsert { key, source } => set_from(attrs, key, source, resource),
        Action::Delete { key } => {
            attrs.remove(key);
        }
        Action::Rename { key, new_key } => {
            attrs.rename(key, new_key);
        }
        Action::Hash { key } => {
            let hex = attrs.get(key).map(|value| match value.get() {
                ValueRef::Str(s) => hash::sha256_hex(s.as_bytes()),
                ValueRef::Bytes(b) => hash::sha256_hex(b),
                other => hash::sha256_hex(other.to_string().as_bytes()),
            });
            if let Some(hex) = hex {
                attrs.set(key, hex.as_str());
            }
        }
        Action::Extract { key, extractor } => extract(extractor, key, attrs, text),
    }
}

/// Sets `key` from a literal, another attribute or a resource attribute (nothing when
/// that is absent).
fn set_from(attrs: &mut AttributesMut<'_>, key: &str, source: &Source, resource: Option<Resource<'_>>) {
    match source {
        Source::Literal(encoded) => attrs.set(key, ValueRef::Encoded(encoded)),
        Source::Attribute(from) => {
            attrs.copy(from, key);
        }
        Source::ResourceAttribute(from) => {
            if let Some(value) = resource.and_then(|r| r.attribute(from)) {
                attrs.set(key, value);
            }
        }
    }
}

/// Sets one attribute per named capture of the pattern that took part in the match, from
/// the string value of `key`. Non-strings and values the pattern does not match are left
/// alone; existing attributes of the captures' names are overwritten.
fn extract(extractor: &mut Extractor, key: &str, attrs: &mut AttributesMut<'_>, text: &mut String) {
    let Some(value) = attrs.get(key).and_then(|v| v.as_str()) else { return };
    text.clear();
    text.push_str(value);
    let Extractor { regex, names, locations } = extractor;
    if regex.captures_read(locations, text).is_none() {
        return;
    }
    for (group, name) in names.iter() {
        if let Some((start, end)) = locations.get(*group) {
            attrs.set(name, &text[start..end]);
        }
    }
}

#[cfg(test)]
mod tests;
