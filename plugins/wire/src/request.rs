//! The request editors for logs and traces, which share their shape (resources, scopes,
//! items) and differ only in the item type, are generated here.

/// Generates a request editor, its resource editor and its scope editor.
macro_rules! request_editor {
    (
        $(#[$doc:meta])*
        request $Request:ident($signal:expr);
        resource $ResourceMut:ident / $ResourceView:ident, $resources:ident, $resources_mut:ident, $push_resource:ident;
        scope $ScopeMut:ident, $scopes_mut:ident;
        item $Item:ident / $ItemMut:ident, $items:ident, $items_mut:ident, $push_item:ident;
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $Request<'a> {
            core: $crate::edit::Core<'a>,
        }

        impl<'a> $Request<'a> {
            /// Indexes an encoded request for reading and editing. Only the framing down
            /// to the items is read here; use [`crate::validate`] to check everything.
            pub fn parse(bytes: &'a [u8]) -> Result<Self, $crate::WireError> {
                Ok($Request {
                    core: $crate::edit::Core::new($signal, bytes)?,
                })
            }

            /// The request as it came in.
            pub fn bytes(&self) -> &'a [u8] {
                self.core.buf
            }

            /// How many items the request came with.
            pub fn len(&self) -> usize {
                self.core.ix.items.len()
            }

            /// Whether the request came without items.
            pub fn is_empty(&self) -> bool {
                self.core.ix.items.is_empty()
            }

            /// How many resources the request came with.
            pub fn resource_count(&self) -> usize {
                self.core.ix.resources.len()
            }

            /// Every item as it came in, in order.
            pub fn $items(&self) -> impl Iterator<Item = $Item<'a>> + '_ {
                let buf = self.core.buf;
                self.core
                    .ix
                    .items
                    .iter()
                    .map(move |entry| $Item::new(entry.field.body(buf)))
            }

            /// Every resource as it came in, in order.
            pub fn $resources(&self) -> impl Iterator<Item = $ResourceView<'a>> + '_ {
                let buf = self.core.buf;
                self.core
                    .ix
                    .resources
                    .iter()
                    .map(move |entry| $ResourceView::new(entry.field.body(buf)))
            }

            /// Every item, for editing, in order.
            pub fn $items_mut(&mut self) -> impl Iterator<Item = $ItemMut<'_>> + '_ {
                let core = &mut self.core;
                let buf = core.buf;
                let ix = &core.ix;
                ix.items
                    .iter()
                    .zip(core.items.iter_mut())
                    .map(move |(entry, slot)| {
                        let scope = &ix.scopes[entry.parent as usize];
                        $ItemMut::new(
                            $crate::edit::MessageMut::new(entry.field.body(buf), slot),
                            $crate::request::resource_view(buf, ix, scope.resource as usize),
                            $crate::request::scope_view(buf, ix, entry.parent as usize),
                        )
                    })
            }

            /// Every resource, for editing, in order.
            pub fn $resources_mut(&mut self) -> impl Iterator<Item = $ResourceMut<'_>> + '_ {
                let core = &mut self.core;
                $crate::tree::ResourcePartsIter {
                    buf: core.buf,
                    ix: &core.ix,
                    next: 0,
                    nodes: core.resources.iter_mut(),
                    scopes: &mut core.scopes,
                    metrics: &mut core.metrics,
                    items: &mut core.items,
                }
                .map(|parts| $ResourceMut { parts })
            }

            /// Keeps only the items for which `keep` returns true (seeing each item as
            /// edited so far).
            pub fn retain(&mut self, mut keep: impl FnMut(&$Item<'_>) -> bool) {
                for mut item in self.$items_mut() {
                    if !keep(&item.view()) {
                        item.remove();
                    }
                }
            }

            /// Appends an encoded resource (its payload, without tag and length).
            pub fn $push_resource(&mut self, payload: Vec<u8>) {
                self.core.added_resources.push(payload);
            }

            /// Drops the whole request, whatever else was edited.
            pub fn drop_all(&mut self) {
                self.core.overridden = Some($crate::Outcome::Dropped);
            }

            /// Replaces the whole request by `bytes`, whatever else was edited. The
            /// bytes are passed on as they are.
            pub fn replace(&mut self, bytes: Vec<u8>) {
                self.core.overridden = Some($crate::Outcome::Replaced(bytes));
            }

            /// Whether anything was edited, removed or added so far.
            pub fn is_modified(&self) -> bool {
                self.core.is_modified()
            }

            /// Applies the edits: [`crate::Outcome::Unchanged`] when there were none.
            pub fn finish(self) -> $crate::Outcome {
                self.core.finish()
            }
        }

        /// Edits one resource: its attributes, its scopes, or the whole of it.
        #[derive(Debug)]
        pub struct $ResourceMut<'e> {
            parts: $crate::tree::ResourceParts<'e>,
        }

        impl<'e> $ResourceMut<'e> {
            fn orig(&self) -> &'e [u8] {
                $crate::request::resource_view(self.parts.buf, self.parts.ix, self.parts.index)
                    .bytes()
            }

            /// The `Resource` message, for edits the typed setters do not cover.
            pub fn resource_mut(&mut self) -> $crate::edit::MessageMut<'_> {
                let orig = self.orig();
                $crate::edit::MessageMut::new(orig, &mut *self.parts.node)
            }

            /// The resource as edited so far.
            pub fn resource(&self) -> $crate::view::Resource<'_> {
                match &*self.parts.node {
                    $crate::edit::Slot::Edited(bytes) => $crate::view::Resource::new(bytes),
                    _ => $crate::view::Resource::new(self.orig()),
                }
            }

            /// The value of resource attribute `key`, as edited so far.
            pub fn attribute(&self, key: &str) -> Option<$crate::AnyValue<'_>> {
                self.resource().attribute(key)
            }

            /// Sets resource attribute `key`.
            pub fn set_attribute(&mut self, key: &str, value: impl $crate::EncodeValue) {
                self.resource_mut().set_attribute(1, key, &value);
            }

            /// Removes resource attribute `key`; returns whether it was there.
            pub fn remove_attribute(&mut self, key: &str) -> bool {
                self.resource_mut().remove_attribute(1, key)
            }

            /// The scopes of this resource, for editing.
            pub fn $scopes_mut(&mut self) -> impl Iterator<Item = $ScopeMut<'_>> + '_ {
                let resource = $crate::request::resource_view(
                    self.parts.buf,
                    self.parts.ix,
                    self.parts.index,
                );
                self.parts
                    .scopes()
                    .map(move |parts| $ScopeMut { parts, resource })
            }

            /// Removes the resource with everything in it.
            pub fn remove(&mut self) {
                *self.parts.node = $crate::edit::Slot::Removed;
            }
        }

        /// Edits one scope: its name, version and attributes, its items, or the whole of it.
        #[derive(Debug)]
        pub struct $ScopeMut<'e> {
            parts: $crate::tree::ScopeParts<'e>,
            resource: $crate::view::Resource<'e>,
        }

        impl<'e> $ScopeMut<'e> {
            fn orig(&self) -> &'e [u8] {
                $crate::request::scope_view(self.parts.buf, self.parts.ix, self.parts.index)
                    .bytes()
            }

            /// The `InstrumentationScope` message, for edits the typed setters do not cover.
            pub fn scope_mut(&mut self) -> $crate::edit::MessageMut<'_> {
                let orig = self.orig();
                $crate::edit::MessageMut::new(orig, &mut self.parts.slot.node)
            }

            /// The scope as edited so far.
            pub fn scope(&self) -> $crate::view::Scope<'_> {
                match &self.parts.slot.node {
                    $crate::edit::Slot::Edited(bytes) => $crate::view::Scope::new(bytes),
                    _ => $crate::view::Scope::new(self.orig()),
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
            pub fn set_attribute(&mut self, key: &str, value: impl $crate::EncodeValue) {
                self.scope_mut().set_attribute(3, key, &value);
            }

            /// Removes scope attribute `key`; returns whether it was there.
            pub fn remove_attribute(&mut self, key: &str) -> bool {
                self.scope_mut().remove_attribute(3, key)
            }

            /// The items of this scope, for editing.
            pub fn $items_mut(&mut self) -> impl Iterator<Item = $ItemMut<'_>> + '_ {
                let buf = self.parts.buf;
                let ix = self.parts.ix;
                let resource = self.resource;
                let scope = $crate::request::scope_view(buf, ix, self.parts.index);
                self.parts.items().map(move |(i, slot)| {
                    $ItemMut::new(
                        $crate::edit::MessageMut::new(ix.items[i].field.body(buf), slot),
                        resource,
                        scope,
                    )
                })
            }

            /// Appends an encoded item (its payload, without tag and length) to the scope.
            pub fn $push_item(&mut self, payload: Vec<u8>) {
                self.parts.slot.added.push(payload);
            }

            /// Removes the scope with everything in it.
            pub fn remove(&mut self) {
                self.parts.slot.node = $crate::edit::Slot::Removed;
            }
        }
    };
}

pub(crate) use request_editor;

use crate::index::Index;
use crate::view::{Resource, Scope};

/// The original `Resource` of resource `r`.
///
/// Inlined: every item iterator calls this once per item, and out of line (in a plugin, a
/// Wasm call with a stack check, an epoch check and the result written through memory)
/// it cost as much as a filter's test of the item.
#[inline]
pub(crate) fn resource_view<'a>(buf: &'a [u8], ix: &Index, r: usize) -> Resource<'a> {
    Resource::new(ix.resources[r].resource.map_or(&[][..], |s| s.body(buf)))
}

/// The original `InstrumentationScope` of scope `s` (inlined, as [`resource_view`]).
#[inline]
pub(crate) fn scope_view<'a>(buf: &'a [u8], ix: &Index, s: usize) -> Scope<'a> {
    Scope::new(ix.scopes[s].scope.map_or(&[][..], |s| s.body(buf)))
}
