/// Postgres array literals for text-format parameters (`{1.5,2}` / `{"a","b\"c"}`), so a list
/// travels as ONE bound parameter instead of being spliced into SQL.
enum SQLArray {
    static func doubles(_ values: [Double]) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
    }

    static func texts(_ values: [String]) -> String {
        "{" + values.map { value in
            var quoted = "\""
            for character in value {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }.joined(separator: ",") + "}"
    }
}
