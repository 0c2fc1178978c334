; Imports of Go: the path of every import_spec (single or grouped, aliased,
; dot or blank imports alike); the scanner strips the quotes.
(import_spec path: (interpreted_string_literal) @import)
(import_spec path: (raw_string_literal) @import)
