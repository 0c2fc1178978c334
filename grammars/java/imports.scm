; Imports of Java: the name of every import declaration, static imports
; included; an on-demand import `java.util.*` gives `java.util`.
(import_declaration [(scoped_identifier) (identifier)] @import)
