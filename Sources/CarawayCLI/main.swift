import Caraway

// The stock binary: Caraway's built-in tasks. Users build their own with `Caraway.main(registry:)`.
Caraway.main()
