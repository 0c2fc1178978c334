; Imports of C++: the header of every #include, "x.h" and <y.h> alike
; (the scanner strips the quotes and angle brackets).
(preproc_include path: (string_literal) @import)
(preproc_include path: (system_lib_string) @import)
