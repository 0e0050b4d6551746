import CPQ

/// The outcome of one successful statement, copied out of libpq's `PGresult` before it is
/// cleared: plain Swift values, safe to keep and to send across threads.
///
/// Values are in Postgres's text format: `t`/`f` for booleans, `{…}` for arrays, JSON as text.
public struct PostgresResult: Sendable {
    /// Column names, in select-list order.
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted, selected… as the command tag reports them (PQcmdTuples);
    /// 0 for commands that report none (CREATE, LISTEN).
    public let affectedRows: Int
    /// The command tag, e.g. `INSERT 0 1` or `SELECT 3`.
    public let command: String

    /// Builds a result by hand (fakes of the layers above use this).
    public init(columns: [String], rows: [[String?]], affectedRows: Int = 0, command: String = "") {
        self.columns = columns
        let index = ColumnIndex(columns)
        self.rows = rows.map { PostgresRow(index: index, values: $0) }
        self.affectedRows = affectedRows
        self.command = command
    }

    /// Copies everything out of `result`; the caller still owns (and clears) it.
    init(copying result: OpaquePointer) {
        let fieldCount = PQnfields(result)
        let rowCount = PQntuples(result)
        let columns = (0..<fieldCount).map { String(cString: PQfname(result, $0)) }
        let index = ColumnIndex(columns)
        self.columns = columns
        rows = (0..<rowCount).map { row in
            PostgresRow(index: index, values: (0..<fieldCount).map { field -> String? in
                if PQgetisnull(result, row, field) != 0 { return nil }
                let length = Int(PQgetlength(result, row, field))
                guard let value = PQgetvalue(result, row, field) else { return nil }
                return String(decoding: UnsafeRawBufferPointer(start: value, count: length), as: UTF8.self)
            })
        }
        affectedRows = PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        command = PQcmdStatus(result).map { String(cString: $0) } ?? ""
    }
}

/// One row: text values by column name or position; `nil` is SQL NULL.
///
/// The typed getters return `nil` for NULL, for a column the row does not have, and for text
/// that does not parse as the type: select with an explicit cast (`count(*)::int`) when the
/// difference matters.
public struct PostgresRow: Sendable {
    let index: ColumnIndex
    /// The values in column order.
    public let values: [String?]

    init(index: ColumnIndex, values: [String?]) {
        self.index = index
        self.values = values
    }

    /// Column names, in select-list order.
    public var columns: [String] { index.names }

    /// The value of `column` (the first one, if several share the name); nil if NULL or absent.
    public subscript(_ column: String) -> String? {
        guard let position = index.positions[column], position < values.count else { return nil }
        return values[position]
    }

    /// The value at `position`; nil if NULL or out of range.
    public subscript(_ position: Int) -> String? {
        values.indices.contains(position) ? values[position] : nil
    }

    public func string(_ column: String) -> String? { self[column] }
    public func int(_ column: String) -> Int? { self[column].flatMap { Int($0) } }
    public func int64(_ column: String) -> Int64? { self[column].flatMap { Int64($0) } }
    public func double(_ column: String) -> Double? { self[column].flatMap { Double($0) } }

    /// `t` → true, `f` → false (Postgres's text form of boolean).
    public func bool(_ column: String) -> Bool? {
        switch self[column] {
        case "t": return true
        case "f": return false
        default: return nil
        }
    }

    /// Whether `column` exists and is SQL NULL.
    public func isNull(_ column: String) -> Bool {
        guard let position = index.positions[column], position < values.count else { return false }
        return values[position] == nil
    }
}

/// Column name → position, built once per result and shared by its rows.
final class ColumnIndex: Sendable {
    let names: [String]
    let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (i, name) in names.enumerated() where positions[name] == nil { positions[name] = i }
        self.positions = positions
    }
}
