#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <stdlib.h>
#include <uv.h>

/* Caraway's own libuv adapter for hiredis's async API (replaces adapters/libuv.h's callbacks).

   1. Poll errors reach hiredis. Found by the chaos harness: Debian's hiredis 0.14.1 adapter returns
      from its poll callback when status != 0, so a refused connect or a reset connection (POLLERR;
      libuv has stopped the handle) never reaches hiredis and the connection hangs forever. This is
      the fix hiredis >= 1.0 made (redis/hiredis#624): on an error, let hiredis read/write so it
      sees the failure itself.
   2. Writes are batched, once per loop iteration, without touching epoll. The stock adapter asks
      for POLLOUT on every command and drops it after the write: two epoll_ctl calls and an extra
      wake-up per round trip (uv_poll_start re-arms even when the events did not change). Here a
      command only starts a uv_prepare handle; just before the loop next blocks, every command queued
      in this iteration goes out in one write(). POLLOUT is asked for only while connecting and when
      the kernel's socket buffer is full. (docs/performance.md, "batched Redis writes".) */
typedef struct carawayRedisEvents {
  redisAsyncContext *context;
  uv_poll_t poll;
  uv_prepare_t flush;
  int events;        /* what the poll handle watches now */
  int flushing;      /* inside the prepare callback: a re-queued write means the socket is full */
  int open_handles;  /* freed when both handles have closed */
} carawayRedisEvents;

static void carawayRedisPoll(uv_poll_t *handle, int status, int events) {
  carawayRedisEvents *p = (carawayRedisEvents *)handle->data;
  int ev = (status ? p->events : events);
  if (p->context != NULL && (ev & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context != NULL && (ev & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}
static void carawayRedisWatch(carawayRedisEvents *p, int events) {
  if (events == p->events) return;  /* uv_poll_start would cost an epoll_ctl even for no change */
  p->events = events;
  if (events) uv_poll_start(&p->poll, events, carawayRedisPoll); else uv_poll_stop(&p->poll);
}
static void carawayRedisFlush(uv_prepare_t *handle) {
  carawayRedisEvents *p = (carawayRedisEvents *)handle->data;
  uv_prepare_stop(handle);
  if (p->context == NULL) return;
  p->flushing = 1;
  redisAsyncHandleWrite(p->context);  /* may free the context: cleanup then clears p->context */
  p->flushing = 0;
}
static void carawayRedisAddRead(void *privdata) {
  carawayRedisEvents *p = (carawayRedisEvents *)privdata;
  carawayRedisWatch(p, p->events | UV_READABLE);
}
static void carawayRedisDelRead(void *privdata) {
  carawayRedisEvents *p = (carawayRedisEvents *)privdata;
  carawayRedisWatch(p, p->events & ~UV_READABLE);
}
static void carawayRedisAddWrite(void *privdata) {
  carawayRedisEvents *p = (carawayRedisEvents *)privdata;
  int connected = p->context != NULL && (p->context->c.flags & REDIS_CONNECTED);
  if (!connected || p->flushing || (p->events & UV_WRITABLE)) {
    /* Connecting (POLLOUT reports the connect), or the buffer is full: wait for the socket. */
    carawayRedisWatch(p, p->events | UV_WRITABLE);
  } else {
    uv_prepare_start(&p->flush, carawayRedisFlush);  /* no-op when already started */
  }
}
static void carawayRedisDelWrite(void *privdata) {
  carawayRedisEvents *p = (carawayRedisEvents *)privdata;
  carawayRedisWatch(p, p->events & ~UV_WRITABLE);
}
static void carawayRedisClosed(uv_handle_t *handle) {
  carawayRedisEvents *p = (carawayRedisEvents *)handle->data;
  if (--p->open_handles == 0) free(p);
}
static void carawayRedisCleanup(void *privdata) {
  carawayRedisEvents *p = (carawayRedisEvents *)privdata;
  p->context = NULL;  /* the context may be gone by the time a callback runs */
  uv_close((uv_handle_t *)&p->poll, carawayRedisClosed);
  uv_close((uv_handle_t *)&p->flush, carawayRedisClosed);
}
static int carawayLibuvAttach(redisAsyncContext *ac, uv_loop_t *loop) {
  if (ac->ev.data != NULL) return REDIS_ERR;
  carawayRedisEvents *p = (carawayRedisEvents *)calloc(1, sizeof(*p));
  if (p == NULL) return REDIS_ERR;
  if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) { free(p); return REDIS_ERR; }
  uv_prepare_init(loop, &p->flush);
  p->context = ac;
  p->poll.data = p;
  p->flush.data = p;
  p->open_handles = 2;
  ac->ev.addRead = carawayRedisAddRead;
  ac->ev.delRead = carawayRedisDelRead;
  ac->ev.addWrite = carawayRedisAddWrite;
  ac->ev.delWrite = carawayRedisDelWrite;
  ac->ev.cleanup = carawayRedisCleanup;
  ac->ev.data = p;
  return REDIS_OK;
}
