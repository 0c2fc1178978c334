; Imports of Rust: the path of every use declaration: `use std::fmt;` gives
; std::fmt, `use std::io::{self, Read};` gives std::io, `use a::b as c;`
; gives a::b, `use super::*;` gives super.  Nested lists give their prefix.
(use_declaration argument: [(identifier) (scoped_identifier) (crate) (super) (self)] @import)
(use_declaration argument: (scoped_use_list path: (_) @import))
(use_declaration argument: (use_as_clause path: (_) @import))
(use_declaration argument: (use_wildcard [(identifier) (scoped_identifier) (crate) (super) (self)] @import))
