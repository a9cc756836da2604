// Written by hand, beside the generated FioPeer.swift: the generated
// FioPeerError has the Rust error's sentence as `description` but does not
// declare the conformance, so `"\(error)"`, `String(describing:)` and
// `localizedDescription` (its `errorDescription` is `String(reflecting:)`)
// printed the enum case instead. Declared, they print the sentence.
extension FioPeerError: CustomStringConvertible {}
