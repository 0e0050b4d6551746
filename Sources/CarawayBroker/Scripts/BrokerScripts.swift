/// The Lua scripts of the broker: one named script per atomic operation (house rule 6).
/// Each script's contract (KEYS, ARGV, returns, why atomic) sits above its source in its own file.
public enum BrokerScripts {}
