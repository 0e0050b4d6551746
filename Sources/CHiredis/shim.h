#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

/* Found by the chaos harness: Debian's hiredis 0.14.1 libuv adapter returns from its poll callback
   when status != 0, so a refused connect or a reset connection (POLLERR; libuv has stopped the
   handle) never reaches hiredis and the connection hangs forever. This is the fix hiredis >= 1.0
   made (redis/hiredis#624): on an error, let hiredis read/write so it sees the failure itself. */
static void carawayLibuvPoll(uv_poll_t* handle, int status, int events) {
  redisLibuvEvents* p = (redisLibuvEvents*)handle->data;
  int ev = (status ? p->events : events);
  if (p->context != NULL && (ev & UV_READABLE)) redisAsyncHandleRead(p->context);
  if (p->context != NULL && (ev & UV_WRITABLE)) redisAsyncHandleWrite(p->context);
}
static void carawayLibuvAddRead(void *privdata) {
  redisLibuvEvents* p = (redisLibuvEvents*)privdata;
  p->events |= UV_READABLE;
  uv_poll_start(&p->handle, p->events, carawayLibuvPoll);
}
static void carawayLibuvDelRead(void *privdata) {
  redisLibuvEvents* p = (redisLibuvEvents*)privdata;
  p->events &= ~UV_READABLE;
  if (p->events) uv_poll_start(&p->handle, p->events, carawayLibuvPoll); else uv_poll_stop(&p->handle);
}
static void carawayLibuvAddWrite(void *privdata) {
  redisLibuvEvents* p = (redisLibuvEvents*)privdata;
  p->events |= UV_WRITABLE;
  uv_poll_start(&p->handle, p->events, carawayLibuvPoll);
}
static void carawayLibuvDelWrite(void *privdata) {
  redisLibuvEvents* p = (redisLibuvEvents*)privdata;
  p->events &= ~UV_WRITABLE;
  if (p->events) uv_poll_start(&p->handle, p->events, carawayLibuvPoll); else uv_poll_stop(&p->handle);
}
static int carawayLibuvAttach(redisAsyncContext* ac, uv_loop_t* loop) {
  if (redisLibuvAttach(ac, loop) != REDIS_OK) return REDIS_ERR;
  ac->ev.addRead  = carawayLibuvAddRead;
  ac->ev.delRead  = carawayLibuvDelRead;
  ac->ev.addWrite = carawayLibuvAddWrite;
  ac->ev.delWrite = carawayLibuvDelWrite;
  return REDIS_OK;
}
