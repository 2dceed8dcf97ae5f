//! Integration tests of the read side: the planner against the naive oracle, cursor walks, bad input.

mod attributes;
mod common;
mod cursor;
mod oracle;
mod rollups;
