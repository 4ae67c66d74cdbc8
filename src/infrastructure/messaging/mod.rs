//! RabbitMQ adapters: names and topology, the worker's command dispatcher, and the API's
//! completion tracker.

pub mod command_dispatcher;
pub mod completions;
pub mod headers;
pub mod names;
pub mod preflight;
