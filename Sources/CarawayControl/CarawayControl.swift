/// CarawayControl: the operator side of a node — Celery's remote-control ("pidbox") protocol,
/// Celery's event stream, and the inspect snapshots that make cluster-wide inspect a Redis read.
enum CarawayControl {}
