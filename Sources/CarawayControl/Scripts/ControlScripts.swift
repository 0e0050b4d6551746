import CarawayRedis

/// The control plane's Lua scripts, one per atomic operation (house rule from asynq/River).
enum ControlScripts {}
