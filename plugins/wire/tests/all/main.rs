//! Tests of aegis-wire against prost-encoded OTLP: validation, splitting, editing, and
//! random damage that must never panic.

mod differential;
mod edit;
mod fuzz;
mod owned;
mod split;
mod support;
mod timing;
mod validate;
mod value;
