/* caraway-floor: the fastest a node's per-task chain can go on this host, for bench/run.
 *
 * Prefetch 1 and acks-late make every task the same chain of hand-offs:
 *   child replies → node sends settle_reserve → Redis runs it → node writes the next envelope
 *   to that child → child runs it → child replies …
 * This program is that chain with nothing else: one process, one nonblocking Redis connection,
 * a poll() loop, CHILDREN forked children that answer every request with a fixed 84-byte reply,
 * and the node's own settle_reserve script (loaded by `caraway-bench floor`, which also fills the
 * queue and passes the keys). No decoding, no bookkeeping, no allocation per task beyond hiredis's
 * reply. What Caraway drains in (a) divided by what this drains is how close the node gets to the
 * chain it cannot avoid (docs/performance.md, "The chain's floor").
 *
 *   caraway-floor HOST PORT SHA CHILDREN NODE_ID KEY...     (KEY... = the script's KEYS, in order;
 *                                                            database 0, no password: bench/run's Redis)
 *
 * Runs until a settle_reserve finds every queue empty for every child; prints one JSON object. */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_CHILDREN = 16, REPLY_BYTES = 84 };

typedef struct {
  int to_child, from_child; /* the node's ends of the request and reply pipes */
  pid_t pid;
  char field[32];           /* the in-flight field of the message this child holds ("none" at first) */
} Child;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "caraway-floor: %s\n", what);
  exit(1);
}

/* A child: read a request, answer it, until the node closes the pipe. */
static void child_main(int in, int out) {
  static char buffer[1 << 16];
  char reply[REPLY_BYTES];
  memset(reply, 'r', sizeof reply);
  for (;;) {
    if (read(in, buffer, sizeof buffer) <= 0) _exit(0);
    if (write(out, reply, sizeof reply) != (ssize_t)sizeof reply) _exit(0);
  }
}

/* Spawns pool[index]; the child closes its elder siblings' pipe ends, so each child sees EOF
   when the node closes its request pipe. */
static void spawn(Child *pool, int index) {
  Child *c = &pool[index];
  int request[2], reply[2];
  if (pipe(request) || pipe(reply)) die("pipe failed");
  c->pid = fork();
  if (c->pid < 0) die("fork failed");
  if (c->pid == 0) {
    for (int i = 0; i < index; i++) {
      close(pool[i].to_child);
      close(pool[i].from_child);
    }
    close(request[1]);
    close(reply[0]);
    child_main(request[0], reply[1]);
  }
  close(request[0]);
  close(reply[1]);
  c->to_child = request[1];
  c->from_child = reply[0];
  strcpy(c->field, "none");
}

/* The script's arguments, as the node sends them for a task without a result (broker/Broker.swift). */
static const char *sha, *node_id;
static const char **keys;
static int key_count;
static long next_field;

static void send_settle_reserve(redisContext *redis, Child *c) {
  const char *argv[64];
  size_t lengths[64];
  char count[16], field[32];
  int n = 0;
  snprintf(count, sizeof count, "%d", key_count);
  snprintf(field, sizeof field, "%ld", ++next_field);
  argv[n++] = "EVALSHA";
  argv[n++] = sha;
  argv[n++] = count;
  for (int i = 0; i < key_count; i++) argv[n++] = keys[i];
  argv[n++] = c->field; /* settle: the message it held */
  argv[n++] = "";       /* no result record */
  argv[n++] = "0";      /* no result TTL */
  argv[n++] = node_id;
  argv[n++] = field;    /* reserve: the next message's field */
  for (int i = 0; i < n; i++) lengths[i] = strlen(argv[i]);
  if (redisAppendCommandArgv(redis, n, argv, lengths) != REDIS_OK) die("cannot format EVALSHA");
  strcpy(c->field, field);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: caraway-floor HOST PORT SHA CHILDREN NODE_ID KEY...\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]), children = atoi(argv[4]);
  sha = argv[3];
  node_id = argv[5];
  keys = (const char **)&argv[6];
  key_count = argc - 6;
  if (children < 1 || children > MAX_CHILDREN || key_count + 8 > 64) die("bad arguments");

  Child pool[MAX_CHILDREN];
  for (int i = 0; i < children; i++) spawn(pool, i);
  /* A blocking socket is fine: it is read only when poll() says readable, and each write is small. */
  redisContext *redis = redisConnect(host, port);
  if (redis == NULL || redis->err) die("cannot connect to Redis");

  int order[MAX_CHILDREN * 4], head = 0, tail = 0; /* which child each pending reply belongs to */
  int live = children;
  long tasks = 0;
  double started = now();
  for (int i = 0; i < children; i++) {
    send_settle_reserve(redis, &pool[i]);
    order[tail++ % (MAX_CHILDREN * 4)] = i;
  }
  struct pollfd fds[MAX_CHILDREN + 1];
  while (live > 0) {
    int written = 0;
    while (!written) if (redisBufferWrite(redis, &written) != REDIS_OK) die("Redis write failed");
    fds[0] = (struct pollfd){.fd = redis->fd, .events = POLLIN};
    for (int i = 0; i < children; i++) fds[i + 1] = (struct pollfd){.fd = pool[i].from_child, .events = POLLIN};
    if (poll(fds, (nfds_t)children + 1, -1) < 0) die("poll failed");
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (redisBufferRead(redis) != REDIS_OK) die("Redis read failed");
      void *reply;
      while (redisGetReplyFromReader(redis, &reply) == REDIS_OK && reply != NULL) {
        redisReply *r = reply;
        Child *c = &pool[order[head++ % (MAX_CHILDREN * 4)]];
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) die("unexpected settle_reserve reply");
        if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_STRING) {
          if (write(c->to_child, r->element[2]->str, r->element[2]->len) != (ssize_t)r->element[2]->len) die("child write failed");
        } else {
          live--; /* every queue empty: this child is finished */
        }
        freeReplyObject(r);
      }
    }
    for (int i = 0; i < children; i++) {
      if (!(fds[i + 1].revents & POLLIN)) continue;
      char buffer[256];
      if (read(pool[i].from_child, buffer, sizeof buffer) <= 0) die("child died");
      tasks++;
      send_settle_reserve(redis, &pool[i]);
      order[tail++ % (MAX_CHILDREN * 4)] = i;
    }
  }
  double elapsed = now() - started;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  for (int i = 0; i < children; i++) close(pool[i].to_child);
  for (int i = 0; i < children; i++) waitpid(pool[i].pid, NULL, 0);
  freeReplyObject(redisCommand(redis, "ZREM %s %s", keys[2], node_id)); /* leave the live set as found */
  redisFree(redis);
  double user = (double)usage.ru_utime.tv_sec * 1e6 + (double)usage.ru_utime.tv_usec;
  double sys = (double)usage.ru_stime.tv_sec * 1e6 + (double)usage.ru_stime.tv_usec;
  printf("{\"tasks\": %ld, \"seconds\": %.6f, \"tasks_per_second\": %.1f, \"node_user_us_per_task\": %.1f, "
         "\"node_sys_us_per_task\": %.1f, \"children\": %d}\n",
         tasks, elapsed, tasks > 0 ? (double)tasks / elapsed : 0.0, tasks ? user / (double)tasks : 0.0,
         tasks ? sys / (double)tasks : 0.0, children);
  return 0;
}
