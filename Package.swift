// swift-tools-version:6.0
import PackageDescription

// Layers point down only (docs/architecture.md):
// C shims → CarawayLoop → CarawayRedis / CarawayHTTP → CarawayProtocol (pure)
// → CarawayBroker → CarawayWorker / CarawayBeat / CarawayControl → Caraway (node library) → CarawayCLI (`caraway`).

// The node's per-task path: Swift's dynamic exclusivity checks were 5–7 % of a node's instructions
// per task (callgrind, docs/performance.md). Off in release builds only; debug builds — every test
// run — keep them, so an overlapping access still traps where it is tested.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
let package = Package(
    name: "Caraway",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Caraway", targets: ["Caraway"]),
        .executable(name: "caraway", targets: ["CarawayCLI"]),
        .executable(name: "caraway-bench", targets: ["CarawayBench"]),
        .executable(name: "caraway-floor", targets: ["CarawayFloor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CUV", pkgConfig: "libuv", providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CPQ", providers: [.apt(["libpq-dev"])]),  // headers only: CPQLazy loads libpq
        .target(name: "CPQLazy", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CHTTPParser", providers: [.apt(["libhttp-parser-dev"])]),
        .target(name: "CCaraway"),

        .target(name: "CarawayLoop", dependencies: ["CUV", "CCaraway"], swiftSettings: hotPath),
        .target(name: "CarawayRedis", dependencies: [
            "CarawayLoop", "CUV", "CHiredis", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        .target(name: "CarawayHTTP", dependencies: [
            "CarawayLoop", "CUV", "CHTTPParser", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CarawayPostgres", dependencies: [
            "CarawayLoop", "CUV", "CPQ", "CPQLazy", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CarawayProtocol", swiftSettings: hotPath),
        .target(name: "CarawayBroker", dependencies: [
            "CarawayRedis", "CarawayProtocol", "CarawayLoop", .product(name: "Logging", package: "swift-log"),
        ], resources: [], swiftSettings: hotPath),
        .target(name: "CarawayWorker", dependencies: [
            "CarawayLoop", "CarawayProtocol", "CarawayBroker", "CCaraway",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: hotPath),
        .target(name: "CarawayStore", dependencies: [
            "CarawayPostgres", "CarawayProtocol", "CarawayLoop", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CarawayBeat", dependencies: [
            "CarawayLoop", "CarawayRedis", "CarawayProtocol", "CarawayBroker", "CarawayStore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CarawayControl", dependencies: [
            "CarawayLoop", "CarawayRedis", "CarawayProtocol", "CarawayBroker", .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Caraway", dependencies: [
            "CarawayLoop", "CarawayRedis", "CarawayHTTP", "CarawayProtocol", "CarawayBroker", "CarawayWorker", "CarawayBeat",
            "CarawayControl",
            "CarawayPostgres", "CarawayStore",
            "CCaraway", .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], resources: [.embedInCode("Resources/openapi.yaml")], swiftSettings: hotPath),
        .executableTarget(name: "CarawayCLI", dependencies: ["Caraway"]),
        .executableTarget(name: "CarawayBench", dependencies: [
            "CCaraway", "CarawayBroker", "CarawayLoop", "CarawayProtocol", "CarawayRedis", "CarawayWorker", .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),  // a script-style tool: top-level state, one thread
        // The chain's floor for bench/run (C on purpose: the chain with no language runtime in it).
        .executableTarget(name: "CarawayFloor", linkerSettings: [.linkedLibrary("hiredis")]),

        .target(name: "CarawayTestSupport", path: "Tests/CarawayTestSupport"),
        .testTarget(name: "CarawayProtocolTests", dependencies: [
            "CarawayProtocol", .product(name: "PropertyBased", package: "swift-property-based"),
        ], resources: [.copy("Fixtures")]),
        .testTarget(name: "CarawayTests", dependencies: ["Caraway", "CarawayProtocol"]),
        .testTarget(name: "CarawayControlTests", dependencies: [
            "CarawayControl", "CarawayBroker", "CarawayRedis", "CarawayLoop", "CarawayProtocol", "CarawayTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CarawayLoopTests", dependencies: ["CarawayLoop"]),
        .testTarget(name: "CarawayRedisTests", dependencies: ["CarawayRedis", "CarawayLoop", "CarawayTestSupport"]),
        .testTarget(name: "CarawayPostgresTests", dependencies: [
            "CarawayPostgres", "CarawayLoop", "CarawayTestSupport", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CarawayHTTPTests", dependencies: ["CarawayHTTP", "CarawayLoop", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CarawayStoreTests", dependencies: [
            "CarawayStore", "CarawayPostgres", "CarawayProtocol", "CarawayLoop", "CarawayTestSupport",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CarawayBeatTests", dependencies: ["CarawayBeat", "CarawayRedis", "CarawayLoop", "CarawayTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "CarawayWorkerTests", dependencies: ["CarawayWorker", "CarawayProtocol", "CarawayLoop"]),
        .testTarget(name: "CarawayBrokerTests", dependencies: ["CarawayBroker", "CarawayRedis", "CarawayLoop", "CarawayProtocol", "CarawayTestSupport"]),
    ]
)
