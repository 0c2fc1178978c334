; Calls of Java: the name of every method invocation (`f()`, `obj.m()`,
; `Type.m()`, `super.m()`).  `new T()` and `this(...)`/`super(...)` are
; constructions, not calls.
(method_invocation name: (identifier) @name) @reference.call
